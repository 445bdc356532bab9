"""The Matmul test kernels the twin's Matmul tests and bench/bench_twin.py
share: an AIC-only kernel written as the Matmul pages' examples write one, a
mix one with a LeakyReLU epilogue written as the samples write one, and the
run, tiling and oracle helpers around them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.helpers.source_lines import write_source
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.ascendc.tiling import LaunchValues
from ubscope.probe.chip import load_chip
from ubscope.probe.device_fault import DeviceFault

CHIP = load_chip("Ascend910B1")

# Core i of the launch computes the C block (i % mCores, i / mCores) of
# singleCoreM x singleCoreN, offsetting A, B, C and the bias itself and giving
# the last row and column of cores their tails (SetTail); with SPLIT_K core i
# takes the i-th singleCoreK slice of K instead and adds into C (ATOMIC=1).
KERNEL = """\
#include "kernel_operator.h"
#include "lib/matmul_intf.h"
using namespace AscendC;

namespace optiling {
BEGIN_TILING_DATA_DEF(MatmulCaseTiling)
  TILING_DATA_FIELD_DEF_STRUCT(TCubeTiling, cube);
END_TILING_DATA_DEF;
REGISTER_TILING_DATA_CLASS(MatmulCase, MatmulCaseTiling)
}

using AType = matmul::MatmulType<TPosition::GM, CubeFormat::ND, IN_T>;
using CType = matmul::MatmulType<TPosition::GM, CubeFormat::ND, OUT_T>;
using BiasType = matmul::MatmulType<TPosition::GM, CubeFormat::ND, ACC_T>;

extern "C" __global__ __aicore__ void mm(GM_ADDR a, GM_ADDR b, GM_ADDR bias, GM_ADDR c,
                                         GM_ADDR workspace, GM_ADDR tiling) {
    KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIC_ONLY);
    GET_TILING_DATA(t, tiling);
    const TCubeTiling& cube = t.cube;
    const int32_t mCores = (cube.M + cube.singleCoreM - 1) / cube.singleCoreM;
    const int32_t mIdx = GetBlockIdx() % mCores, nIdx = GetBlockIdx() / mCores;
    const int32_t m0 = mIdx * cube.singleCoreM, n0 = nIdx * cube.singleCoreN;
    int64_t offA = TRANS_A ? m0 : (int64_t)m0 * cube.Ka;
    int64_t offB = TRANS_B ? (int64_t)n0 * cube.Kb : n0;
    int64_t offC = (int64_t)m0 * cube.N + n0;
#ifdef SPLIT_K
    const int64_t k0 = GetBlockIdx() * cube.singleCoreK;
    offA = TRANS_A ? k0 * cube.M : k0;
    offB = TRANS_B ? k0 : k0 * cube.N;
    offC = 0;
#endif
    TPipe pipe;
    matmul::Matmul<AType, AType, CType, BiasType> mm;
    REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm, &cube);
    GlobalTensor<IN_T> aGm, bGm;
    GlobalTensor<OUT_T> cGm;
    GlobalTensor<ACC_T> biasGm;
    aGm.SetGlobalBuffer((__gm__ IN_T*)a);
    bGm.SetGlobalBuffer((__gm__ IN_T*)b);
    cGm.SetGlobalBuffer((__gm__ OUT_T*)c);
    biasGm.SetGlobalBuffer((__gm__ ACC_T*)bias);
#ifndef SKIP_SET_A
    mm.SetTensorA(aGm[offA], TRANS_A);
#endif
    mm.SetTensorB(bGm[offB], TRANS_B);
    if (cube.isBias) {
        mm.SetBias(biasGm[n0]);
    }
    mm.SetTail(cube.M - m0 < cube.singleCoreM ? cube.M - m0 : cube.singleCoreM,
               cube.N - n0 < cube.singleCoreN ? cube.N - n0 : cube.singleCoreN);
#ifdef ITERATE
    while (mm.Iterate()) {
        mm.GetTensorC(cGm[offC]);
    }
#else
    mm.IterateAll(cGm[offC], ATOMIC);
#endif
    mm.End();
}
"""

FP16 = ("IN_T=half", "OUT_T=float", "ACC_T=float")


def tiling(m: int, n: int, k: int, **given: int) -> dict[str, int]:
    """A TCubeTiling for one core over [m, k] x [k, n] in 32 x 32 x 32 blocks,
    single-buffered in L1 and double-buffered in L0A / L0B; ``given`` overrides."""
    fields = dict(
        usedCoreNum=1, M=m, N=n, Ka=k, Kb=k, singleCoreM=m, singleCoreN=n, singleCoreK=k,
        baseM=32, baseN=32, baseK=32, depthA1=1, depthB1=1, stepM=1, stepN=1, isBias=0,
        transLength=0, iterateOrder=0, shareMode=0, shareL1Size=0, shareL0CSize=0,
        shareUbSize=0, batchM=1, batchN=1, singleBatchM=1, singleBatchN=1, stepKa=1, stepKb=1,
        depthAL1CacheUB=0, depthBL1CacheUB=0, dbL0A=2, dbL0B=2, dbL0C=1,
    )  # fmt: skip
    fields.update(given)
    return fields


def run_mm(
    tmp_path: Path,
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    cube: dict[str, int],
    *,
    bias: np.ndarray | None = None,
    trans_a: bool = False,
    trans_b: bool = False,
    types: tuple[str, ...] = FP16,
    block_dim: int = 1,
    extra: tuple[str, ...] = (),
    source: str = KERNEL,
) -> tuple[np.ndarray, Path, DeviceFault | None]:
    """C from the kernel for a = [M, K] and b = [K, N] (stored transposed as the
    flags say), with C's initial contents ``c``: the output, the trace and the
    device fault, if any."""
    trace = tmp_path / "mm.ubtrace"
    inputs = {
        "a": np.ascontiguousarray(a.T) if trans_a else a,
        "b": np.ascontiguousarray(b.T) if trans_b else b,
        "bias": bias if bias is not None else np.zeros(c.shape[1], np.float32),
    }
    defines = (*types, f"TRANS_A={int(trans_a)}", f"TRANS_B={int(trans_b)}", *extra)
    if not any(d.startswith("ATOMIC=") for d in defines):
        defines = (*defines, "ATOMIC=0")
    run = run_ascendc(
        write_source(tmp_path, "mm.cpp", source),
        "mm",
        block_dim,
        inputs,
        {"c": c},
        CHIP,
        trace,
        defines=defines,
        values=LaunchValues(tiling={f"cube.{k}": str(v) for k, v in cube.items()}),
    )
    return run.outputs["c"], trace, run.device_fault


def small_ints(shape: tuple[int, ...], seed: int, bound: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).integers(-bound, bound + 1, shape).astype(np.float16)


def oracle(a: np.ndarray, b: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """C in float32: fp16 products are exact in float32, summed in float32."""
    c = np.matmul(a.astype(np.float32), b.astype(np.float32))
    return c + bias.astype(np.float32) if bias is not None else c


# A matmul with a LeakyReLU epilogue written as the samples write one: no
# kernel type (a Matmul kernel is a mix one), C a VECIN MatmulType, each AIV
# computing the singleCoreM x singleCoreN block GetBlockIdx() names, block by
# block: Iterate, GetTensorC into a UB tensor, LeakyRelu there, DataCopy to C.
# STAGED takes the block from the system workspace with the GetTensorC that
# returns it and copies it into UB itself; ALL takes the whole block at once
# with IterateAll into UB. WAIT_FOR_AIC has the AIVs wait for a flag the AIC
# would set after REGIST_MATMUL_OBJ, which it never runs in a mix kernel. FILL_SCRATCH has each AIV fill a scratch tensor after each
# Iterate: vector work that depends on no data of the Matmul.
LEAKY = """\
#include "kernel_operator.h"
#include "lib/matmul_intf.h"
using namespace AscendC;

namespace optiling {
BEGIN_TILING_DATA_DEF(LeakyTiling)
  TILING_DATA_FIELD_DEF_STRUCT(TCubeTiling, cube);
  TILING_DATA_FIELD_DEF(float, alpha);
END_TILING_DATA_DEF;
REGISTER_TILING_DATA_CLASS(Leaky, LeakyTiling)
}

using AType = matmul::MatmulType<TPosition::GM, CubeFormat::ND, half>;
using CType = matmul::MatmulType<TPosition::VECIN, CubeFormat::ND, float>;
using BiasType = matmul::MatmulType<TPosition::GM, CubeFormat::ND, float>;

class MatmulLeaky {
public:
    __aicore__ inline void Init(GM_ADDR a, GM_ADDR b, GM_ADDR c, const TCubeTiling& cube, float alpha) {
        tiling = cube;
        this->alpha = alpha;
        const int32_t mCores = (cube.M + cube.singleCoreM - 1) / cube.singleCoreM;
        m0 = GetBlockIdx() % mCores * cube.singleCoreM;
        n0 = GetBlockIdx() / mCores * cube.singleCoreN;
        aGm.SetGlobalBuffer((__gm__ half*)a + m0 * cube.Ka);
        bGm.SetGlobalBuffer((__gm__ half*)b + n0);
        cGm.SetGlobalBuffer((__gm__ float*)c + m0 * cube.N + n0);
    }
    __aicore__ inline void Process(TPipe* pipe) {
#ifdef ALL
        pipe->InitBuffer(cQue, 1, tiling.singleCoreM * tiling.singleCoreN * sizeof(float));
#else
        pipe->InitBuffer(cQue, 1, tiling.baseM * tiling.baseN * sizeof(float));
#endif
        mm.SetTensorA(aGm);
        mm.SetTensorB(bGm);
#ifdef FILL_SCRATCH
        pipe->InitBuffer(markBuf, 32);
        LocalTensor<float> mark = markBuf.Get<float>();
#endif
#ifdef ALL
        LocalTensor<float> cLocal = cQue.AllocTensor<float>();
        mm.IterateAll(cLocal);
        Epilogue(cLocal, tiling.singleCoreM, tiling.singleCoreN, 0);
#else
        const int32_t mBlocks = tiling.singleCoreM / tiling.baseM;
        for (int32_t round = 0; mm.Iterate(); ++round) {
#ifdef FILL_SCRATCH
            Duplicate(mark, 0.0f, 8);
#endif
            LocalTensor<float> cLocal = cQue.AllocTensor<float>();
#ifdef STAGED
            GlobalTensor<float> staged = mm.GetTensorC();
            DataCopy(cLocal, staged, tiling.baseM * tiling.baseN);
#else
            mm.GetTensorC(cLocal, 0, true);
#endif
            const int32_t at = round % mBlocks * tiling.baseM * tiling.N + round / mBlocks * tiling.baseN;
            Epilogue(cLocal, tiling.baseM, tiling.baseN, at);
        }
#endif
        mm.End();
    }
    __aicore__ inline void Epilogue(LocalTensor<float>& cLocal, int32_t rows, int32_t cols, int32_t at) {
        LeakyRelu(cLocal, cLocal, alpha, rows * cols);
        cQue.EnQue(cLocal);
        cLocal = cQue.DeQue<float>();
        DataCopyParams params(rows, cols * sizeof(float) / 32, 0, (tiling.N - cols) * sizeof(float) / 32);
        DataCopy(cGm[at], cLocal, params);
        cQue.FreeTensor(cLocal);
    }
    matmul::Matmul<AType, AType, CType, BiasType> mm;
    TCubeTiling tiling;

private:
    TQue<TPosition::VECIN, 1> cQue;
    TBuf<TPosition::VECCALC> markBuf;
    GlobalTensor<half> aGm, bGm;
    GlobalTensor<float> cGm;
    float alpha;
    int32_t m0, n0;
};

extern "C" __global__ __aicore__ void leaky(GM_ADDR a, GM_ADDR b, GM_ADDR c, GM_ADDR workspace,
                                            GM_ADDR tiling) {
    GET_TILING_DATA(t, tiling);
    TPipe pipe;
    MatmulLeaky op;
    op.Init(a, b, c, t.cube, t.alpha);
#ifdef WAIT_FOR_AIC
    if ASCEND_IS_AIV {
        CrossCoreWaitFlag(3);
    }
#endif
    REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), op.mm, &op.tiling);
#ifdef WAIT_FOR_AIC
    if ASCEND_IS_AIC {
        CrossCoreSetFlag<2, PIPE_FIX>(3);
    }
#endif
    op.Process(&pipe);
}
"""
