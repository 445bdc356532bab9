"""The twin's fused and bitwise vector instructions: AddRelu, SubRelu,
FusedMulAdd, MulAddDst, FusedMulAddRelu, Axpy (also half into float), And, Or
and Not, in the count form and in a repeat form. Numerics against numpy, each
expected array built here from the documented formula; one event against
figures worked out by hand from the buffers' placement."""

from __future__ import annotations

import numpy as np
import pytest

from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.events import Flag
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
N = 256
SECTIONS = 9

# z: sections of N floats. Sections 2-6 and 8 start as w (copied from GM), so
# the instructions that read their destination read w there.
KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
constexpr int32_t N = 256, SECTIONS = 9;
extern "C" __global__ __aicore__ void fused(GM_ADDR x, GM_ADDR y, GM_ADDR w, GM_ADDR h,
                                            GM_ADDR p, GM_ADDR q, GM_ADDR z, GM_ADDR r) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bx, by, bz, bh, bp, bq, br;
    GlobalTensor<float> xGm, yGm, wGm, zGm;
    GlobalTensor<half> hGm;
    GlobalTensor<int16_t> pGm, qGm, rGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, N);
    yGm.SetGlobalBuffer((__gm__ float*)y, N);
    wGm.SetGlobalBuffer((__gm__ float*)w, N);
    hGm.SetGlobalBuffer((__gm__ half*)h, N);
    pGm.SetGlobalBuffer((__gm__ int16_t*)p, N);
    qGm.SetGlobalBuffer((__gm__ int16_t*)q, N);
    zGm.SetGlobalBuffer((__gm__ float*)z, SECTIONS * N);
    rGm.SetGlobalBuffer((__gm__ int16_t*)r, 3 * N);
    pipe.InitBuffer(bx, N * sizeof(float));
    pipe.InitBuffer(by, N * sizeof(float));
    pipe.InitBuffer(bz, SECTIONS * N * sizeof(float));
    pipe.InitBuffer(bh, N * sizeof(half));
    pipe.InitBuffer(bp, N * sizeof(int16_t));
    pipe.InitBuffer(bq, N * sizeof(int16_t));
    pipe.InitBuffer(br, 3 * N * sizeof(int16_t));
    LocalTensor<float> a = bx.Get<float>(), b = by.Get<float>(), o = bz.Get<float>();
    LocalTensor<half> hl = bh.Get<half>();
    LocalTensor<int16_t> pl = bp.Get<int16_t>(), ql = bq.Get<int16_t>(), rl = br.Get<int16_t>();
    DataCopy(a, xGm, N);
    DataCopy(b, yGm, N);
    DataCopy(hl, hGm, N);
    DataCopy(pl, pGm, N);
    DataCopy(ql, qGm, N);
    Duplicate(o, -1.0f, SECTIONS * N);
    for (int32_t s : {2, 3, 4, 5, 6, 8}) {
        DataCopy(o[s * N], wGm, N);
    }
    AddRelu(o, a, b, N);
    SubRelu(o[N], a, b, N);
    FusedMulAdd(o[2 * N], a, b, N);  // the event checked below
    MulAddDst(o[3 * N], a, b, N);
    FusedMulAddRelu(o[4 * N], a, b, N);
    Axpy(o[5 * N], a, 2.0f, N);
    FusedMulAdd(o[6 * N], a, b, 64, 2, {1, 1, 1, 8, 8, 8});
    AddRelu(o[7 * N], a, b, 32, 1, {1, 1, 1, 8, 8, 8});
    Axpy(o[8 * N], hl, (half)0.5f, N);
    And(rl, pl, ql, N);
    Or(rl[N], pl, ql, N);
    Not(rl[2 * N], pl, N);
    DataCopy(zGm, o, SECTIONS * N);
    DataCopy(rGm, rl, 3 * N);
}
"""


@pytest.fixture(scope="module")
def fused_run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("fused")
    source = folder / "fused.cpp"
    source.write_text(KERNEL)
    rng = np.random.default_rng(11)
    inputs = {
        "x": rng.uniform(-2, 2, N).astype(np.float32),
        "y": rng.uniform(-2, 2, N).astype(np.float32),
        "w": rng.uniform(-2, 2, N).astype(np.float32),
        "h": rng.uniform(-2, 2, N).astype(np.float16),
        "p": rng.integers(-(2**15), 2**15, N, dtype=np.int16),
        "q": rng.integers(-(2**15), 2**15, N, dtype=np.int16),
    }
    outputs = {"z": np.zeros(SECTIONS * N, np.float32), "r": np.zeros(3 * N, np.int16)}
    trace = folder / "fused.ubtrace"
    run = run_ascendc(source, "fused", 1, inputs, outputs, CHIP, trace)
    z = run.outputs["z"].reshape(SECTIONS, N)
    return inputs, z, run.outputs["r"].reshape(3, N), read_trace(trace).events


def relu(values: np.ndarray) -> np.ndarray:
    return np.maximum(values, np.float32(0))


def test_count_forms(fused_run) -> None:
    inputs, z, _, _ = fused_run
    x, y, w = inputs["x"], inputs["y"], inputs["w"]
    np.testing.assert_array_equal(z[0], relu(x + y))
    np.testing.assert_array_equal(z[1], relu(x - y))
    # FusedMulAdd: src0 * dst + src1; MulAddDst: src0 * src1 + dst (dst was w)
    np.testing.assert_allclose(z[2], x * w + y, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(z[3], x * y + w, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(z[4], relu(x * w + y), rtol=1e-6, atol=1e-6)
    # Axpy: src * scalar + dst
    np.testing.assert_allclose(z[5], x * np.float32(2) + w, rtol=1e-6, atol=1e-6)


def test_repeat_forms(fused_run) -> None:
    inputs, z, _, _ = fused_run
    x, y, w = inputs["x"], inputs["y"], inputs["w"]
    # mask 64, 2 repeats, dense (repeat stride 8 blocks = 64 floats): the first
    # 128 floats; the rest keeps w
    np.testing.assert_allclose(z[6][:128], x[:128] * w[:128] + y[:128], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(z[6][128:], w[128:])
    # mask 32, 1 repeat: 32 floats; the rest keeps Duplicate's -1
    np.testing.assert_array_equal(z[7][:32], relu(x[:32] + y[:32]))
    assert (z[7][32:] == -1).all()


def test_axpy_half_into_float(fused_run) -> None:
    inputs, z, _, _ = fused_run
    want = inputs["h"].astype(np.float32) * np.float32(0.5) + inputs["w"]
    np.testing.assert_allclose(z[8], want, rtol=1e-6, atol=1e-6)


def test_bitwise(fused_run) -> None:
    inputs, _, r, _ = fused_run
    p, q = inputs["p"], inputs["q"]
    np.testing.assert_array_equal(r[0], p & q)
    np.testing.assert_array_equal(r[1], p | q)
    np.testing.assert_array_equal(r[2], ~p)


def test_fused_mul_add_event(fused_run) -> None:
    events = fused_run[3]
    (event,) = events[events["name"] == "FusedMulAdd"].head(1).itertuples()
    # UB from 0: bx 1 KiB at 0, by 1 KiB at 1024, bz from 2048; o[2 * N] is
    # 2048 + 2 * 256 * 4 = 4096. Sources a (0) then b (1024), and the
    # destination read too: 4 x 1 KiB accessed, 1 KiB written, 256 FLOPs.
    assert (event.space, event.addr) == ("UB", 4096)
    assert (event.src_space, event.src_addr, event.arg2) == ("UB", 0, 1024)
    assert event.flags & Flag.SECOND_SOURCE
    assert (event.size, event.aligned_size, event.arg) == (4 * 1024, 1024, N)
