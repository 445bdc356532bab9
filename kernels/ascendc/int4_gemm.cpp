// W4A16 GEMM y = x @ ((w + offset) * scale) on a 910B mix launch: the vector
// cores (AIV) dequantize packed int4 weight tiles into fp16 in a GM workspace,
// the cube core (AIC) of their block multiplies x by them. The same algorithm,
// tiling and buffers as ubscope's Python kernel int4_gemm with layout=nd,
// group_size=0 (per-channel scale and offset), pool=tpipe, tail_copy=pad and
// x resident in L1 (kernels/gemm/), so the two can be compared.
//
// x is fp16 [M, K]; w_int4 holds the int4 weight [K, N] packed along N, two
// values a byte, low nibble first (torch_npu's npu_convert_weight_to_int4pack
// seen as bytes); antiquant_scale and antiquant_offset are fp16 [1, N]; y is
// fp16 [M, N]. The weight is cut into tiles of TILE_K rows and TILE_N columns;
// block b takes a contiguous share of the column tiles and, column by column,
// their K tiles in order. Its two AIVs take the tiles in turn (tile s on AIV
// s % 2), a round of two at a time: each copies its packed tile into UB,
// converts it to fp16 (Cast from int4b_t), adds the offset row and multiplies
// by the scale row (repeat forms reading the one row for every row of the
// tile), zeroes the rows that pad K to 16 and writes the tile to its workspace
// slot. The AIC copies each slot into L1 as NZ bands of 16 rows (Nd2Nz), loads
// K chunks into L0A/L0B (LoadData), accumulates in L0C (Mmad) and at the end
// of a column writes y through Fixpipe. With BUFFERS 2 the AIC copies the next
// tile before multiplying the current one.
//
// Cross-core flags (mode 2, between the AIC and its AIVs): each AIV sets READY
// once a round, after its tile (if it had one) is in the workspace; the AIC
// waits for READY (both AIVs) before copying a round's tiles and sets FREE when
// it has copied them; an AIV waits for FREE of round r before writing round
// r + BUFFERS into the same slots.
//
// Build-time parameters (-D): INT4_M, INT4_K, INT4_N (a multiple of 8),
// INT4_TILE_K (a multiple of 16), INT4_TILE_N (a multiple of 64), INT4_L0_K
// (the K rows of an L0 chunk: the Python planner's choice) and INT4_BUFFERS
// (1 or 2: blocks per queue). The workspace takes 2 * BUFFERS slots of
// align(TILE_K * TILE_N, 256) halves per block.
// Planted problem: -DUBSCOPE_PLANT_TAIL copies the packed weight rows one by
// one with the count form of DataCopy, which moves whole 32 B blocks only: with
// N = 200 and TILE_N = 128 the last column tile's 36 B rows lose 4 B each.
#include "kernel_operator.h"
using namespace AscendC;

#ifndef INT4_M
#define INT4_M 16
#endif
#ifndef INT4_K
#define INT4_K 384
#endif
#ifndef INT4_N
#define INT4_N 512
#endif
#ifndef INT4_TILE_K
#define INT4_TILE_K 128
#endif
#ifndef INT4_TILE_N
#define INT4_TILE_N 128
#endif
#ifndef INT4_L0_K
#define INT4_L0_K 128
#endif
#ifndef INT4_BUFFERS
#define INT4_BUFFERS 2
#endif

constexpr uint32_t AlignUp(uint32_t value, uint32_t unit) { return (value + unit - 1) / unit * unit; }
constexpr uint32_t Min(uint32_t a, uint32_t b) { return a < b ? a : b; }

constexpr uint32_t M = INT4_M, K = INT4_K, N = INT4_N;
constexpr uint32_t TILE_K = INT4_TILE_K, TILE_N = INT4_TILE_N, L0_K = INT4_L0_K, BUFFERS = INT4_BUFFERS;
constexpr uint32_t FRACTAL = 16;                      // rows (and fp16 columns) of a fractal
constexpr uint32_t FRACTAL_HALVES = FRACTAL * FRACTAL;
constexpr uint32_t BLOCK = 32;                        // bytes of a DataBlock
constexpr uint32_t MAX_REPEAT = 255;                  // repeatTimes of LoadData and vector ops
constexpr uint32_t REPEAT_HALVES = 128;               // fp16 lanes of a vector repeat
constexpr uint32_t M_PAD = AlignUp(M, FRACTAL);
constexpr uint32_t TILE_ROWS = Min(TILE_K, AlignUp(K, FRACTAL));  // rows of a full tile
constexpr uint32_t TILE_COLS = Min(TILE_N, N);                    // columns of a full tile
constexpr uint32_t PACKED_PITCH = AlignUp(TILE_COLS / 2, BLOCK);  // bytes of a packed row in UB
constexpr uint32_t UB_COLS = 2 * PACKED_PITCH;                    // fp16 columns of a tile in UB
constexpr uint32_t N_TILES = (N + TILE_N - 1) / TILE_N;
constexpr uint32_t K_TILES = (K + TILE_K - 1) / TILE_K;
constexpr uint32_t SLOTS = 2 * BUFFERS;                           // workspace slots of a block
constexpr uint32_t SLOT_HALVES = AlignUp(TILE_ROWS * TILE_COLS, 256);  // keeps slots 512 B apart
constexpr uint16_t READY = 1, FREE = 2;

static_assert(N % 8 == 0, "int4 packing puts 8 values in an int32");
static_assert(TILE_K % FRACTAL == 0 && TILE_N % 64 == 0, "TILE_K a multiple of 16, TILE_N of 64");
static_assert(TILE_ROWS % L0_K == 0 && L0_K % FRACTAL == 0, "L0 chunks of whole fractals divide a tile");
static_assert(BUFFERS == 1 || BUFFERS == 2, "one or two buffers a queue");
static_assert(FRACTAL * TILE_COLS <= 65535, "a band of 16 slot rows within Nd2Nz's matrix stride");

struct Tile {
    uint32_t n0, cols, k0, kt, rowsPad;
};

__aicore__ inline Tile TileAt(uint32_t column, uint32_t row)
{
    const uint32_t n0 = column * TILE_N, k0 = row * TILE_K, kt = Min(TILE_K, K - k0);
    return {n0, Min(TILE_N, N - n0), k0, kt, AlignUp(kt, FRACTAL)};
}

// The column tiles of this block: a balanced contiguous split over the blocks.
__aicore__ inline uint32_t FirstColumn(uint32_t block, uint32_t blocks) { return block * N_TILES / blocks; }

// rows x rowBytes from GM rows srcPitch bytes apart into UB rows dstPitch bytes
// apart: DataCopy when everything is whole DataBlocks, DataCopyPad otherwise.
template <typename T>
__aicore__ inline void CopyRowsIn(const LocalTensor<T>& dst, const GlobalTensor<T>& src, uint32_t rows,
                                  uint32_t rowBytes, uint32_t srcPitch, uint32_t dstPitch)
{
    const uint32_t srcGap = srcPitch - rowBytes, dstGap = dstPitch - rowBytes;
    if (rowBytes % BLOCK == 0 && srcGap % BLOCK == 0 && dstGap % BLOCK == 0) {
        DataCopy(dst, src, DataCopyParams(rows, rowBytes / BLOCK, srcGap / BLOCK, dstGap / BLOCK));
    } else {
        const DataCopyExtParams params(rows, rowBytes, srcGap, (dstPitch - AlignUp(rowBytes, BLOCK)) / BLOCK);
        DataCopyPad(dst, src, params, DataCopyPadExtParams<T>(true, 0, 0, T(0)));
    }
}

// The same from UB rows srcPitch bytes apart to GM rows dstPitch bytes apart.
template <typename T>
__aicore__ inline void CopyRowsOut(const GlobalTensor<T>& dst, const LocalTensor<T>& src, uint32_t rows,
                                   uint32_t rowBytes, uint32_t srcPitch, uint32_t dstPitch)
{
    const uint32_t srcGap = srcPitch - rowBytes, dstGap = dstPitch - rowBytes;
    if (rowBytes % BLOCK == 0 && srcGap == 0 && dstGap == 0) {
        DataCopy(dst, src, rows * rowBytes / sizeof(T));
    } else if (rowBytes % BLOCK == 0 && srcGap % BLOCK == 0 && dstGap % BLOCK == 0) {
        DataCopy(dst, src, DataCopyParams(rows, rowBytes / BLOCK, srcGap / BLOCK, dstGap / BLOCK));
    } else {
        DataCopyPad(dst, src, DataCopyExtParams(rows, rowBytes, (srcPitch - AlignUp(rowBytes, BLOCK)) / BLOCK, dstGap));
    }
}

class Dequantizer {
public:
    __aicore__ inline void Init(GM_ADDR w, GM_ADDR scale, GM_ADDR offset, GM_ADDR workspace)
    {
        wGm.SetGlobalBuffer((__gm__ int8_t*)w, K * N / 2);
        scaleGm.SetGlobalBuffer((__gm__ half*)scale, N);
        offsetGm.SetGlobalBuffer((__gm__ half*)offset, N);
        const uint32_t block = GetBlockIdx() / GetTaskRatio();
        slotsGm.SetGlobalBuffer((__gm__ half*)GetUserWorkspace(workspace) + block * SLOTS * SLOT_HALVES,
                                SLOTS * SLOT_HALVES);
        // Packed tile, then the scale row and the offset row, then the fp16 tile.
        pipe.InitBuffer(packedQueue, BUFFERS, TILE_ROWS * PACKED_PITCH);
        pipe.InitBuffer(paramsQueue, BUFFERS, 2 * UB_COLS * sizeof(half));
        pipe.InitBuffer(dequantQueue, BUFFERS, TILE_ROWS * UB_COLS * sizeof(half));
    }

    __aicore__ inline void Process()
    {
        const uint32_t block = GetBlockIdx() / GetTaskRatio(), blocks = GetBlockNum();
        const uint32_t first = FirstColumn(block, blocks), tiles = (FirstColumn(block + 1, blocks) - first) * K_TILES;
        const uint32_t rounds = (tiles + 1) / 2;
        int64_t paramsColumn = -1;
        for (uint32_t round = 0; round < rounds; ++round) {
            const uint32_t sequence = 2 * round + GetSubBlockIdx();
            if (sequence < tiles) {
                const uint32_t column = first + sequence / K_TILES;
                if (paramsColumn != column) {
                    if (paramsColumn >= 0) {
                        paramsQueue.FreeTensor(params);
                    }
                    LoadParams(TileAt(column, 0));
                    paramsColumn = column;
                }
                Dequantize(TileAt(column, sequence % K_TILES), sequence % SLOTS, round);
            }
            CrossCoreSetFlag<2, PIPE_MTE3>(READY);
        }
        if (paramsColumn >= 0) {
            paramsQueue.FreeTensor(params);
        }
        // The AIC sets FREE once a round; take the ones no write waited for.
        for (uint32_t round = rounds > BUFFERS ? rounds - BUFFERS : 0; round < rounds; ++round) {
            CrossCoreWaitFlag(FREE);
        }
    }

private:
    // The column's scale row, then UB_COLS halves on its offset row.
    __aicore__ inline void LoadParams(const Tile& tile)
    {
        LocalTensor<half> rows = paramsQueue.AllocTensor<half>();
        CopyRowsIn(rows, scaleGm[tile.n0], 1, tile.cols * sizeof(half), N * sizeof(half), UB_COLS * sizeof(half));
        CopyRowsIn(rows[UB_COLS], offsetGm[tile.n0], 1, tile.cols * sizeof(half), N * sizeof(half),
                   UB_COLS * sizeof(half));
        paramsQueue.EnQue(rows);
        params = paramsQueue.DeQue<half>();
    }

    __aicore__ inline void CopyPacked(const LocalTensor<int8_t>& packed, const Tile& tile)
    {
        const GlobalTensor<int8_t> rows = wGm[tile.k0 * N / 2 + tile.n0 / 2];
#ifdef UBSCOPE_PLANT_TAIL
        for (uint32_t row = 0; row < tile.kt; ++row) {
            DataCopy(packed[row * PACKED_PITCH], rows[row * N / 2], tile.cols / 2);
        }
#else
        CopyRowsIn(packed, rows, tile.kt, tile.cols / 2, N / 2, PACKED_PITCH);
#endif
    }

    // out[r, c] = (out[r, c] + offset[c]) * scale[c] over ``rows`` rows of UB_COLS
    // halves: the repeat forms, the row read with repeat stride 0 for every row
    // of the tile, at most 128 lanes and 255 rows a call.
    __aicore__ inline void Antiquant(const LocalTensor<half>& out, uint32_t rows)
    {
        const LocalTensor<half> scale = params, offset = params[UB_COLS];
        BinaryRepeatParams strides;
        strides.dstRepStride = UB_COLS * sizeof(half) / BLOCK;
        strides.src0RepStride = strides.dstRepStride;
        strides.src1RepStride = 0;
        for (uint32_t col = 0; col < UB_COLS; col += REPEAT_HALVES) {
            const uint64_t lanes = Min(REPEAT_HALVES, UB_COLS - col);
            for (uint32_t first = 0; first < rows; first += MAX_REPEAT) {
                const LocalTensor<half> part = out[first * UB_COLS + col];
                const uint8_t repeats = Min(MAX_REPEAT, rows - first);
                Add(part, part, offset[col], lanes, repeats, strides);
                Mul(part, part, scale[col], lanes, repeats, strides);
            }
        }
    }

    __aicore__ inline void Dequantize(const Tile& tile, uint32_t slot, uint32_t round)
    {
        LocalTensor<int8_t> packed = packedQueue.AllocTensor<int8_t>();
        CopyPacked(packed, tile);
        packedQueue.EnQue(packed);
        packed = packedQueue.DeQue<int8_t>();
        LocalTensor<half> out = dequantQueue.AllocTensor<half>();
        Cast(out, packed.ReinterpretCast<int4b_t>(), RoundMode::CAST_NONE, tile.kt * UB_COLS);
        packedQueue.FreeTensor(packed);
        Antiquant(out, tile.kt);
        if (tile.rowsPad > tile.kt) {  // UB garbage may be NaN, and 0 * NaN would poison y
            Duplicate(out[tile.kt * UB_COLS], half(0.0f), (tile.rowsPad - tile.kt) * UB_COLS);
        }
        dequantQueue.EnQue(out);
        out = dequantQueue.DeQue<half>();
        if (round >= BUFFERS) {  // the AIC has copied what this slot held BUFFERS rounds ago
            CrossCoreWaitFlag(FREE);
        }
        CopyRowsOut(slotsGm[slot * SLOT_HALVES], out, tile.rowsPad, tile.cols * sizeof(half), UB_COLS * sizeof(half),
                    tile.cols * sizeof(half));
        dequantQueue.FreeTensor(out);
    }

    TPipe pipe;
    TQue<QuePosition::VECIN, 1> packedQueue;
    TQue<QuePosition::VECIN, 1> paramsQueue;
    TQue<QuePosition::VECOUT, 1> dequantQueue;
    GlobalTensor<int8_t> wGm;
    GlobalTensor<half> scaleGm, offsetGm, slotsGm;
    LocalTensor<half> params;
};

// LoadData a rows x cols grid of fractals into dst row-major (ZZ, or ZN with
// transpose); fractal (r, c) is fractal first + r * rowStride + c * colStride
// of src. One LoadData per grid row or per grid column, whichever is fewer.
__aicore__ inline void LoadGrid(const LocalTensor<half>& dst, const LocalTensor<half>& src, uint32_t rows,
                                uint32_t cols, uint32_t first, uint32_t rowStride, uint32_t colStride)
{
    LoadData2dParams params;
    if (rows <= cols) {
        params.repeatTimes = cols;
        params.srcStride = colStride;
        for (uint32_t row = 0; row < rows; ++row) {
            params.startIndex = first + row * rowStride;
            LoadData(dst[row * cols * FRACTAL_HALVES], src, params);
        }
    } else {
        params.repeatTimes = rows;
        params.srcStride = rowStride;
        params.dstGap = cols - 1;
        for (uint32_t col = 0; col < cols; ++col) {
            params.startIndex = first + col * colStride;
            LoadData(dst[col * FRACTAL_HALVES], src, params);
        }
    }
}

class CubeMatmul {
public:
    __aicore__ inline void Init(GM_ADDR x, GM_ADDR y, GM_ADDR workspace)
    {
        xGm.SetGlobalBuffer((__gm__ half*)x, M * K);
        yGm.SetGlobalBuffer((__gm__ half*)y, M * N);
        slotsGm.SetGlobalBuffer((__gm__ half*)GetUserWorkspace(workspace) + GetBlockIdx() * SLOTS * SLOT_HALVES,
                                SLOTS * SLOT_HALVES);
        pipe.InitBuffer(xQueue, 1, M_PAD * AlignUp(K, FRACTAL) * sizeof(half));
        pipe.InitBuffer(wQueue, BUFFERS, TILE_ROWS * AlignUp(TILE_COLS, FRACTAL) * sizeof(half));
        pipe.InitBuffer(aQueue, BUFFERS, M_PAD * L0_K * sizeof(half));
        pipe.InitBuffer(bQueue, BUFFERS, L0_K * AlignUp(TILE_COLS, FRACTAL) * sizeof(half));
        pipe.InitBuffer(cQueue, BUFFERS, M_PAD * AlignUp(TILE_COLS, FRACTAL) * sizeof(float));
    }

    __aicore__ inline void Process()
    {
        const uint32_t blocks = GetBlockNum(), first = FirstColumn(GetBlockIdx(), blocks);
        const uint32_t tiles = (FirstColumn(GetBlockIdx() + 1, blocks) - first) * K_TILES;
        if (tiles == 0) {
            return;
        }
        LocalTensor<half> x = xQueue.AllocTensor<half>();
        DataCopy(x, xGm, Nd2NzParams(1, M, K, 0, K, M_PAD, 1, 0));
        xQueue.EnQue(x);
        xL1 = xQueue.DeQue<half>();
        const uint32_t ahead = BUFFERS - 1;  // double-buffered: the next tile's copy goes first
        for (uint32_t sequence = 0; sequence < Min(ahead, tiles); ++sequence) {
            LoadWeights(first, sequence, tiles);
        }
        for (uint32_t sequence = 0; sequence < tiles; ++sequence) {
            if (sequence + ahead < tiles) {
                LoadWeights(first, sequence + ahead, tiles);
            }
            const Tile tile = TileAt(first + sequence / K_TILES, sequence % K_TILES);
            if (tile.k0 == 0) {
                yL0c = cQueue.AllocTensor<float>();
            }
            Accumulate(tile, loaded[sequence % BUFFERS]);
            if (tile.k0 + tile.kt == K) {
                FixpipeParamsV220 params;
                params.nSize = tile.cols;
                params.mSize = M;
                params.srcStride = M_PAD;
                params.dstStride = N;
                params.quantPre = QuantMode_t::F322F16;
                Fixpipe(yGm[tile.n0], yL0c, params);
                cQueue.FreeTensor(yL0c);
            }
        }
        xQueue.FreeTensor(xL1);
    }

private:
    // Tile ``sequence`` from its workspace slot into L1: rowsPad / 16 bands of
    // 16 rows, each an NZ matrix (one Nd2Nz copy).
    __aicore__ inline void LoadWeights(uint32_t first, uint32_t sequence, uint32_t tiles)
    {
        const Tile tile = TileAt(first + sequence / K_TILES, sequence % K_TILES);
        if (sequence % 2 == 0) {  // a new round: wait until both AIVs have written theirs
            CrossCoreWaitFlag(READY);
        }
        LocalTensor<half> w = wQueue.AllocTensor<half>();
        const uint32_t padded = AlignUp(tile.cols, FRACTAL);
        DataCopy(w, slotsGm[(sequence % SLOTS) * SLOT_HALVES],
                 Nd2NzParams(tile.rowsPad / FRACTAL, FRACTAL, tile.cols, FRACTAL * tile.cols, tile.cols, FRACTAL, 1,
                             FRACTAL * padded));
        if (sequence % 2 == 1 || sequence + 1 == tiles) {  // the round's slots may be written again
            CrossCoreSetFlag<2, PIPE_MTE2>(FREE);
        }
        wQueue.EnQue(w);
        loaded[sequence % BUFFERS] = wQueue.DeQue<half>();
    }

    __aicore__ inline void Accumulate(const Tile& tile, LocalTensor<half>& w)
    {
        const uint32_t mBlocks = M_PAD / FRACTAL, nBlocks = AlignUp(tile.cols, FRACTAL) / FRACTAL;
        for (uint32_t kOffset = 0; kOffset < tile.kt; kOffset += L0_K) {
            const uint32_t rows = AlignUp(Min(L0_K, tile.kt - kOffset), FRACTAL);
            const uint32_t kBlock = kOffset / FRACTAL, kBlocks = rows / FRACTAL;
            LocalTensor<half> a = aQueue.AllocTensor<half>();
            LocalTensor<half> b = bQueue.AllocTensor<half>();
            // x (NZ: K blocks of mBlocks fractals) -> L0A (ZZ)
            LoadGrid(a, xL1, mBlocks, kBlocks, (tile.k0 / FRACTAL + kBlock) * mBlocks, 1, mBlocks);
            // w (contiguous bands) -> L0B (ZN), each fractal transposed, 255 a call
            LoadData2dParams bands;
            bands.srcStride = 1;
            bands.ifTranspose = true;
            const uint32_t total = kBlocks * nBlocks;
            for (uint32_t done = 0; done < total; done += MAX_REPEAT) {
                bands.startIndex = kBlock * nBlocks + done;
                bands.repeatTimes = Min(MAX_REPEAT, total - done);
                LoadData(b[done * FRACTAL_HALVES], w, bands);
            }
            aQueue.EnQue(a);
            bQueue.EnQue(b);
            a = aQueue.DeQue<half>();
            b = bQueue.DeQue<half>();
            MmadParams mmad;
            mmad.m = M;
            mmad.n = tile.cols;
            mmad.k = rows;
            mmad.cmatrixInitVal = tile.k0 == 0 && kOffset == 0;
            Mmad(yL0c, a, b, mmad);
            aQueue.FreeTensor(a);
            bQueue.FreeTensor(b);
        }
        wQueue.FreeTensor(w);
    }

    TPipe pipe;
    TQue<QuePosition::A1, 1> xQueue;
    TQue<QuePosition::B1, 1> wQueue;
    TQue<QuePosition::A2, 1> aQueue;
    TQue<QuePosition::B2, 1> bQueue;
    TQue<QuePosition::CO1, 1> cQueue;
    GlobalTensor<half> xGm, yGm, slotsGm;
    LocalTensor<half> xL1;
    LocalTensor<float> yL0c;
    LocalTensor<half> loaded[BUFFERS];
};

extern "C" __global__ __aicore__ void int4_gemm(GM_ADDR x, GM_ADDR w_int4, GM_ADDR antiquant_scale,
                                                GM_ADDR antiquant_offset, GM_ADDR y, GM_ADDR workspace)
{
    KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_MIX_AIC_1_2);
    if ASCEND_IS_AIV {
        Dequantizer dequantizer;
        dequantizer.Init(w_int4, antiquant_scale, antiquant_offset, workspace);
        dequantizer.Process();
    }
    if ASCEND_IS_AIC {
        CubeMatmul matmul;
        matmul.Init(x, y, workspace);
        matmul.Process();
    }
}
