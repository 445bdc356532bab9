"""The repeat forms of Cast, Compare/Compares and Select (and SetCmpMask with
Select in VSEL_CMPMASK_SPR mode): masks, repeats and strides against numpy
oracles built here from the documented semantics, and a Cast's event sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import line_of, stops_at
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
N, SECTIONS = 256, 9

# z holds sections of N floats, -1 first, so lanes outside a mask show.
KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
constexpr int32_t N = 256, SECTIONS = 9;
extern "C" __global__ __aicore__ void cmpsel(GM_ADDR x, GM_ADDR y, GM_ADDR z) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bx, by, bh, bz;
    GlobalTensor<float> xGm, yGm, zGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, N);
    yGm.SetGlobalBuffer((__gm__ float*)y, N);
    zGm.SetGlobalBuffer((__gm__ float*)z, SECTIONS * N);
    pipe.InitBuffer(bx, N * sizeof(float));
    pipe.InitBuffer(by, N * sizeof(float));
    pipe.InitBuffer(bh, N * sizeof(half));
    pipe.InitBuffer(bz, SECTIONS * N * sizeof(float));
    LocalTensor<float> a = bx.Get<float>(), b = by.Get<float>(), o = bz.Get<float>();
    LocalTensor<half> h = bh.Get<half>();
    DataCopy(a, xGm, N);
    DataCopy(b, yGm, N);
    Duplicate(o, -1.0f, SECTIONS * N);
    Cast(h, a, RoundMode::CAST_RINT, N);
    Cast(o.ReinterpretCast<int32_t>(), a, RoundMode::CAST_ROUND, 40, 2, {1, 1, 8, 8});
    Cast(o[N], h, RoundMode::CAST_NONE, 64, 2, {1, 1, 8, 4});
    uint64_t bits[2] = {0xFFFF00FFull, 0};
    Cast(o[2 * N].ReinterpretCast<half>(), a, RoundMode::CAST_TRUNC, bits, 1, {2, 1, 8, 8});
    LocalTensor<uint8_t> lt = o[3 * N].ReinterpretCast<uint8_t>();
    LocalTensor<uint8_t> ge = o[4 * N].ReinterpretCast<uint8_t>();
    Compare(lt, a, b, CMPMODE::LT, 48, 2, {1, 1, 2, 8, 8, 16});
    Compares(ge, a, 1.0f, CMPMODE::GE, 64, 4, {1, 1, 8, 8});
    Select(o[5 * N], lt, a, b, SELMODE::VSEL_TENSOR_TENSOR_MODE, 64, 2, {1, 1, 1, 8, 8, 8});
    Select(o[6 * N], ge, a, 0.0f, SELMODE::VSEL_TENSOR_SCALAR_MODE, 32, 3, {1, 1, 1, 8, 8, 8});
    Select(o[7 * N], ge, a, b, SELMODE::VSEL_CMPMASK_SPR, 64, 3, {1, 1, 1, 8, 8, 8});
    SetCmpMask(lt);
    PipeBarrier<PIPE_V>();
    SetVectorMask<float>(0, 0xFFFF0000FFFFull);
    Select<float, SELMODE::VSEL_CMPMASK_SPR>(o[8 * N], a, b, 2, {1, 1, 1, 8, 8, 8});
#ifdef BAD_CAST_MASK
    Cast(o[N], h, RoundMode::CAST_NONE, 128, 1, {1, 1, 8, 4});
#endif
#ifdef BAD_SELECT_MODE
    Select(o[5 * N], lt, a, b, SELMODE::VSEL_TENSOR_SCALAR_MODE, 64, 1, {1, 1, 1, 8, 8, 8});
#endif
    DataCopy(zGm, o, SECTIONS * N);
}
"""


def bit(bits: np.ndarray, index: int) -> bool:
    return bool((bits[index // 8] >> (index % 8)) & 1)


@pytest.fixture(scope="module")
def cmpsel_run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("cmpsel")
    source = folder / "cmpsel.cpp"
    source.write_text(KERNEL)
    # Quarter steps from -20: ties for CAST_ROUND, every value exact in half.
    x = (np.arange(N, dtype=np.float32) * 0.25 - 20).astype(np.float32)
    y = np.random.default_rng(3).uniform(-20, 44, N).astype(np.float32)
    z = np.zeros(SECTIONS * N, np.float32)
    trace = folder / "cmpsel.ubtrace"
    done = run_ascendc(source, "cmpsel", 1, {"x": x, "y": y}, {"z": z}, CHIP, trace)
    return x, y, done.outputs["z"].reshape(SECTIONS, N), trace


def section_bytes(z: np.ndarray, index: int) -> np.ndarray:
    return z[index].view(np.uint8)


def test_cast_repeat_forms_round_mask_and_stride(cmpsel_run) -> None:
    x, _, z, _ = cmpsel_run
    rounded = np.full(N, -1, np.float32)
    as_int = rounded.view(np.int32)
    for repeat in range(2):
        lanes = slice(repeat * 64, repeat * 64 + 40)
        as_int[lanes] = (np.sign(x[lanes]) * np.floor(np.abs(x[lanes]) + 0.5)).astype(np.int32)
    np.testing.assert_array_equal(z[0].view(np.int32), as_int)
    # half -> float: 64 lanes a repeat, the half source 4 blocks (128 B) a repeat.
    np.testing.assert_array_equal(z[1][:128], x[:128].astype(np.float16).astype(np.float32))
    assert (z[1][128:] == -1).all()
    # float -> half, lanes 0-7 and 16-31, the half destination's blocks 2 apart.
    halves = z[2].view(np.float16)
    for lane in [*range(8), *range(16, 32)]:
        assert halves[lane // 16 * 32 + lane % 16] == np.float16(x[lane])
    assert halves[8] == np.full(1, -1, np.float32).view(np.float16)[0]


def test_compare_repeat_forms_write_lanes_bits_per_repeat(cmpsel_run) -> None:
    x, y, z, _ = cmpsel_run
    lt = np.full(N, -1, np.float32).view(np.uint8).copy()
    for repeat in range(2):
        for lane in range(48):
            other = y[repeat * 16 * 8 + lane // 8 * 2 * 8 + lane % 8]
            index = repeat * 64 + lane
            if x[repeat * 64 + lane] < other:
                lt[index // 8] |= 1 << (index % 8)
            else:
                lt[index // 8] &= ~np.uint8(1 << (index % 8))
    np.testing.assert_array_equal(section_bytes(z, 3), lt)
    ge = np.packbits(x >= 1.0, bitorder="little")
    np.testing.assert_array_equal(section_bytes(z, 4)[:32], ge)


def test_select_repeat_forms_by_mode(cmpsel_run) -> None:
    x, y, z, _ = cmpsel_run
    lt, ge = section_bytes(z, 3), section_bytes(z, 4)
    tensor_mode = [x[i] if bit(lt, i) else y[i] for i in range(128)]
    np.testing.assert_array_equal(z[5][:128], tensor_mode)
    scalar_mode = z[6].copy()
    for repeat in range(3):
        for lane in range(32):
            i = repeat * 64 + lane
            scalar_mode[i] = x[i] if bit(ge, i) else 0.0
    np.testing.assert_array_equal(z[6], scalar_mode)
    assert z[6][32] == -1.0
    # VSEL_CMPMASK_SPR: the same first 64 bits every repeat.
    same_bits = [x[i] if bit(ge, i % 64) else y[i] for i in range(192)]
    np.testing.assert_array_equal(z[7][:192], same_bits)
    # SetCmpMask(lt) then Select without selMask, lanes 0-15 and 32-47.
    expected = np.full(N, -1, np.float32)
    for repeat in range(2):
        for lane in [*range(16), *range(32, 48)]:
            i = repeat * 64 + lane
            expected[i] = x[i] if bit(lt, lane) else y[i]
    np.testing.assert_array_equal(z[8], expected)


def test_cast_repeat_event_spans_each_operand(cmpsel_run) -> None:
    *_, trace = cmpsel_run
    events = read_trace(trace).events
    cast_line = line_of(KERNEL, "Cast(o[N], h, RoundMode::CAST_NONE, 64, 2")
    cast = events[events.tag == f"cmpsel.cpp:{cast_line}"]
    # dst: 2 repeats x 256 B of floats; src: 2 repeats of 64 halves, 4 blocks apart.
    assert list(cast["size"]) == [512 + 256] and list(cast["aligned_size"]) == [512]


def test_select_event_names_its_three_sources(cmpsel_run) -> None:
    *_, trace = cmpsel_run
    events = read_trace(trace).events
    (select,) = events[
        events.tag == f"cmpsel.cpp:{line_of(KERNEL, 'VSEL_TENSOR_TENSOR_MODE, 64, 2')}"
    ].itertuples()
    # InitBuffer places the buffers one after another from UB 0: bx (a) at 0,
    # by (b) at N * 4 = 1024, bh at 2048, bz (o) at 2048 + N * 2 = 2560, so lt =
    # o[3 * N] is at 2560 + 3 * N * 4 = 5632. The repeat form reads src0 (a),
    # then selMask (lt), then src1 (b): b is read only by this Select.
    assert (select.src_space, select.src_addr, select.arg2, select.burst_len) == (
        "UB",
        0,
        5632,
        1024,
    )
    assert select.flags & 65536 and select.flags & 131072  # SECOND_ and THIRD_SOURCE


@pytest.mark.parametrize(
    ("define", "call", "problem"),
    [
        ("BAD_CAST_MASK", "Cast(o[N], h, RoundMode::CAST_NONE, 128", "mask 128 outside 1..64"),
        ("BAD_SELECT_MODE", "VSEL_TENSOR_SCALAR_MODE, 64, 1", "Select with a second tensor needs"),
    ],
)
def test_bad_repeat_form_stops_at_its_line(
    tmp_path: Path, define: str, call: str, problem: str
) -> None:
    source = tmp_path / "cmpsel.cpp"
    source.write_text(KERNEL)
    x = y = np.ones(N, np.float32)
    with stops_at("cmpsel.cpp", KERNEL, call, problem):
        run_ascendc(
            source,
            "cmpsel",
            1,
            {"x": x, "y": y},
            {"z": np.zeros(SECTIONS * N, np.float32)},
            CHIP,
            defines=(define,),
        )


# A mix block whose two AIVs interleave: each sets its own comparison mask,
# then waits for the AIC, which runs only once both have set theirs; so AIV 1's
# SetCmpMask runs between AIV 0's SetCmpMask and AIV 0's Select.
TWO_AIVS = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void twoaivs(GM_ADDR bits, GM_ADDR a, GM_ADDR b, GM_ADDR z) {
    KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_MIX_AIC_1_2);
    TPipe pipe;
    if ASCEND_IS_AIC {
        CrossCoreWaitFlag(1);
        CrossCoreSetFlag<2, PIPE_S>(2);
    }
    if ASCEND_IS_AIV {
        const int32_t core = GetBlockIdx();
        TBuf<TPosition::VECCALC> bm, ba, bb, bo;
        GlobalTensor<uint8_t> bitsGm;
        GlobalTensor<float> aGm, bGm, zGm;
        bitsGm.SetGlobalBuffer((__gm__ uint8_t*)bits + 32 * core, 32);
        aGm.SetGlobalBuffer((__gm__ float*)a, 64);
        bGm.SetGlobalBuffer((__gm__ float*)b, 64);
        zGm.SetGlobalBuffer((__gm__ float*)z + 64 * core, 64);
        pipe.InitBuffer(bm, 32);
        pipe.InitBuffer(ba, 64 * sizeof(float));
        pipe.InitBuffer(bb, 64 * sizeof(float));
        pipe.InitBuffer(bo, 64 * sizeof(float));
        LocalTensor<uint8_t> m = bm.Get<uint8_t>();
        LocalTensor<float> x = ba.Get<float>(), y = bb.Get<float>(), o = bo.Get<float>();
        DataCopy(m, bitsGm, 32);
        DataCopy(x, aGm, 64);
        DataCopy(y, bGm, 64);
        SetCmpMask(m);
        CrossCoreSetFlag<2, PIPE_S>(1);
        CrossCoreWaitFlag(2);
        Select<float, SELMODE::VSEL_CMPMASK_SPR>(o, x, y, 1, {1, 1, 1, 8, 8, 8});
        DataCopy(zGm, o, 64);
    }
}
"""


def test_each_aiv_selects_with_its_own_comparison_mask(tmp_path: Path) -> None:
    # Select in VSEL_CMPMASK_SPR mode takes a where bit i of the core's mask is
    # set, else b, for the 64 float lanes of one repeat (the full vector mask).
    # AIV 0's bits pick a in lanes 0-31, AIV 1's in lanes 32-63: if AIV 1's
    # SetCmpMask reached AIV 0, AIV 0 would select as AIV 1 does.
    bits = np.zeros((2, 32), np.uint8)
    bits[0, 0:4] = 0xFF
    bits[1, 4:8] = 0xFF
    a = np.arange(64, dtype=np.float32) + 1
    b = -a
    source = tmp_path / "twoaivs.cpp"
    source.write_text(TWO_AIVS)
    run = run_ascendc(
        source,
        "twoaivs",
        1,
        {"bits": bits.reshape(-1), "a": a, "b": b},
        {"z": np.zeros(128, np.float32)},
        load_chip("Ascend910B2"),
    )
    lanes = np.arange(64)
    z = run.outputs["z"].reshape(2, 64)
    np.testing.assert_array_equal(z[0], np.where(lanes < 32, a, b))
    np.testing.assert_array_equal(z[1], np.where(lanes >= 32, a, b))
