// y = x * 0.5 + residual over UB tiles carved from the article's UBBufPool
// (section 4.2): a bump pointer with 32 B alignment and Reset() once per
// round, and, as in the article, no capacity check in Allocate. The same
// algorithm and parameters as ubscope's Python kernel pool_demo with
// allocator=bump (kernels/pool_demo.py), so the two can be compared.
//
// Build-time parameters (-D): POOL_DEMO_N elements of fp16 in all (split over
// the launched blocks), POOL_DEMO_TILE elements per tile.
// Planted problem: -DUBSCOPE_PLANT_OVERFLOW never resets the pool between
// rounds, so with enough rounds per block it runs past the end of UB.
#include "kernel_operator.h"
using namespace AscendC;

#ifndef POOL_DEMO_N
#define POOL_DEMO_N 262144
#endif
#ifndef POOL_DEMO_TILE
#define POOL_DEMO_TILE 8192
#endif

constexpr uint32_t TOTAL_LENGTH = POOL_DEMO_N;
constexpr uint32_t TILE_LENGTH = POOL_DEMO_TILE;
// The article gives the pool 2 MB; a 910B vector core has 192 KiB of UB, and
// Ascend C has no AllocUB: the pool takes the whole UB as one TBuf instead.
constexpr uint32_t POOL_SIZE = 192 * 1024;
constexpr uint32_t ALIGN = 32;

class UBBufPool {
public:
    __aicore__ inline void Init(TPipe& pipe)
    {
        pipe.InitBuffer(poolBuf, POOL_SIZE);
        pool = poolBuf.Get<uint8_t>();
    }
    // As in the article: the offset is never checked against POOL_SIZE.
    template <typename T>
    __aicore__ inline LocalTensor<T> Allocate(uint32_t count)
    {
        const uint32_t bytes = count * sizeof(T);
        LocalTensor<T> ptr = pool[offset].template ReinterpretCast<T>();
        ptr.SetSize(count);
        offset += (bytes + ALIGN - 1) / ALIGN * ALIGN;
        return ptr;
    }
    __aicore__ inline void Reset() { offset = 0; }

private:
    TBuf<TPosition::VECCALC> poolBuf;
    LocalTensor<uint8_t> pool;
    uint32_t offset = 0;
};

extern "C" __global__ __aicore__ void pool_demo(GM_ADDR x, GM_ADDR residual, GM_ADDR y)
{
    TPipe pipe;
    UBBufPool pool;
    pool.Init(pipe);
    GlobalTensor<half> xGm, residualGm, yGm;
    xGm.SetGlobalBuffer((__gm__ half*)x, TOTAL_LENGTH);
    residualGm.SetGlobalBuffer((__gm__ half*)residual, TOTAL_LENGTH);
    yGm.SetGlobalBuffer((__gm__ half*)y, TOTAL_LENGTH);
    const uint32_t perCore = (TOTAL_LENGTH + GetBlockNum() - 1) / GetBlockNum();
    const uint32_t begin = perCore * GetBlockIdx();
    const uint32_t end = begin + perCore < TOTAL_LENGTH ? begin + perCore : TOTAL_LENGTH;
    for (uint32_t offset = begin; offset < end; offset += TILE_LENGTH) {
        const uint32_t count = end - offset < TILE_LENGTH ? end - offset : TILE_LENGTH;
        LocalTensor<half> xLocal = pool.Allocate<half>(TILE_LENGTH);
        LocalTensor<half> residualLocal = pool.Allocate<half>(TILE_LENGTH);
        LocalTensor<half> yLocal = pool.Allocate<half>(TILE_LENGTH);
        DataCopy(xLocal, xGm[offset], count);
        DataCopy(residualLocal, residualGm[offset], count);
        Muls(yLocal, xLocal, (half)0.5, count);
        Add(yLocal, yLocal, residualLocal, count);
        DataCopy(yGm[offset], yLocal, count);
#ifndef UBSCOPE_PLANT_OVERFLOW
        pool.Reset();
#endif
    }
}
