// ubscope CPU twin: DataCopy between GM and on-chip tensors.
//
// As ubscope.probe.memory.datacopy: a copy moves whole 32 B DataBlocks, so a
// contiguous length that is not a multiple of 32 B loses its tail (flagged
// TRUNCATED); on-chip start addresses are checked against the space's
// alignment; GM bytes outside the host's buffer, or past the size given to
// SetGlobalBuffer, are flagged OUT_OF_BOUNDS (reads outside the host buffer
// give zeros, writes there are dropped). Parameters outside the ranges the
// device accepts (ubscope.probe.memory.copy_ranges) are flagged PARAM_RANGE,
// with their bits in the event's arg; the copy is performed as written. A
// copy to GM under SetAtomicAdd/Max/Min combines with GM's elements (atomic.h).
#pragma once

#include "ubscope_twin/atomic.h"
#include "ubscope_twin/tensor.h"

namespace AscendC {

struct DataCopyParams {
    uint16_t blockCount = 1;
    uint16_t blockLen = 0;  // in 32 B DataBlocks
    uint16_t srcStride = 0;  // gap between blocks, in 32 B DataBlocks
    uint16_t dstStride = 0;
    DataCopyParams() = default;
    DataCopyParams(uint16_t count, uint16_t len, uint16_t src_stride, uint16_t dst_stride)
        : blockCount(count), blockLen(len), srcStride(src_stride), dstStride(dst_stride) {}
};

}  // namespace AscendC

namespace ubscope_twin {

constexpr int64_t DATA_BLOCK = 32;

// Bits of a copy event's arg (ubscope.probe.memory.copy_ranges.CopyParam).
constexpr int64_t PARAM_BLOCK_COUNT = 1, PARAM_BLOCK_LEN = 2, PARAM_LEFT_PADDING = 16,
                  PARAM_RIGHT_PADDING = 32;

inline int64_t outside(int64_t value, int64_t low, int64_t high, int64_t bit) {
    return value < low || value > high ? bit : 0;
}

// DataCopyParams: blockCount is 12 bits (1..4095), blockLen 1..65535 blocks
// (asc-devkit dav_c220 CheckDataCopyParams); the uint16 gaps cannot leave
// their range.
inline int64_t data_copy_out_of_range(const AscendC::DataCopyParams& p) {
    return outside(p.blockCount, 1, 4095, PARAM_BLOCK_COUNT) |
           outside(p.blockLen, 1, 65535, PARAM_BLOCK_LEN);
}

// ``rows`` rows of ``row_bytes`` between GM and an on-chip tensor; pitches in
// bytes. ``size`` is what the call asked for, the rows what really moves.
template <typename T>
void transfer(const AscendC::GlobalTensor<T>& gm, const AscendC::LocalTensor<T>& local,
              bool to_local, int64_t rows, int64_t row_bytes, int64_t gm_pitch,
              int64_t local_pitch, int64_t size, const Where& where, int64_t extra_flags = 0,
              int64_t out_of_range = 0) {
    Runtime& rt = runtime();
    const auto span = gm.span();
    if (span.buffer < 0) {
        fail(where, "DataCopy on a GlobalTensor that points into no buffer the host passed");
    }
    const GmBuffer& buffer = rt.gm[span.buffer];
    const int64_t moved = rows * row_bytes;
    const int64_t extent = rows ? (rows - 1) * gm_pitch + row_bytes : 0;
    const int64_t gm_addr = buffer.addr + span.offset;
    int64_t flags = extra_flags | (out_of_range ? PARAM_RANGE : 0) | gm_flags(buffer, gm_addr);
    if (moved != size) {
        flags |= TRUNCATED;
    }
    if (extent > span.valid_bytes || (span.declared_bytes >= 0 && extent > span.declared_bytes)) {
        flags |= OUT_OF_BOUNDS;
    }
    const int64_t local_extent = rows ? (rows - 1) * local_pitch + row_bytes : 0;
    uint8_t* onchip = arena_bytes(local.space(), local.addr(), local_extent, where);
    uint8_t* host = gm.bytes();
    const int64_t tag = site(where);
    for (int64_t row = 0; row < rows; ++row) {
        const int64_t gm_at = row * gm_pitch;
        const int64_t inside = std::clamp<int64_t>(span.valid_bytes - gm_at, 0, row_bytes);
        uint8_t* chip_row = onchip + row * local_pitch;
        if (to_local) {
            std::memcpy(chip_row, host + gm_at, inside);
            std::memset(chip_row + inside, 0, row_bytes - inside);
        } else {
            store_to_gm(host + gm_at, chip_row, inside, row_bytes, where);  // atomic.h
        }
    }
    Pipe pipe;
    int64_t src_space, src_addr, dst_space, dst_addr;
    const uint64_t gm_dep = gm_key(span.buffer, span.offset);
    if (to_local) {
        flags |= check_placement(local.space(), local.addr(), local_extent, tag,
                                 rt.timeline.scalar_now);
        pipe = MTE2;
        src_space = GM, src_addr = gm_addr, dst_space = local.space(), dst_addr = local.addr();
    } else {
        if (local.addr() % rt.config.alignment[local.space()]) {
            flags |= MISALIGNED;
        }
        if (atomic_state().op != AtomicOp::NONE) {
            flags |= ATOMIC_COPY;  // GM's bytes were read and combined (atomic.h)
        }
        pipe = MTE3;
        src_space = local.space(), src_addr = local.addr(), dst_space = GM, dst_addr = gm_addr;
    }
    const int64_t duration = gm_copy_ps(span.buffer, span.offset, rows, row_bytes, gm_pitch, !to_local);
    const std::array<uint64_t, 1> gm_keys{gm_dep}, local_keys{local.key()};
    const int64_t latency = rt.config.gm_latency_ps;
    const int64_t start = to_local ? issue(pipe, duration, gm_keys, local_keys, latency)
                                   : issue(pipe, duration, local_keys, gm_keys, latency);
    record(COPY, dst_space, dst_addr, size, moved, src_space, src_addr, row_bytes, rows,
           local.name(), buffer.name_id, tag, start, duration, out_of_range, 0, flags);
}

template <typename T>
void copy_count(const AscendC::GlobalTensor<T>& gm, const AscendC::LocalTensor<T>& local,
                bool to_local, uint32_t count, const Where& where) {
    const int64_t size = static_cast<int64_t>(count) * sizeof(T);
    const int64_t moved = size - size % DATA_BLOCK;
    transfer(gm, local, to_local, moved ? 1 : 0, moved, moved, moved, size, where);
}

template <typename T>
void copy_params(const AscendC::GlobalTensor<T>& gm, const AscendC::LocalTensor<T>& local,
                 bool to_local, const AscendC::DataCopyParams& p, const Where& where) {
    const int64_t block_bytes = static_cast<int64_t>(p.blockLen) * DATA_BLOCK;
    const int64_t src_pitch = block_bytes + static_cast<int64_t>(p.srcStride) * DATA_BLOCK;
    const int64_t dst_pitch = block_bytes + static_cast<int64_t>(p.dstStride) * DATA_BLOCK;
    const int64_t size = static_cast<int64_t>(p.blockCount) * block_bytes;
    transfer(gm, local, to_local, p.blockCount, block_bytes, to_local ? src_pitch : dst_pitch,
             to_local ? dst_pitch : src_pitch, size, where, 0, data_copy_out_of_range(p));
}

}  // namespace ubscope_twin

namespace AscendC {

template <typename T>
void DataCopy(const LocalTensor<T>& dst, const GlobalTensor<T>& src, uint32_t count,
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::copy_count(src, dst, true, count, where);
}

template <typename T>
void DataCopy(const GlobalTensor<T>& dst, const LocalTensor<T>& src, uint32_t count,
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::copy_count(dst, src, false, count, where);
}

template <typename T>
void DataCopy(const LocalTensor<T>& dst, const GlobalTensor<T>& src, const DataCopyParams& params,
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::copy_params(src, dst, true, params, where);
}

template <typename T>
void DataCopy(const GlobalTensor<T>& dst, const LocalTensor<T>& src, const DataCopyParams& params,
              const ubscope_twin::Where& where = ubscope_twin::Where::current()) {
    ubscope_twin::copy_params(dst, src, false, params, where);
}

}  // namespace AscendC
