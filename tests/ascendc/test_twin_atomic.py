"""SetAtomicAdd / SetAtomicMax / SetAtomicMin / SetAtomicType / SetAtomicNone on
the CPU twin (Atlas A2): several cores adding their partials into one GM output
through DataCopy, DataCopyPad and Fixpipe, numerics against numpy oracles written
here, the state a setting of each core, and misuse stopping the run at its line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import line_of, stops_at, write_source
from ubscope.analyzers import analyze_path
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.events import Flag
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
N = 256

# Each core (block) copies its SUM_N elements of x in and adds them into z
# (SUM_N elements, shared by every core) with SetAtomicAdd<SUM_T>.
SUM = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void sum(GM_ADDR x, GM_ADDR z) {
    TPipe pipe;
    TBuf<TPosition::VECCALC> buf;
    GlobalTensor<SUM_T> xGm, zGm;
    xGm.SetGlobalBuffer((__gm__ SUM_T*)x + SUM_N * GetBlockIdx(), SUM_N);
    zGm.SetGlobalBuffer((__gm__ SUM_T*)z, SUM_N);
    pipe.InitBuffer(buf, SUM_N * sizeof(SUM_T));
    LocalTensor<SUM_T> t = buf.Get<SUM_T>();
    DataCopy(t, xGm, SUM_N);
    SetAtomicAdd<SUM_T>();
    DataCopy(zGm, t, SUM_N);
    SetAtomicNone();
}
"""


def run_sum(tmp_path: Path, ctype: str, x: np.ndarray, z: np.ndarray, blocks: int) -> np.ndarray:
    run = run_ascendc(
        write_source(tmp_path, "sum.cpp", SUM),
        "sum",
        blocks,
        {"x": x},
        {"z": z},
        CHIP,
        tmp_path / "sum.ubtrace",
        defines=(f"SUM_T={ctype}", f"SUM_N={N}"),
    )
    return run.outputs["z"]


# Integer-valued partials whose every running sum is exact in the type, so the
# result is the same whatever order the cores add in: half holds integers up to
# 2048 exactly and 5 terms of |v| <= 100 stay under 500; float: multiples of
# 1/8 under 5000 need 16 bits of its 24.
@pytest.mark.parametrize(
    ("dtype", "ctype", "bound", "scale"),
    [
        (np.float32, "float", 1000, 0.125),
        (np.float16, "half", 100, 1.0),
        (np.int32, "int32_t", 10**8, 1),
        (np.int16, "int16_t", 5000, 1),
        (np.int8, "int8_t", 20, 1),
    ],
)
def test_cores_add_their_partials_into_one_output(
    tmp_path: Path, dtype: type, ctype: str, bound: int, scale: float
) -> None:
    blocks = 4
    rng = np.random.default_rng(5)
    x = (rng.integers(-bound, bound + 1, (blocks, N)) * scale).astype(dtype)
    z0 = (rng.integers(-bound, bound + 1, N) * scale).astype(dtype)
    z = run_sum(tmp_path, ctype, x.reshape(-1), z0, blocks)
    # GM is not cleared: the sum starts from what z held.
    want = z0.astype(np.float64) + x.astype(np.float64).sum(axis=0)
    assert z.dtype == dtype
    np.testing.assert_array_equal(z.astype(np.float64), want)


def bf16_round(values: np.ndarray) -> np.ndarray:
    """The bfloat16 bits nearest each float64 value, ties to the even one: of the
    two bfloat16 values around it (the float32 bits cut to 16, and the next one
    up in magnitude), the closer; on a tie the one whose last bit is 0."""
    f32 = values.astype(np.float32)
    assert (f32.astype(np.float64) == values).all()  # exact in float32 here
    low = (f32.view(np.uint32) >> 16).astype(np.uint32)
    high = low + 1

    def value(bits: np.ndarray) -> np.ndarray:
        return (bits << 16).astype(np.uint32).view(np.float32).astype(np.float64)

    below, above = np.abs(values - value(low)), np.abs(value(high) - values)
    pick_high = (above < below) | ((above == below) & (low & 1 == 1))
    return np.where(pick_high, high, low).astype(np.uint16)


def bf16_bits(values: np.ndarray) -> np.ndarray:
    """Float values exact in bfloat16, as its bits."""
    bits = values.astype(np.float32).view(np.uint32)
    assert (bits & 0xFFFF == 0).all()
    return (bits >> 16).astype(np.uint16)


def test_half_sums_round_to_nearest_even(tmp_path: Path) -> None:
    # Two cores onto zeros: 0 + a = a exactly, so z = round(a + b) once, in
    # either order. a in [512, 1024) is a multiple of half's 0.5 step there; b a
    # multiple of 0.25 puts a quarter of the sums exactly between two halves
    # (ties, to even) and half of them a quarter step off.
    rng = np.random.default_rng(11)
    a = (rng.integers(1024, 2048, N) * 0.5).astype(np.float16)
    b = (rng.integers(-16, 17, N) * 0.25).astype(np.float16)
    exact = a.astype(np.float64) + b.astype(np.float64)
    z = run_sum(tmp_path, "half", np.concatenate([a, b]), np.zeros(N, np.float16), 2)
    # numpy rounds float64 to float16 to nearest even.
    np.testing.assert_array_equal(z, exact.astype(np.float16))
    ties = (exact * 4) % 2 == 1
    assert ties.sum() > 20 and (z.astype(np.float64) != exact).sum() > 20


def test_bfloat16_sums_round_to_nearest_even(tmp_path: Path) -> None:
    # As for half, in bfloat16 (8 significant bits): a in [128, 256) is an
    # integer (its step there is 1), b a multiple of 0.25, so a + b is exact in
    # float32 and often halfway between two bfloat16 values. GM holds the bits.
    rng = np.random.default_rng(12)
    a = rng.integers(128, 256, N).astype(np.float64)
    b = rng.integers(-16, 17, N) * 0.25
    x = np.concatenate([bf16_bits(a), bf16_bits(b)])
    z = run_sum(tmp_path, "bfloat16_t", x, np.zeros(N, np.uint16), 2)
    np.testing.assert_array_equal(z, bf16_round(a + b))
    assert (z != bf16_bits(a)).any()


def test_integer_sums_wrap(tmp_path: Path) -> None:
    # The pages give no saturation rule for integers: the twin wraps, modulo 2^8.
    x = np.full((2, N), 100, np.int8)
    z = run_sum(tmp_path, "int8_t", x.reshape(-1), np.full(N, 100, np.int8), 2)
    assert (z == np.int8(300 - 256)).all()


# Block 0 sets SetAtomicAdd and never clears it; block 1 copies before setting
# it (a core of its own: it must overwrite), then adds, then clears it with
# SetAtomicNone and with DisableDmaAtomic (each copy after them overwrites).
STATE = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void state(GM_ADDR x, GM_ADDR z, GM_ADDR w, GM_ADDR v, GM_ADDR u) {
    TPipe pipe;
    TBuf<TPosition::VECCALC> buf;
    GlobalTensor<float> xGm, zGm, wGm, vGm, uGm;
    xGm.SetGlobalBuffer((__gm__ float*)x + 64 * GetBlockIdx(), 64);
    zGm.SetGlobalBuffer((__gm__ float*)z, 64);
    wGm.SetGlobalBuffer((__gm__ float*)w, 64);
    vGm.SetGlobalBuffer((__gm__ float*)v, 64);
    uGm.SetGlobalBuffer((__gm__ float*)u, 64);
    pipe.InitBuffer(buf, 64 * sizeof(float));
    LocalTensor<float> t = buf.Get<float>();
    DataCopy(t, xGm, 64);
    if (GetBlockIdx() == 0) {
        SetAtomicAdd<float>();
        DataCopy(zGm, t, 64);
    } else {
        DataCopy(wGm, t, 64);  // plain
        SetAtomicAdd<float>();
        DataCopy(zGm, t, 64);  // atomic
        SetAtomicNone();
        DataCopy(vGm, t, 64);
        SetAtomicAdd<float>();
        DisableDmaAtomic();
        DataCopy(uGm, t, 64);
    }
}
"""


def test_state_is_per_core_and_cleared_by_set_atomic_none(tmp_path: Path) -> None:
    x = np.arange(128, dtype=np.float32).reshape(2, 64) + 1
    start = {name: np.full(64, 1000.0, np.float32) for name in "zwvu"}
    trace = tmp_path / "state.ubtrace"
    run = run_ascendc(
        write_source(tmp_path, "state.cpp", STATE), "state", 2, {"x": x}, start, CHIP, trace
    )
    out = run.outputs
    np.testing.assert_array_equal(out["z"], 1000 + x[0] + x[1])
    # Block 0's SetAtomicAdd is its own core's: block 1 overwrites until it sets its own.
    np.testing.assert_array_equal(out["w"], x[1])
    np.testing.assert_array_equal(out["v"], x[1])
    np.testing.assert_array_equal(out["u"], x[1])
    # The copies stay copy events, the atomic one moving what the plain one does,
    # flagged ATOMIC: both of block 1's stores to z and block 0's, not the others.
    events = read_trace(trace).events
    copies = events[(events.kind == "copy") & (events.space == "GM")]
    columns = ["size", "aligned_size", "burst_len", "burst_count", "src_space"]
    plain = copies[copies.tag == f"state.cpp:{line_of(STATE, '// plain')}"]
    atomic = copies[copies.tag == f"state.cpp:{line_of(STATE, '// atomic')}"]
    assert plain[columns].values.tolist() == atomic[columns].values.tolist()
    assert atomic[["size", "aligned_size", "burst_len", "burst_count"]].values.tolist() == [
        [256, 256, 256, 1]
    ]
    is_atomic = (copies["flags"] & int(Flag.ATOMIC)) != 0
    assert copies[is_atomic].tensor.tolist() == ["z", "z"]
    assert is_atomic.sum() == 2 and (~is_atomic).sum() == 3  # w, v, u
    # GM reads x (2 x 64 floats) and the z each atomic copy adds to (2 x 64
    # floats); it writes z twice and w, v, u once: 5 x 256 B.
    gm = analyze_path(trace).metrics["gm"]
    assert (gm["read_bytes"], gm["write_bytes"]) == (2 * 256 + 2 * 256, 5 * 256)


# Three cores add 3 rows of 20 floats (80 B, not whole 32 B blocks) into z
# with DataCopyPad, GM rows 96 B (24 floats) apart: the 4 floats between rows
# and the UB rows' padding (paddingValue 500 up to 96 B) are never added.
PAD = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void pad(GM_ADDR x, GM_ADDR z) {
    TPipe pipe;
    TBuf<TPosition::VECCALC> buf;
    GlobalTensor<float> xGm, zGm;
    xGm.SetGlobalBuffer((__gm__ float*)x + 60 * GetBlockIdx(), 60);
    zGm.SetGlobalBuffer((__gm__ float*)z, 72);
    pipe.InitBuffer(buf, 3 * 96);
    LocalTensor<float> t = buf.Get<float>();
    DataCopyPad(t, xGm, DataCopyExtParams(3, 80, 0, 0), DataCopyPadExtParams<float>(true, 0, 0, 500.0f));
    SetAtomicAdd<float>();
    DataCopyPad(zGm, t, DataCopyExtParams(3, 80, 0, 16));
    SetAtomicNone();
}
"""


def test_datacopypad_adds_exactly_its_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(-50, 51, (3, 3, 20)).astype(np.float32)  # core, row, element
    z0 = rng.integers(-50, 51, (3, 24)).astype(np.float32)
    run = run_ascendc(write_source(tmp_path, "pad.cpp", PAD), "pad", 3, {"x": x}, {"z": z0}, CHIP)
    want = z0.copy()
    want[:, :20] += x.sum(axis=0)  # small integers: exact in any order
    np.testing.assert_array_equal(run.outputs["z"].reshape(3, 24), want)


# SetAtomicMax<half> on one output; on the other SetAtomicMin<int8_t> then
# SetAtomicType<half>, as the SetAtomicType page's example does: the minimum in half.
MAX_MIN = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void maxmin(GM_ADDR x, GM_ADDR hi, GM_ADDR lo) {
    TPipe pipe;
    TBuf<TPosition::VECCALC> buf;
    GlobalTensor<half> xGm, hiGm, loGm;
    xGm.SetGlobalBuffer((__gm__ half*)x + 128 * GetBlockIdx(), 128);
    hiGm.SetGlobalBuffer((__gm__ half*)hi, 128);
    loGm.SetGlobalBuffer((__gm__ half*)lo, 128);
    pipe.InitBuffer(buf, 128 * sizeof(half));
    LocalTensor<half> t = buf.Get<half>();
    DataCopy(t, xGm, 128);
    SetAtomicMax<half>();
    DataCopy(hiGm, t, 128);
    SetAtomicMin<int8_t>();
    SetAtomicType<half>();
    DataCopy(loGm, t, 128);
    SetAtomicNone();
}
"""


def test_atomic_max_and_min_across_cores(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 128)).astype(np.float16) * 100
    start = rng.standard_normal((2, 128)).astype(np.float16) * 100
    run = run_ascendc(
        write_source(tmp_path, "maxmin.cpp", MAX_MIN),
        "maxmin",
        3,
        {"x": x},
        {"hi": start[0], "lo": start[1]},
        CHIP,
    )
    np.testing.assert_array_equal(run.outputs["hi"], np.maximum(start[0], x.max(axis=0)))
    # Had SetAtomicType not changed the type, the halves' bytes would have been
    # compared as int8_t, byte by byte, giving other bits.
    np.testing.assert_array_equal(run.outputs["lo"], np.minimum(start[1], x.min(axis=0)))


# Unsigned counters added as int32_t: the bytes moved are taken as elements of
# the atomic type, whatever the copy's element type.
UNSIGNED = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void counts(GM_ADDR x, GM_ADDR z) {
    TPipe pipe;
    TBuf<TPosition::VECCALC> buf;
    GlobalTensor<uint32_t> xGm, zGm;
    xGm.SetGlobalBuffer((__gm__ uint32_t*)x + 64 * GetBlockIdx(), 64);
    zGm.SetGlobalBuffer((__gm__ uint32_t*)z, 64);
    pipe.InitBuffer(buf, 64 * sizeof(uint32_t));
    LocalTensor<uint32_t> t = buf.Get<uint32_t>();
    DataCopy(t, xGm, 64);
    SetAtomicAdd<int32_t>();
    DataCopy(zGm, t, 64);
    SetAtomicNone();
}
"""


def test_copy_of_another_element_type_adds_in_the_atomic_type(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    x = rng.integers(0, 2**32, (2, 64), dtype=np.uint64).astype(np.uint32)
    z0 = rng.integers(0, 2**32, 64, dtype=np.uint64).astype(np.uint32)
    run = run_ascendc(
        write_source(tmp_path, "counts.cpp", UNSIGNED), "counts", 2, {"x": x}, {"z": z0}, CHIP
    )
    # Two's complement int32 addition wraps to the same bits as uint32's.
    want = (z0.astype(np.uint64) + x.astype(np.uint64).sum(axis=0)) % 2**32
    np.testing.assert_array_equal(run.outputs["z"], want.astype(np.uint32))


# Split-K matmul on 910B AICs: c[32, 32] = a[32, 64] @ b[64, 32], block kb
# taking k in [32 kb, 32 kb + 32), each AIC adding its fp32 partial into c with
# SetAtomicAdd<float> and Fixpipe (L0C -> GM).
SPLIT_K = """\
#include "kernel_operator.h"
using namespace AscendC;
constexpr uint16_t M = 32, K = 64, KB = 32, N = 32;
extern "C" __global__ __aicore__ void splitk(GM_ADDR a, GM_ADDR b, GM_ADDR c) {
    KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIC_ONLY);
    TPipe pipe;
    TQue<QuePosition::A1, 1> qa1;
    TQue<QuePosition::B1, 1> qb1;
    TQue<QuePosition::A2, 1> qa2;
    TQue<QuePosition::B2, 1> qb2;
    TQue<QuePosition::CO1, 1> qc1;
    pipe.InitBuffer(qa1, 1, M * KB * sizeof(half));
    pipe.InitBuffer(qb1, 1, KB * N * sizeof(half));
    pipe.InitBuffer(qa2, 1, M * KB * sizeof(half));
    pipe.InitBuffer(qb2, 1, KB * N * sizeof(half));
    pipe.InitBuffer(qc1, 1, M * N * sizeof(float));
    const int64_t kb = GetBlockIdx();
    GlobalTensor<half> aGm, bGm;
    GlobalTensor<float> cGm;
    aGm.SetGlobalBuffer((__gm__ half*)a, M * K);
    bGm.SetGlobalBuffer((__gm__ half*)b, K * N);
    cGm.SetGlobalBuffer((__gm__ float*)c, M * N);
    LocalTensor<half> a1 = qa1.AllocTensor<half>();
    LocalTensor<half> b1 = qb1.AllocTensor<half>();
    DataCopy(a1, aGm[kb * KB], Nd2NzParams(1, M, KB, 0, K, M, 1, 0));
    DataCopy(b1, bGm[kb * KB * N], Nd2NzParams(1, KB, N, 0, N, KB, 1, 0));
    LocalTensor<half> a2 = qa2.AllocTensor<half>();
    for (int i = 0; i < M / 16; ++i) {
        LoadData2dParams p;
        p.repeatTimes = KB / 16;
        p.srcStride = M / 16;
        LoadData(a2[i * 16 * KB], a1[i * 256], p);
    }
    LocalTensor<half> b2 = qb2.AllocTensor<half>();
    for (int j = 0; j < KB / 16; ++j) {
        LoadData2dParams p;
        p.repeatTimes = N / 16;
        p.srcStride = KB / 16;
        p.ifTranspose = true;
        LoadData(b2[j * 16 * N], b1[j * 256], p);
    }
    LocalTensor<float> c1 = qc1.AllocTensor<float>();
    MmadParams mp;
    mp.m = M;
    mp.n = N;
    mp.k = KB;
    Mmad(c1, a2, b2, mp);
    FixpipeParamsV220 fp;
    fp.nSize = N;
    fp.mSize = M;
    fp.srcStride = M;
    fp.dstStride = N;
    SetAtomicAdd<float>();
    Fixpipe(cGm, c1, fp);
    SetAtomicNone();
    qa1.FreeTensor(a1);
    qb1.FreeTensor(b1);
    qa2.FreeTensor(a2);
    qb2.FreeTensor(b2);
    qc1.FreeTensor(c1);
}
"""


def test_split_k_matmul_adds_each_cores_fixpipe(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    a = rng.integers(-8, 9, (32, 64)).astype(np.float16)
    b = rng.integers(-8, 9, (64, 32)).astype(np.float16)
    bias = rng.integers(-100, 101, (32, 32)).astype(np.float32)
    trace = tmp_path / "splitk.ubtrace"
    run = run_ascendc(
        write_source(tmp_path, "splitk.cpp", SPLIT_K),
        "splitk",
        2,
        {"a": a, "b": b},
        {"c": bias},
        load_chip("Ascend910B2"),
        trace,
    )
    # Integers: every partial sum (|.| <= 64 * 64 + 100) is exact in fp32.
    want = bias.astype(np.float64) + a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_array_equal(run.outputs["c"], want)
    # each core's Fixpipe of its 32 x 32 floats is flagged ATOMIC
    events = read_trace(trace).events
    fixpipes = events[(events.kind == "copy") & (events.src_space == "L0C")]
    assert fixpipes.space.tolist() == ["GM", "GM"]
    assert ((fixpipes["flags"] & int(Flag.ATOMIC)) != 0).all()


# A mix block: the AIC sets SetAtomicAdd and waits; its AIVs, which run while
# it waits, copy to GM with their own (clear) state, so they overwrite.
MIX = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void mixed(GM_ADDR x, GM_ADDR z) {
    KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_MIX_AIC_1_2);
    TPipe pipe;
    if ASCEND_IS_AIC {
        SetAtomicAdd<float>();
        CrossCoreSetFlag<2, PIPE_S>(1);
        CrossCoreWaitFlag(2);
    }
    if ASCEND_IS_AIV {
        CrossCoreWaitFlag(1);
        TBuf<TPosition::VECCALC> buf;
        GlobalTensor<float> xGm, zGm;
        xGm.SetGlobalBuffer((__gm__ float*)x + 64 * GetBlockIdx(), 64);
        zGm.SetGlobalBuffer((__gm__ float*)z + 64 * GetBlockIdx(), 64);
        pipe.InitBuffer(buf, 64 * sizeof(float));
        LocalTensor<float> t = buf.Get<float>();
        DataCopy(t, xGm, 64);
        DataCopy(zGm, t, 64);
        CrossCoreSetFlag<2, PIPE_MTE3>(2);
    }
}
"""


def test_aic_state_does_not_reach_its_aivs(tmp_path: Path) -> None:
    x = np.arange(128, dtype=np.float32) + 1
    run = run_ascendc(
        write_source(tmp_path, "mixed.cpp", MIX),
        "mixed",
        1,
        {"x": x},
        {"z": np.full(128, 1000.0, np.float32)},
        load_chip("Ascend910B2"),
    )
    np.testing.assert_array_equal(run.outputs["z"], x)


MISUSE = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void misuse(GM_ADDR z) {
    TPipe pipe;
    TBuf<TPosition::VECCALC> buf;
    GlobalTensor<half> zGm;
    zGm.SetGlobalBuffer((__gm__ half*)z, 16);
    pipe.InitBuffer(buf, 32);
    LocalTensor<half> t = buf.Get<half>();
    Duplicate(t, half(1.0f), 16);
#if defined(UNSIGNED)
    SetAtomicAdd<uint32_t>();
#elif defined(DOUBLE)
    SetAtomicMax<double>();
#else
    SetAtomicAdd<float>();
#endif
    DataCopyPad(zGm, t, DataCopyExtParams(1, 6, 0, 0));
}
"""


@pytest.mark.parametrize(
    ("define", "marker", "problem"),
    [
        (
            "UNSIGNED",
            "SetAtomicAdd<uint32_t>",
            "SetAtomicAdd<uint32_t>: the atomic type must be int8_t, int16_t, half, bfloat16_t, "
            "int32_t or float on Atlas A2",
        ),
        (
            "DOUBLE",
            "SetAtomicMax<double>",
            "SetAtomicMax<double>: the atomic type must be int8_t, int16_t, half, bfloat16_t, "
            "int32_t or float on Atlas A2",
        ),
        (
            "PARTIAL",
            "DataCopyPad(zGm",
            "a copy to GM under SetAtomicAdd<float> moves bursts of 6 B, not a whole number of "
            "4 B elements",
        ),
    ],
)
def test_misuse_stops_at_its_line(tmp_path: Path, define: str, marker: str, problem: str) -> None:
    source = write_source(tmp_path, "misuse.cpp", MISUSE)
    z = np.zeros(16, np.float16)
    with stops_at("misuse.cpp", MISUSE, marker, problem):
        run_ascendc(source, "misuse", 1, {}, {"z": z}, CHIP, defines=(define,))
