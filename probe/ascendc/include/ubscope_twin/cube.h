// ubscope CPU twin: the basic cube API (LoadData 2D, Mmad, Fixpipe, DataCopy
// in BLOCK_MODE_MATRIX from CO1, Nd2Nz DataCopy) over the device's fractal
// layouts, written from the public Ascend C API documentation.
//
// Layouts (the documentation's names; a fractal is 16 rows x C0 columns,
// C0 = 32 B / element size, so 512 B for A and B; 16 x 16 for C):
//   L1 (A1/B1), after Nd2Nz: NZ, fractals column-major, row-major inside;
//     rows padded to the C0 stride the copy is given (16-row padding).
//   L0A (A2): ZZ, fractals row-major, row-major inside.
//   L0B (B2): ZN, fractals row-major over (k, n), column-major inside.
//   L0C (CO1) and CO2: NZ, fractals column-major, row-major inside.
// Mmad reads and writes whole fractals, so m, n and k are padded to them.
#pragma once

#include <span>
#include <sstream>
#include <type_traits>

#include "ubscope_twin/datacopy.h"

namespace ubscope_twin {

constexpr int64_t FRACTAL_ROWS = 16;
constexpr int64_t FRACTAL_BYTES = 512;

inline int64_t round_up(int64_t value, int64_t unit) { return (value + unit - 1) / unit * unit; }

// Cost-model figures of the cube unit and the on-chip data paths (see
// ubscope.probe.costmodel.CostModel.mmad and onchip_copy), from the launch file.
struct CubeRates {
    std::unordered_map<int64_t, double> cycles_per_fractal;  // by input width in bytes
    double onchip_latency_ps = 0.0;
    std::unordered_map<std::string, int64_t> bytes_per_cycle;
};

inline CubeRates& cube_rates() {
    static CubeRates rates;
    return rates;
}

// Reads the launch-file keys the cube API uses; false for any other key.
inline bool read_cube_config(const std::string& key, std::istringstream& fields) {
    CubeRates& rates = cube_rates();
    if (key == "cube_cycles_per_fractal") {
        int64_t width = 0;
        double cycles = 0.0;
        fields >> width >> cycles;
        rates.cycles_per_fractal[width] = cycles;
    } else if (key == "onchip_latency_ps") {
        fields >> rates.onchip_latency_ps;
    } else if (key == "onchip_rate") {
        std::string route;
        int64_t rate = 0;
        fields >> route >> rate;
        rates.bytes_per_cycle[route] = rate;
    } else {
        return false;
    }
    return true;
}

inline int64_t onchip_copy_ps(const char* route, int64_t nbytes) {
    const CubeRates& rates = cube_rates();
    auto found = rates.bytes_per_cycle.find(route);
    if (found == rates.bytes_per_cycle.end()) {
        found = rates.bytes_per_cycle.find("l0c_out");
    }
    const int64_t rate = found == rates.bytes_per_cycle.end() ? 1 : std::max<int64_t>(1, found->second);
    const int64_t cycles = (nbytes + rate - 1) / rate;
    return std::llround(rates.onchip_latency_ps + static_cast<double>(cycles) * runtime().config.cycle_ps);
}

// One Mmad of [m, k] x [k, n] with in_bytes-wide inputs, on the whole fractal
// steps the cube takes: ceil(m/16) x ceil(n/16) x ceil(k/k0), k0 = 32 B of input.
inline int64_t mmad_ps(int64_t m, int64_t k, int64_t n, int64_t in_bytes) {
    const int64_t k0 = DATA_BLOCK / in_bytes;
    const int64_t steps = ((m + FRACTAL_ROWS - 1) / FRACTAL_ROWS) * ((n + FRACTAL_ROWS - 1) / FRACTAL_ROWS) *
                          ((k + k0 - 1) / k0);
    const double cycles = static_cast<double>(steps) * cube_rates().cycles_per_fractal[in_bytes];
    return std::max<int64_t>(1, std::llround(cycles * runtime().config.cycle_ps));
}

struct Route {
    Pipe pipe;
    const char* rate;
};

// The on-chip data paths of ubscope.probe.memory.datacopy.local_copy.
inline Route onchip_route(int64_t src, int64_t dst, const Where& where) {
    if (src == L1 && dst == L0A) return {MTE1, "l1_to_l0a"};
    if (src == L1 && dst == L0B) return {MTE1, "l1_to_l0b"};
    if (src == L0C && dst == UB) return {FIX, "l0c_out"};
    if (src == UB && dst == L1) return {MTE3, "ub_to_gm"};
    if (src == UB && dst == UB) return {VEC, "ub_to_gm"};
    fail(where, std::string("no data path ") + space_name(src) + " -> " + space_name(dst));
}

// ``count`` units of ``unit`` bytes between on-chip tensors, unit i taken at
// ``src_pitch * i`` and put at ``dst_pitch * i`` (bytes); ``move`` copies one
// unit. Records one copy event, as local_copy does.
template <typename T, typename U, typename Move>
void onchip_move(const AscendC::LocalTensor<T>& dst, const AscendC::LocalTensor<U>& src,
                 int64_t count, int64_t unit, int64_t src_pitch, int64_t dst_pitch, Move move,
                 const Where& where) {
    Runtime& rt = runtime();
    const Route route = onchip_route(src.space(), dst.space(), where);
    const int64_t src_extent = count ? (count - 1) * src_pitch + unit : 0;
    const int64_t dst_extent = count ? (count - 1) * dst_pitch + unit : 0;
    const uint8_t* from = arena_bytes(src.space(), src.addr(), src_extent, where);
    uint8_t* to = arena_bytes(dst.space(), dst.addr(), dst_extent, where);
    for (int64_t i = 0; i < count; ++i) {
        move(to + i * dst_pitch, from + i * src_pitch);
    }
    const int64_t tag = site(where);
    int64_t flags = check_placement(dst.space(), dst.addr(), dst_extent, tag, rt.timeline.scalar_now);
    if (src.addr() % rt.config.alignment[src.space()]) {
        flags |= MISALIGNED;
    }
    const int64_t nbytes = count * unit;
    const int64_t duration = onchip_copy_ps(route.rate, nbytes);
    const std::array<uint64_t, 1> reads{src.key()}, writes{dst.key()};
    const int64_t start = issue(route.pipe, duration, reads, writes);
    record(COPY, dst.space(), dst.addr(), nbytes, nbytes, src.space(), src.addr(), unit, count,
           dst.name(), 0, tag, start, duration, 0, 0, flags);
}

inline void copy_fractal(uint8_t* to, const uint8_t* from) { std::memcpy(to, from, FRACTAL_BYTES); }

// One 16 x 16 fractal of 2-byte elements, transposed.
inline void transpose_fractal(uint8_t* to, const uint8_t* from) {
    for (int64_t row = 0; row < FRACTAL_ROWS; ++row) {
        for (int64_t col = 0; col < FRACTAL_ROWS; ++col) {
            std::memcpy(to + (col * FRACTAL_ROWS + row) * 2, from + (row * FRACTAL_ROWS + col) * 2, 2);
        }
    }
}

}  // namespace ubscope_twin

namespace AscendC {

struct LoadData2dParams {
    uint16_t startIndex = 0;  // first fractal of the source, in fractals
    uint8_t repeatTimes = 0;  // fractals moved
    uint16_t srcStride = 0;   // between source fractals, in fractals
    uint8_t sid = 0;
    uint16_t dstGap = 0;      // between destination fractals, in fractals
    bool ifTranspose = false;
    uint8_t addrMode = 0;
};
using LoadData2DParams = LoadData2dParams;

struct MmadParams {
    uint16_t m = 0;
    uint16_t n = 0;
    uint16_t k = 0;
    bool isBias = false;  // deprecated: true accumulates into the C already in CO1
    int32_t fmOffset = 0;
    bool enSsparse = false;
    bool enWinogradA = false;
    bool enWinogradB = false;
    uint8_t unitFlag = 0;
    bool kDirectionAlign = false;
    bool cmatrixSource = false;  // true: initial C from the bias table (not modelled)
    bool cmatrixInitVal = true;  // false: accumulate into C
};

enum class BlockMode : uint8_t { BLOCK_MODE_NORMAL, BLOCK_MODE_MATRIX, BLOCK_MODE_VECTOR,
                                 BLOCK_MODE_SMALL_CHANNEL, BLOCK_MODE_DEPTHWISE };

struct DataCopyEnhancedParams {
    BlockMode blockMode = BlockMode::BLOCK_MODE_NORMAL;
    uint8_t deqScale = 0;
    uint64_t deqValue = 0;
    uint8_t sidStoreMode = 0;
    bool isRelu = false;
    uint8_t padMode = 0;
    uint8_t padValue = 0;
    uint64_t deqTensorAddr = 0;
};

struct Nd2NzParams {
    uint16_t ndNum = 1;              // matrices moved
    uint16_t nValue = 0;             // rows of each
    uint16_t dValue = 0;             // columns of each, in elements
    uint16_t srcNdMatrixStride = 0;  // between source matrices, in elements
    uint16_t srcDValue = 0;          // source row pitch, in elements
    uint16_t dstNzC0Stride = 0;      // between column blocks, in 32 B blocks (padded rows)
    uint16_t dstNzNStride = 1;       // between rows, in 32 B blocks
    uint16_t dstNzMatrixStride = 0;  // between destination matrices, in elements
    Nd2NzParams() = default;
    // All eight or none: a shorter brace list then means DataCopyParams.
    Nd2NzParams(uint16_t nd_num, uint16_t n_value, uint16_t d_value, uint16_t src_nd_matrix_stride,
                uint16_t src_d_value, uint16_t dst_nz_c0_stride, uint16_t dst_nz_n_stride,
                uint16_t dst_nz_matrix_stride)
        : ndNum(nd_num), nValue(n_value), dValue(d_value), srcNdMatrixStride(src_nd_matrix_stride),
          srcDValue(src_d_value), dstNzC0Stride(dst_nz_c0_stride), dstNzNStride(dst_nz_n_stride),
          dstNzMatrixStride(dst_nz_matrix_stride) {}
};

// LoadData (2D): L1 -> L0A/L0B, ``repeatTimes`` 512 B fractals; with
// ifTranspose each 16 x 16 fractal of 2-byte elements is transposed.
template <typename T>
void LoadData(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LoadData2dParams& params,
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    if (params.ifTranspose && sizeof(T) != 2) {
        fail(where, "LoadData with ifTranspose: the twin transposes 2-byte elements only");
    }
    const LocalTensor<T> from = src[params.startIndex * FRACTAL_BYTES / sizeof(T)];
    onchip_move(dst, from, params.repeatTimes, FRACTAL_BYTES,
                static_cast<int64_t>(params.srcStride) * FRACTAL_BYTES,
                (1 + static_cast<int64_t>(params.dstGap)) * FRACTAL_BYTES,
                params.ifTranspose ? transpose_fractal : copy_fractal, where);
}

// Mmad: C (CO1, NZ) = or += A (A2, ZZ) x B (B2, ZN), fp32 (int32 for 8-bit) accumulation.
template <typename C, typename A, typename B>
void Mmad(const LocalTensor<C>& dst, const LocalTensor<A>& fm, const LocalTensor<B>& filter,
          const MmadParams& params, const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    if (fm.space() != L0A || filter.space() != L0B || dst.space() != L0C) {
        fail(where, "Mmad takes dst in CO1 (L0C), fm in A2 (L0A) and filter in B2 (L0B)");
    }
    Runtime& rt = runtime();
    const int64_t c0 = DATA_BLOCK / static_cast<int64_t>(sizeof(A));
    const int64_t m = params.m, n = params.n, k = params.k;
    const int64_t m_pad = round_up(m, FRACTAL_ROWS), n_pad = round_up(n, FRACTAL_ROWS);
    const int64_t k_pad = round_up(k, c0);
    const int64_t k_blocks = k_pad / c0, n_blocks = n_pad / FRACTAL_ROWS, m_blocks = m_pad / FRACTAL_ROWS;
    const A* a = fm.data(m_pad * k_pad, where);
    const B* b = filter.data(k_pad * n_pad, where);
    C* c = dst.data(m_pad * n_pad, where);
    const bool accumulate = params.isBias || !params.cmatrixInitVal;
    using Acc = std::conditional_t<std::is_integral_v<C>, int64_t, float>;
    // The operands widened once into rows of A and columns of B, each its k
    // elements in a row, so each product runs over contiguous memory (summed
    // in the same order, over kk = 0..k-1).
    static std::vector<Acc> a_rows, b_cols;
    a_rows.resize(static_cast<size_t>(m_pad * k));
    b_cols.resize(static_cast<size_t>(n_pad * k));
    for (int64_t row = 0; row < m_pad; ++row) {
        for (int64_t kk = 0; kk < k; ++kk) {
            const int64_t a_at = ((row / 16) * k_blocks + kk / c0) * 16 * c0 + (row % 16) * c0 + kk % c0;
            a_rows[row * k + kk] = static_cast<Acc>(static_cast<float>(a[a_at]));
        }
    }
    for (int64_t col = 0; col < n_pad; ++col) {
        for (int64_t kk = 0; kk < k; ++kk) {
            const int64_t b_at = ((kk / c0) * n_blocks + col / 16) * 16 * c0 + (col % 16) * c0 + kk % c0;
            b_cols[col * k + kk] = static_cast<Acc>(static_cast<float>(b[b_at]));
        }
    }
    for (int64_t row = 0; row < m_pad; ++row) {
        const Acc* a_row = a_rows.data() + row * k;
        for (int64_t col = 0; col < n_pad; ++col) {
            const Acc* b_col = b_cols.data() + col * k;
            const int64_t c_at = ((col / 16) * m_blocks + row / 16) * 256 + (row % 16) * 16 + col % 16;
            Acc sum = accumulate ? static_cast<Acc>(c[c_at]) : Acc{};
            for (int64_t kk = 0; kk < k; ++kk) {
                sum += a_row[kk] * b_col[kk];
            }
            c[c_at] = static_cast<C>(sum);
        }
    }
    const int64_t tag = site(where);
    const int64_t out_bytes = m_pad * n_pad * static_cast<int64_t>(sizeof(C));
    int64_t flags = check_placement(L0C, dst.addr(), out_bytes, tag, rt.timeline.scalar_now);
    for (int64_t operand : {fm.space(), filter.space()}) {
        const int64_t addr = operand == L0A ? fm.addr() : filter.addr();
        if (addr % rt.config.alignment[operand]) {
            flags |= MISALIGNED;
        }
    }
    const int64_t flops = 2 * m * k * n;
    const int64_t duration = mmad_ps(m, k, n, static_cast<int64_t>(sizeof(A)));
    const std::array<uint64_t, 3> reads{fm.key(), filter.key(), dst.key()};
    const std::array<uint64_t, 1> writes{dst.key()};
    const int64_t start = issue(CUBE, duration,
                                std::span<const uint64_t>(reads.data(), accumulate ? 3 : 2), writes);
    const int64_t touched = (m * k) * static_cast<int64_t>(sizeof(A)) + (k * n) * static_cast<int64_t>(sizeof(B)) + out_bytes;
    // The source columns name the first operand, as record_vector's do.
    record(COMPUTE, L0C, dst.addr(), touched, out_bytes, fm.space(), fm.addr(), 0, 0, literal("Mmad"), 0,
           tag, start, duration, flops, 0, flags);
}

// DataCopy between on-chip tensors with the enhanced parameters: in
// BLOCK_MODE_MATRIX the block unit is one 16 x 16 fractal of T (CO1 -> CO2),
// otherwise one 32 B DataBlock.
template <typename T>
void DataCopy(const LocalTensor<T>& dst, const LocalTensor<T>& src, const DataCopyParams& params,
              const DataCopyEnhancedParams& enhanced,
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    const int64_t unit = enhanced.blockMode == BlockMode::BLOCK_MODE_MATRIX
                             ? FRACTAL_ROWS * FRACTAL_ROWS * static_cast<int64_t>(sizeof(T))
                             : DATA_BLOCK;
    const int64_t block_bytes = params.blockLen * unit;
    onchip_move(dst, src, params.blockCount, block_bytes, block_bytes + params.srcStride * unit,
                block_bytes + params.dstStride * unit,
                [block_bytes](uint8_t* to, const uint8_t* from) { std::memcpy(to, from, block_bytes); },
                where);
}

// DataCopy GM (ND) -> L1 (NZ): element (r, c) of matrix t lands at
// t * dstNzMatrixStride + (c / C0) * dstNzC0Stride * C0 + r * dstNzNStride * C0 + c % C0;
// the rest of a partial C0 column block is zero-filled by the twin.
template <typename T>
void DataCopy(const LocalTensor<T>& dst, const GlobalTensor<T>& src, const Nd2NzParams& params,
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    Runtime& rt = runtime();
    const auto span = src.span();
    if (span.buffer < 0) {
        fail(where, "DataCopy on a GlobalTensor that points into no buffer the host passed");
    }
    const int64_t item = sizeof(T), c0 = DATA_BLOCK / static_cast<int64_t>(sizeof(T));
    const int64_t rows = params.nValue, cols = params.dValue, blocks = (cols + c0 - 1) / c0;
    int64_t src_extent = 0, dst_extent = 0;
    if (params.ndNum && rows && cols) {
        src_extent = ((params.ndNum - 1) * params.srcNdMatrixStride + (rows - 1) * params.srcDValue + cols) * item;
        dst_extent = ((params.ndNum - 1) * params.dstNzMatrixStride + (blocks - 1) * params.dstNzC0Stride * c0 +
                      (rows - 1) * params.dstNzNStride * c0 + c0) * item;
    }
    const uint8_t* host = src.bytes();
    uint8_t* onchip = arena_bytes(dst.space(), dst.addr(), dst_extent, where);
    for (int64_t t = 0; t < params.ndNum; ++t) {
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t blk = 0; blk < blocks; ++blk) {
                uint8_t* out = onchip + (t * params.dstNzMatrixStride + blk * params.dstNzC0Stride * c0 +
                                         r * params.dstNzNStride * c0) * item;
                const int64_t at = (t * params.srcNdMatrixStride + r * params.srcDValue + blk * c0) * item;
                const int64_t wanted = std::min(c0, cols - blk * c0) * item;
                const int64_t inside = std::clamp<int64_t>(span.valid_bytes - at, 0, wanted);
                std::memcpy(out, host + at, inside);
                std::memset(out + inside, 0, DATA_BLOCK - inside);
            }
        }
    }
    const GmBuffer& buffer = rt.gm[span.buffer];
    const int64_t gm_addr = buffer.addr + span.offset;
    const int64_t tag = site(where);
    int64_t flags = check_placement(dst.space(), dst.addr(), dst_extent, tag, rt.timeline.scalar_now) |
                    gm_flags(buffer, gm_addr);
    if (src_extent > span.valid_bytes || (span.declared_bytes >= 0 && src_extent > span.declared_bytes)) {
        flags |= OUT_OF_BOUNDS;
    }
    const int64_t row_bytes = cols * item, row_count = params.ndNum * rows;
    const int64_t duration =
        gm_copy_ps(span.buffer, span.offset, row_count, row_bytes, params.srcDValue * item, false);
    const std::array<uint64_t, 1> reads{gm_key(span.buffer, span.offset)}, writes{dst.key()};
    const int64_t start = issue(MTE2, duration, reads, writes, rt.config.gm_latency_ps);
    record(COPY, dst.space(), dst.addr(), row_bytes * row_count, row_count * blocks * DATA_BLOCK, GM,
           gm_addr, row_bytes, row_count, dst.name(), buffer.name_id, tag, start, duration, 0, 0, flags);
}

enum class CO2Layout : uint8_t { NZ = 0, ROW_MAJOR, COLUMN_MAJOR };

struct FixpipeConfig {
    CO2Layout format;
};
inline constexpr FixpipeConfig CFG_ROW_MAJOR{CO2Layout::ROW_MAJOR};
inline constexpr FixpipeConfig CFG_NZ{CO2Layout::NZ};

enum QuantMode_t : uint8_t { NoQuant, F322F16, F322BF16, DEQF16, VDEQF16, QF322B8_PRE, VQF322B8_PRE,
                             REQ8, VREQ8 };

struct FixpipeParamsV220 {
    uint16_t nSize = 0;      // columns moved, in elements
    uint16_t mSize = 0;      // rows moved (the padding rows of a fractal are dropped)
    uint16_t srcStride = 0;  // rows between column blocks of the L0C NZ source (a multiple of 16)
    uint32_t dstStride = 0;  // elements per row of the ND destination
    QuantMode_t quantPre = NoQuant;
    uint64_t deqScalar = 0;
    uint16_t ndNum = 1;
    uint16_t srcNdStride = 0;
    uint16_t dstNdStride = 0;
    bool reluEn = false;
    uint8_t unitFlag = 0;
    bool isChannelSplit = false;
};

// Fixpipe CO1 -> GM with NZ2ND (CFG_ROW_MAJOR): element (r, c) of the L0C NZ
// tile goes to dst[r * dstStride + c], converted to the destination type (the
// plain fp32 -> fp16/bf16 conversions; quantisation modes are not modelled).
// Bytes outside the host's buffer are dropped and flagged OUT_OF_BOUNDS. Under
// SetAtomicAdd/Max/Min each element is combined with GM's (atomic.h).
template <typename T, typename U, const FixpipeConfig& config = CFG_ROW_MAJOR>
void Fixpipe(const GlobalTensor<T>& dst, const LocalTensor<U>& src, const FixpipeParamsV220& params,
             const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    using namespace ubscope_twin;
    if (src.space() != L0C) {
        fail(where, "Fixpipe reads from CO1 (L0C)");
    }
    if (config.format != CO2Layout::ROW_MAJOR || params.ndNum != 1 || params.reluEn ||
        !(params.quantPre == NoQuant || params.quantPre == F322F16 || params.quantPre == F322BF16)) {
        fail(where, "Fixpipe: the twin models NZ2ND (CFG_ROW_MAJOR) with ndNum 1, no ReLU and the "
                    "NoQuant/F322F16/F322BF16 conversions only");
    }
    Runtime& rt = runtime();
    const auto span = dst.span();
    if (span.buffer < 0) {
        fail(where, "Fixpipe to a GlobalTensor that points into no buffer the host passed");
    }
    const int64_t m = params.mSize, n = params.nSize, item = sizeof(T);
    const int64_t rows_per_block = params.srcStride;
    const int64_t src_extent = n ? ((n - 1) / 16 * rows_per_block * 16 + round_up(m, 16) * 16) : 0;
    const U* tile = src.data(src_extent, where);
    int64_t limit = span.valid_bytes;
    if (span.declared_bytes >= 0) {
        limit = std::min(limit, span.declared_bytes);
    }
    int64_t flags = 0;
    uint8_t* host = dst.bytes();
    for (int64_t r = 0; r < m; ++r) {
        for (int64_t c = 0; c < n; ++c) {
            const int64_t at = (r * static_cast<int64_t>(params.dstStride) + c) * item;
            if (at + item > limit) {
                flags |= OUT_OF_BOUNDS;
                if (at + item > span.valid_bytes) {
                    continue;
                }
            }
            const T value = static_cast<T>(tile[(c / 16) * rows_per_block * 16 + r * 16 + c % 16]);
            store_to_gm(host + at, reinterpret_cast<const uint8_t*>(&value), item, item, where);
        }
    }
    const GmBuffer& buffer = rt.gm[span.buffer];
    const int64_t gm_addr = buffer.addr + span.offset;
    flags |= gm_flags(buffer, gm_addr);
    if (atomic_state().op != AtomicOp::NONE) {
        flags |= ATOMIC_COPY;  // GM's bytes were read and combined (atomic.h)
    }
    if (src.addr() % rt.config.alignment[L0C]) {
        flags |= MISALIGNED;
    }
    const int64_t moved = m * n * item;
    const int64_t duration =
        gm_copy_ps(span.buffer, span.offset, m, n * item, static_cast<int64_t>(params.dstStride) * item, true);
    const std::array<uint64_t, 1> reads{src.key()}, writes{gm_key(span.buffer, span.offset)};
    const int64_t start = issue(FIX, duration, reads, writes, rt.config.gm_latency_ps);
    record(COPY, GM, gm_addr, moved, moved, L0C, src.addr(), n * item, m, src.name(), buffer.name_id,
           site(where), start, duration, 0, 0, flags);
}

}  // namespace AscendC

// The API's 2023 name: legacy kernels say ``using namespace tik2;``.
namespace tik2 = AscendC;
