// y = x @ W.T with W 2:4-sparse, on the vector core: the article's "vscatter"
// tip done as a gather. The same algorithm, tiling and UB buffers as ubscope's
// Python kernel sparse_matmul with variant=gather, meta_format=nibble,
// allocator=tpipe (kernels/sparse_matmul/), so the two can be compared.
//
// x is fp16 [M, K]; W is stored 2:4-compressed (kernels/sparse24.py): values
// fp16 [N, K/2] (the two kept elements of every group of 4, in order) and
// metadata uint8 [N, K/8], two 4-bit group codes a byte (first group in the
// low nibble), each code the kept positions idx0 | idx1 << 2; y is fp16 [M, N].
//
// N is split over the blocks in tiles of TILE_N weight rows; CHUNK_TILES tiles
// of a block form a chunk whose fp32 accumulators stay in UB over the whole K
// loop. Per chunk and K step of TILE_K columns one copy each brings in the
// activations, the chunk's values and its metadata. Each tile of the step is a
// round: the metadata words are split into their 2-bit fields, gathered into
// slot order and scaled into byte offsets of the kept weights' activations;
// the values are transposed K-major; then for every activation row the
// activations the kept weights meet are gathered, multiplied by the values and
// summed over K by a halving tree of Adds into the row's accumulators.
//
// Build-time parameters (-D): SPM_M, SPM_K, SPM_N, SPM_TILE_N, SPM_TILE_K,
// SPM_CHUNK_TILES (tiles whose accumulators stay in UB; the Python planner's
// choice for the defaults), SPM_BUFFERS (blocks per copy queue: 2 double-buffers).
// Planted problem: -DUBSCOPE_PLANT_UNALIGNED_TABLE packs the index tables 16 B
// apart instead of on 32 B boundaries, so the base table starts 16 B off the
// 32 B alignment a vector operand needs (the Add that reads it is flagged).
#include "kernel_operator.h"
using namespace AscendC;

#ifndef SPM_M
#define SPM_M 16
#endif
#ifndef SPM_K
#define SPM_K 1024
#endif
#ifndef SPM_N
#define SPM_N 1024
#endif
#ifndef SPM_TILE_N
#define SPM_TILE_N 16
#endif
#ifndef SPM_TILE_K
#define SPM_TILE_K 256
#endif
#ifndef SPM_CHUNK_TILES
#define SPM_CHUNK_TILES 8
#endif
#ifndef SPM_BUFFERS
#define SPM_BUFFERS 2
#endif

constexpr uint32_t M = SPM_M, K = SPM_K, N = SPM_N;
constexpr uint32_t TILE_N = SPM_TILE_N, TILE_K = SPM_TILE_K, CHUNK_TILES = SPM_CHUNK_TILES;
constexpr uint32_t CHUNK_N = CHUNK_TILES * TILE_N;
constexpr uint32_t BLOCK = 32;
constexpr uint32_t GROUP = 4;                        // dense elements of a 2:4 group
constexpr uint32_t META_ROW = K / 8;                 // metadata bytes of a weight row
constexpr uint32_t META_PITCH = TILE_K / 8;          // metadata bytes of a tile row in UB
constexpr uint32_t META_WORDS = TILE_N * META_PITCH / 2;  // 16-bit words of a tile's metadata
constexpr uint32_t FIELDS = 8;                       // 2-bit fields of a 16-bit word
constexpr uint32_t SLOTS = TILE_N * TILE_K / 2;      // kept weights of a tile
constexpr uint32_t HALF_K = TILE_K / 2;
#ifdef UBSCOPE_PLANT_UNALIGNED_TABLE
constexpr uint32_t TABLE_PITCH = SLOTS + 4;  // 16 B past each table: the next starts off 32 B
#else
constexpr uint32_t TABLE_PITCH = SLOTS;
#endif

// Every copy moves whole 32 B blocks (the Python kernel pads partial rows with
// DataCopyPad; this kernel keeps to the shapes that need none).
static_assert(TILE_N % 16 == 0 && N % TILE_N == 0, "N splits into tiles of a multiple of 16 rows");
static_assert(TILE_K % 256 == 0 && K % TILE_K == 0, "K splits into steps of whole 32 B metadata rows");

constexpr uint32_t Log2(uint32_t value) { return value > 1 ? 1 + Log2(value / 2) : 0; }
constexpr uint32_t TILE_N_BITS = Log2(TILE_N);
static_assert(TILE_N == 1u << TILE_N_BITS, "TILE_N is a power of two: slot and row come from shifts");

// quotient = value >> bits, remainder = value - (quotient << bits): three
// distinct tensors.
__aicore__ inline void Split(const LocalTensor<int32_t>& quotient, const LocalTensor<int32_t>& remainder,
                             const LocalTensor<int32_t>& value, uint32_t bits)
{
    ShiftRight(quotient, value, static_cast<int32_t>(bits), SLOTS);
    ShiftLeft(remainder, quotient, static_cast<int32_t>(bits), SLOTS);
    Sub(remainder, value, remainder, SLOTS);
}

// dst = a * scale + b
__aicore__ inline void MulAdd(const LocalTensor<int32_t>& dst, const LocalTensor<int32_t>& a, uint32_t scale,
                              const LocalTensor<int32_t>& b)
{
    Muls(dst, a, static_cast<int32_t>(scale), SLOTS);
    Add(dst, dst, b, SLOTS);
}

// Tiling-only tables, byte offsets: where the 2-bit field of each kept slot
// lies among the decoded fields, where its group starts in an fp32 activation
// row, and where each value sits in the tile's [TILE_N, TILE_K / 2] values.
// Slots are K-major (element i is slot i / TILE_N of row i % TILE_N). Built
// once per block from CreateVecIndex with integer ops; ``scratch`` holds four
// tables' worth of int32 (buffers the rounds use later).
__aicore__ inline void BuildIndexTables(const LocalTensor<int32_t>& slotField, const LocalTensor<int32_t>& base,
                                        const LocalTensor<int32_t>& transpose,
                                        const LocalTensor<int32_t> (&scratch)[4])
{
    const LocalTensor<int32_t>&index = scratch[0], &slot = scratch[1], &row = scratch[2], &field = scratch[3];
    CreateVecIndex(index, 0, SLOTS);
    Split(slot, row, index, TILE_N_BITS);
    // transpose = (row * TILE_K / 2 + slot) * sizeof(half)
    MulAdd(transpose, row, HALF_K, slot);
    Muls(transpose, transpose, static_cast<int32_t>(sizeof(half)), SLOTS);
    // base = group * 4 * sizeof(float), group = slot / 2
    const LocalTensor<int32_t>& group = index;
    ShiftRight(group, slot, 1, SLOTS);
    Muls(base, group, static_cast<int32_t>(GROUP * sizeof(float)), SLOTS);
    // Slot s of a row is field s % 8 (bit 1 of its group's nibble, bit 2 of
    // its byte in the word) of word s / 8 of the row's metadata:
    // slotField = ((s % 8) * META_WORDS + row * META_PITCH / 2 + s / 8) * sizeof(uint16_t)
    const LocalTensor<int32_t>& word = index;
    Split(word, field, slot, 3);
    MulAdd(row, row, META_PITCH / 2, word);
    MulAdd(slotField, field, META_WORDS, row);
    Muls(slotField, slotField, static_cast<int32_t>(sizeof(uint16_t)), SLOTS);
}

class SparseGatherMatmul {
public:
    __aicore__ inline void Init(GM_ADDR x, GM_ADDR values, GM_ADDR meta, GM_ADDR y)
    {
        xGm.SetGlobalBuffer((__gm__ half*)x, M * K);
        valuesGm.SetGlobalBuffer((__gm__ half*)values, N * K / 2);
        metaGm.SetGlobalBuffer((__gm__ uint8_t*)meta, N * META_ROW);
        yGm.SetGlobalBuffer((__gm__ half*)y, M * N);
        pipe.InitBuffer(indexTables, 3 * TABLE_PITCH * sizeof(uint32_t));
        pipe.InitBuffer(accBuf, M * CHUNK_N * sizeof(float));
        pipe.InitBuffer(yQueue, SPM_BUFFERS, M * CHUNK_N * sizeof(half));
        pipe.InitBuffer(xQueue, SPM_BUFFERS, M * TILE_K * sizeof(half));
        pipe.InitBuffer(x32Buf, M * TILE_K * sizeof(float));
        pipe.InitBuffer(metaQueue, SPM_BUFFERS, CHUNK_N * META_PITCH);
        pipe.InitBuffer(valuesQueue, SPM_BUFFERS, CHUNK_N * HALF_K * sizeof(half));
        pipe.InitBuffer(decodeBuf, FIELDS * META_WORDS * sizeof(uint16_t) + SLOTS * sizeof(uint16_t) +
                                       SLOTS * sizeof(int32_t));
        pipe.InitBuffer(valuesTBuf, SLOTS * sizeof(half) + SLOTS * sizeof(float));
        pipe.InitBuffer(workBuf, HALF_K * TILE_N * sizeof(float));
        LocalTensor<int32_t> tables = indexTables.Get<int32_t>();
        slotFieldTable = tables;
        baseTable = tables[TABLE_PITCH];
        transposeTable = tables[2 * TABLE_PITCH];
        LocalTensor<int32_t> decode = decodeBuf.Get<int32_t>();
        const LocalTensor<int32_t> scratch[4] = {decode, decode[SLOTS], workBuf.Get<int32_t>(),
                                                  valuesTBuf.Get<int32_t>()};
        BuildIndexTables(slotFieldTable, baseTable, transposeTable, scratch);
    }

    __aicore__ inline void Process()
    {
        const uint32_t tiles = N / TILE_N;
        const uint32_t perBlock = (tiles + GetBlockNum() - 1) / GetBlockNum();
        const uint32_t first = perBlock * GetBlockIdx();
        const uint32_t last = first + perBlock < tiles ? first + perBlock : tiles;
        for (uint32_t chunk = first; chunk < last; chunk += CHUNK_TILES) {
            RunChunk(chunk, chunk + CHUNK_TILES < last ? chunk + CHUNK_TILES : last);
        }
    }

private:
    // The K loop of tiles [begin, end): per K step the activations and the
    // chunk's weight rows come in once, then each tile is a round.
    __aicore__ inline void RunChunk(uint32_t begin, uint32_t end)
    {
        const uint32_t n0 = begin * TILE_N, rows = (end - begin) * TILE_N;
        LocalTensor<float> acc = accBuf.Get<float>();
        Duplicate(acc, 0.0f, M * CHUNK_N);
        for (uint32_t k0 = 0; k0 < K; k0 += TILE_K) {
            LocalTensor<half> xTile = xQueue.AllocTensor<half>();
            DataCopy(xTile, xGm[k0], DataCopyParams(M, TILE_K * sizeof(half) / BLOCK, (K - TILE_K) * sizeof(half) / BLOCK, 0));
            xQueue.EnQue(xTile);
            xTile = xQueue.DeQue<half>();
            LocalTensor<float> x32 = x32Buf.Get<float>();
            Cast(x32, xTile, RoundMode::CAST_NONE, M * TILE_K);
            xQueue.FreeTensor(xTile);

            LocalTensor<half> values = valuesQueue.AllocTensor<half>();
            DataCopy(values, valuesGm[(n0 * K + k0) / 2],
                     DataCopyParams(rows, HALF_K * sizeof(half) / BLOCK, (K - TILE_K) / 2 * sizeof(half) / BLOCK, 0));
            LocalTensor<uint8_t> meta = metaQueue.AllocTensor<uint8_t>();
            DataCopy(meta, metaGm[n0 * META_ROW + k0 / 8],
                     DataCopyParams(rows, META_PITCH / BLOCK, (META_ROW - META_PITCH) / BLOCK, 0));
            valuesQueue.EnQue(values);
            metaQueue.EnQue(meta);
            values = valuesQueue.DeQue<half>();
            meta = metaQueue.DeQue<uint8_t>();
            for (uint32_t tile = begin; tile < end; ++tile) {
                const uint32_t chunkRow = (tile - begin) * TILE_N;
                RunRound(x32, values[chunkRow * HALF_K], meta[chunkRow * META_PITCH], acc[chunkRow]);
            }
            metaQueue.FreeTensor(meta);
            valuesQueue.FreeTensor(values);
        }
        LocalTensor<half> yTile = yQueue.AllocTensor<half>();
        Cast(yTile, acc, RoundMode::CAST_NONE, M * CHUNK_N);
        yQueue.EnQue(yTile);
        yTile = yQueue.DeQue<half>();
        DataCopy(yGm[n0], yTile,
                 DataCopyParams(M, rows * sizeof(half) / BLOCK, (CHUNK_N - rows) * sizeof(half) / BLOCK,
                                (N - rows) * sizeof(half) / BLOCK));
        yQueue.FreeTensor(yTile);
    }

    // One tile: decode its metadata into byte offsets into an activation row,
    // transpose its values K-major, then multiply-accumulate every row of x.
    __aicore__ inline void RunRound(const LocalTensor<float>& x32, const LocalTensor<half>& values,
                                    const LocalTensor<uint8_t>& meta, const LocalTensor<float>& acc)
    {
        LocalTensor<uint16_t> words = meta.ReinterpretCast<uint16_t>();
        LocalTensor<uint16_t> fields = decodeBuf.Get<uint16_t>();
        LocalTensor<uint16_t> slotField = fields[FIELDS * META_WORDS];
        LocalTensor<int32_t> offsets = slotField[SLOTS].ReinterpretCast<int32_t>();
        for (uint32_t field = 0; field < FIELDS; ++field) {
            // Keep bits 2*field+1..2*field: up to the top of the word, then down to the bottom.
            ShiftLeft(fields[field * META_WORDS], words, static_cast<uint16_t>(14 - 2 * field), META_WORDS);
            ShiftRight(fields[field * META_WORDS], fields[field * META_WORDS], static_cast<uint16_t>(14), META_WORDS);
        }
        Gather(slotField, fields, slotFieldTable.ReinterpretCast<uint32_t>(), 0, SLOTS);
        Cast(offsets, slotField, RoundMode::CAST_NONE, SLOTS);
        Muls(offsets, offsets, static_cast<int32_t>(sizeof(float)), SLOTS);
        Add(offsets, offsets, baseTable, SLOTS);

        LocalTensor<half> values16 = valuesTBuf.Get<half>();
        LocalTensor<float> values32 = values16[SLOTS].ReinterpretCast<float>();
        Gather(values16, values, transposeTable.ReinterpretCast<uint32_t>(), 0, SLOTS);
        Cast(values32, values16, RoundMode::CAST_NONE, SLOTS);

        LocalTensor<float> work = workBuf.Get<float>();
        LocalTensor<uint32_t> index = offsets.ReinterpretCast<uint32_t>();
        for (uint32_t row = 0; row < M; ++row) {
            LocalTensor<float> xRow = x32[row * TILE_K];
            xRow.SetSize(TILE_K);
            Gather(work, xRow, index, 0, SLOTS);
            Mul(work, work, values32, SLOTS);
            for (uint32_t sums = HALF_K; sums > 1;) {
                const uint32_t upper = sums / 2, keep = sums - upper;
                Add(work, work, work[keep * TILE_N], upper * TILE_N);
                sums = keep;
            }
            Add(acc[row * CHUNK_N], acc[row * CHUNK_N], work, TILE_N);
        }
    }

    TPipe pipe;
    TBuf<QuePosition::VECCALC> indexTables, accBuf, x32Buf, decodeBuf, valuesTBuf, workBuf;
    TQue<QuePosition::VECIN, 1> xQueue, metaQueue, valuesQueue;
    TQue<QuePosition::VECOUT, 1> yQueue;
    GlobalTensor<half> xGm, valuesGm, yGm;
    GlobalTensor<uint8_t> metaGm;
    LocalTensor<int32_t> slotFieldTable, baseTable, transposeTable;
};

extern "C" __global__ __aicore__ void sparse_matmul(GM_ADDR x, GM_ADDR values, GM_ADDR meta, GM_ADDR y)
{
    SparseGatherMatmul op;
    op.Init(x, values, meta, y);
    op.Process();
}
