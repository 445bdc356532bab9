// y = LayerNorm(x + residual) * gamma + beta, in place (the article's section
// 5.2): the residual sum stays in an fp32 UB row, is normalised there as
// (s - mean) * rstd (a multiply: the article's vdiv by rstd is wrong) and the
// result overwrites x, so the sum never goes to GM. fp16 in and out, fp32
// statistics. The same algorithm and buffers as ubscope's Python kernel
// layernorm with inplace=true (kernels/layernorm.py), so the two can be compared.
//
// Build-time parameters (-D): LN_ROWS, LN_HIDDEN, LN_BUFFERS (blocks per row
// queue; 2 = double buffering), LN_EPS.
// Planted problem: -DUBSCOPE_PLANT_TAIL copies rows with the DataCopy count
// form even when a row is not whole 32 B blocks (LN_HIDDEN=1000: 2000 B), so
// each copy drops its last 16 B.
#include "kernel_operator.h"
using namespace AscendC;

#ifndef LN_ROWS
#define LN_ROWS 64
#endif
#ifndef LN_HIDDEN
#define LN_HIDDEN 1024
#endif
#ifndef LN_BUFFERS
#define LN_BUFFERS 2
#endif
#ifndef LN_EPS
#define LN_EPS 1e-5f
#endif

constexpr uint32_t ROWS = LN_ROWS;
constexpr uint32_t HIDDEN = LN_HIDDEN;
#ifndef UBSCOPE_PLANT_TAIL
static_assert(HIDDEN * sizeof(half) % 32 == 0,
              "rows that are not whole 32 B blocks need DataCopyPad");
#endif

class KernelLayerNormInplace {
public:
    __aicore__ inline bool Init(GM_ADDR x, GM_ADDR residual, GM_ADDR gamma, GM_ADDR beta)
    {
        const uint32_t perCore = (ROWS + GetBlockNum() - 1) / GetBlockNum();
        firstRow = perCore * GetBlockIdx();
        lastRow = firstRow + perCore < ROWS ? firstRow + perCore : ROWS;
        if (firstRow >= lastRow) {
            return false;
        }
        xGm.SetGlobalBuffer((__gm__ half*)x, ROWS * HIDDEN);
        residualGm.SetGlobalBuffer((__gm__ half*)residual, ROWS * HIDDEN);
        gammaGm.SetGlobalBuffer((__gm__ half*)gamma, HIDDEN);
        betaGm.SetGlobalBuffer((__gm__ half*)beta, HIDDEN);
        pipe.InitBuffer(xQueue, LN_BUFFERS, HIDDEN * sizeof(half));
        pipe.InitBuffer(residualQueue, LN_BUFFERS, HIDDEN * sizeof(half));
        pipe.InitBuffer(sumBuf, HIDDEN * sizeof(float));
        pipe.InitBuffer(tmpBuf, HIDDEN * sizeof(float));
        pipe.InitBuffer(gammaBuf, HIDDEN * sizeof(float));
        pipe.InitBuffer(betaBuf, HIDDEN * sizeof(float));
        return true;
    }

    __aicore__ inline void Process()
    {
        LocalTensor<float> total = sumBuf.Get<float>();
        LocalTensor<float> tmp = tmpBuf.Get<float>();
        LocalTensor<float> gamma32 = gammaBuf.Get<float>();
        LocalTensor<float> beta32 = betaBuf.Get<float>();
        LoadAffine(gammaGm, gamma32);
        LoadAffine(betaGm, beta32);
        for (uint32_t row = firstRow; row < lastRow; ++row) {
            LocalTensor<half> xLocal = LoadRow(xQueue, xGm[row * HIDDEN]);
            LocalTensor<half> residualLocal = LoadRow(residualQueue, residualGm[row * HIDDEN]);
            Cast(total, xLocal, RoundMode::CAST_NONE, HIDDEN);
            Cast(tmp, residualLocal, RoundMode::CAST_NONE, HIDDEN);
            Add(total, total, tmp, HIDDEN);
            residualQueue.FreeTensor(residualLocal);
            // tmp is the scratch row of both reductions.
            ReduceSum(tmp, total, tmp, HIDDEN);
            const float mean = tmp.GetValue(0) / HIDDEN;
            Adds(total, total, -mean, HIDDEN);
            Mul(tmp, total, total, HIDDEN);
            ReduceSum(tmp, tmp, tmp, HIDDEN);
            const float rstd = 1.0f / std::sqrt(tmp.GetValue(0) / HIDDEN + LN_EPS);
            Muls(total, total, rstd, HIDDEN);
            Mul(total, total, gamma32, HIDDEN);
            Add(total, total, beta32, HIDDEN);
            // The output overwrites the input row, in UB and then in GM.
            Cast(xLocal, total, RoundMode::CAST_RINT, HIDDEN);
            CopyRow(xGm[row * HIDDEN], xLocal);
            xQueue.FreeTensor(xLocal);
        }
    }

private:
    // gamma or beta to fp32, once per core, staged through an x row block.
    __aicore__ inline void LoadAffine(const GlobalTensor<half>& source, const LocalTensor<float>& target)
    {
        LocalTensor<half> stage = LoadRow(xQueue, source);
        Cast(target, stage, RoundMode::CAST_NONE, HIDDEN);
        xQueue.FreeTensor(stage);
    }

    template <typename Queue>
    __aicore__ inline LocalTensor<half> LoadRow(Queue& queue, const GlobalTensor<half>& source)
    {
        LocalTensor<half> row = queue.template AllocTensor<half>();
        CopyRow(row, source);
        queue.EnQue(row);
        return queue.template DeQue<half>();
    }

    template <typename Dst, typename Src>
    __aicore__ inline void CopyRow(const Dst& dst, const Src& src)
    {
        DataCopy(dst, src, HIDDEN);
    }

    TPipe pipe;
    TQue<QuePosition::VECIN, 1> xQueue, residualQueue;
    TBuf<QuePosition::VECCALC> sumBuf, tmpBuf, gammaBuf, betaBuf;
    GlobalTensor<half> xGm, residualGm, gammaGm, betaGm;
    uint32_t firstRow = 0;
    uint32_t lastRow = 0;
};

extern "C" __global__ __aicore__ void layernorm_inplace(GM_ADDR x, GM_ADDR residual, GM_ADDR gamma,
                                                         GM_ADDR beta)
{
    KernelLayerNormInplace op;
    if (op.Init(x, residual, gamma, beta)) {
        op.Process();
    }
}
