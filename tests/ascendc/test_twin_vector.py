"""The twin's vector API beyond the count form: masks, repeats and strides,
RoundMode casts, Compare/Select, the repeat reductions and Brcb. Numerics are
checked against numpy (each expected array built here from the documented
semantics); events against figures worked out by hand."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import stops_at
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.events import Flag
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")

# One kernel for all float checks (one compile): x, y are 256 floats; z holds
# sections of 256 floats, filled with -1 first so untouched lanes show.
KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
constexpr int32_t N = 256, SECTIONS = 12;
extern "C" __global__ __aicore__ void vec(GM_ADDR x, GM_ADDR y, GM_ADDR z) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bx, by, bz;
    GlobalTensor<float> xGm, yGm, zGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, N);
    yGm.SetGlobalBuffer((__gm__ float*)y, N);
    zGm.SetGlobalBuffer((__gm__ float*)z, SECTIONS * N);
    pipe.InitBuffer(bx, N * sizeof(float));
    pipe.InitBuffer(by, N * sizeof(float));
    pipe.InitBuffer(bz, SECTIONS * N * sizeof(float));
    LocalTensor<float> a = bx.Get<float>(), b = by.Get<float>(), o = bz.Get<float>();
    DataCopy(a, xGm, N);
    DataCopy(b, yGm, N);
    Duplicate(o, -1.0f, SECTIONS * N);
    Add(o, a, b, 40, 2, {2, 1, 1, 16, 8, 8});
    uint64_t bits[2] = {0xF0F0F0F00000FFFFull, 0};
    Muls(o[N], a, 3.0f, bits, 2, {1, 2, 8, 16});
    Exp(o[2 * N], a, 64, 1, {1, 1, 8, 8});
    Duplicate(o[3 * N], 5.0f, 20, 2, 1, 4);
    WholeReduceSum(o[4 * N], a, 64, 4, 1, 1, 8);
    WholeReduceMax(o[4 * N + 8], a, 32, 2, 1, 1, 8);
    BlockReduceSum(o[4 * N + 16], a, 2, 64, 1, 1, 8);
    WholeReduceMin(o[4 * N + 40], a, 64, 2, 1, 1, 8, ReduceOrder::ORDER_ONLY_INDEX);
    Brcb(o[5 * N], a, 2, {1, 8});
    LocalTensor<uint8_t> lt = o[6 * N].ReinterpretCast<uint8_t>();
    LocalTensor<uint8_t> ge = o[6 * N + 64].ReinterpretCast<uint8_t>();
    Compare(lt, a, b, CMPMODE::LT, N);
    Compares(ge, a, 1.0f, CMPMODE::GE, N);
    Select(o[7 * N], lt, a, b, SELMODE::VSEL_TENSOR_TENSOR_MODE, N);
    Select(o[8 * N], ge, a, 0.0f, SELMODE::VSEL_TENSOR_SCALAR_MODE, N);
    Add(o[9 * N + 8], o[9 * N], a, 64, 1, {1, 1, 1, 8, 8, 8});
    Add(o[10 * N], o[10 * N], a, 64, 1, {1, 1, 1, 8, 8, 8});
    SetVectorMask<float>(0, 0xFF00FF);
    Adds<float, false>(o[11 * N], a, 1.0f, MASK_PLACEHOLDER, 2, {1, 1, 8, 8});
    DataCopy(zGm, o, SECTIONS * N);
}
"""


def strided_index(lane: int, repeat: int, block_stride: int, repeat_stride: int) -> int:
    """Element index of a float lane: 8 floats per 32 B block, strides in blocks."""
    return repeat * repeat_stride * 8 + lane // 8 * block_stride * 8 + lane % 8


def mask_lanes(words: tuple[int, int]) -> list[int]:
    return [lane for lane in range(128) if (words[lane // 64] >> (lane % 64)) & 1]


@pytest.fixture(scope="module")
def vector_run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("vector")
    source = folder / "vec.cpp"
    source.write_text(KERNEL)
    rng = np.random.default_rng(7)
    x = rng.uniform(0.1, 2.0, 256).astype(np.float32)
    y = rng.uniform(0.1, 2.0, 256).astype(np.float32)
    trace = folder / "vec.ubtrace"
    run = run_ascendc(
        source, "vec", 1, {"x": x, "y": y}, {"z": np.zeros(12 * 256, np.float32)}, CHIP, trace
    )
    return x, y, run.outputs["z"].reshape(12, 256), read_trace(trace).events


def test_continuous_mask_repeats_and_strides(vector_run) -> None:
    x, y, z, _ = vector_run
    # Add, mask 40, 2 repeats, dst blocks 2 apart and repeats 16 blocks apart;
    # the sources are dense (block stride 1, repeat stride 8 = 256 B).
    want = np.full(256, -1.0, np.float32)
    for repeat in range(2):
        for lane in range(40):
            src = strided_index(lane, repeat, 1, 8)
            want[strided_index(lane, repeat, 2, 16)] = x[src] + y[src]
    np.testing.assert_array_equal(z[0], want)


def test_bit_mask_and_unary_strides(vector_run) -> None:
    x, _, z, _ = vector_run
    # Muls with mask[0] = 0xF0F0F0F00000FFFF: lanes 0-15 and the high nibble of
    # each byte of the top 32 bits; src blocks 2 apart, src repeats 16 blocks.
    lanes = mask_lanes((0xF0F0F0F00000FFFF, 0))
    assert len(lanes) == 32
    want = np.full(256, -1.0, np.float32)
    for repeat in range(2):
        for lane in lanes:
            want[strided_index(lane, repeat, 1, 8)] = x[strided_index(lane, repeat, 2, 16)] * 3
    np.testing.assert_array_equal(z[1], want)
    np.testing.assert_allclose(z[2][:64], np.exp(x[:64]), rtol=1e-6)
    assert (z[2][64:] == -1).all()


def test_duplicate_repeat_form(vector_run) -> None:
    _, _, z, _ = vector_run
    # 20 lanes per repeat, 2 repeats 4 blocks (32 floats) apart: 0-19 and 32-51.
    want = np.full(256, -1.0, np.float32)
    want[0:20] = 5
    want[32:52] = 5
    np.testing.assert_array_equal(z[3], want)


def test_repeat_reductions_and_brcb(vector_run) -> None:
    x, _, z, _ = vector_run
    reductions = z[4]
    # WholeReduceSum: one sum of 64 lanes per repeat, results 1 apart.
    np.testing.assert_allclose(reductions[:4], x.reshape(4, 64).sum(axis=1), rtol=1e-6)
    # WholeReduceMax, mask 32, 2 repeats: (value, index as uint32 bits) pairs.
    for repeat in range(2):
        chunk = x[repeat * 64 : repeat * 64 + 32]
        assert reductions[8 + 2 * repeat] == chunk.max()
        assert (
            reductions[8 + 2 * repeat + 1 : 8 + 2 * repeat + 2].view(np.uint32)[0] == chunk.argmax()
        )
    # WholeReduceMin, ORDER_ONLY_INDEX: uint32 indices, one per repeat, 4 B apart.
    assert list(reductions[40:42].view(np.uint32)) == [x[:64].argmin(), x[64:128].argmin()]
    # BlockReduceSum: one sum per 8-float block, 8 per repeat, 2 repeats.
    np.testing.assert_allclose(reductions[16:32], x[:128].reshape(16, 8).sum(axis=1), rtol=1e-6)
    # Brcb: each of 16 source floats fills one 32 B block (8 floats).
    np.testing.assert_array_equal(z[5][:128], np.repeat(x[:16], 8))


def test_compare_and_select(vector_run) -> None:
    x, y, z, _ = vector_run
    lt = z[6][:8].view(np.uint8)  # 256 bits = 32 B, little-endian within each byte
    np.testing.assert_array_equal(np.unpackbits(lt, bitorder="little").astype(bool), x < y)
    ge = z[6][64:72].view(np.uint8)
    np.testing.assert_array_equal(np.unpackbits(ge, bitorder="little").astype(bool), x >= 1)
    np.testing.assert_array_equal(z[7], np.where(x < y, x, y))
    np.testing.assert_array_equal(z[8], np.where(x >= 1, x, 0).astype(np.float32))


def test_set_vector_mask_serves_calls_with_mask_placeholder(vector_run) -> None:
    x, _, z, _ = vector_run
    # SetVectorMask<float>(high 0, low 0xFF00FF): lanes 0-7 and 16-23 of each
    # repeat; Adds<float, false> takes that register mask, over 2 dense repeats.
    want = np.full(256, -1.0, np.float32)
    for repeat in range(2):
        lanes = np.r_[0:8, 16:24] + 64 * repeat
        want[lanes] = x[lanes] + 1
    np.testing.assert_array_equal(z[11], want)


def test_repeat_form_events_and_partial_overlap(vector_run) -> None:
    _, _, _, frame = vector_run
    adds = frame[(frame.kind == "compute") & (frame["name"] == "Add")]
    first = adds.iloc[0]
    # Destination span: last lane 39 of repeat 1 at 1*16*32 + (39//8)*2*32 + (39%8)*4
    # = 512 + 256 + 28 bytes, +4 = 800 B; each source: 256 + 128 + 28 + 4 = 416 B.
    # Two repeats of 64 lanes are charged: arg = 128.
    assert (first["aligned_size"], first["size"], first["arg"]) == (800, 800 + 2 * 416, 128)
    assert first["tag"] == "vec.cpp:18"
    # dst 32 B past its source (a partial overlap) is flagged; dst == src is not.
    shifted, in_place = adds.iloc[1], adds.iloc[2]
    assert shifted["flags"] & Flag.PARTIAL_OVERLAP
    assert not in_place["flags"] & Flag.PARTIAL_OVERLAP


# RoundMode casts: float -> int32 and float -> half for each mode.
CAST_KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
constexpr int32_t N = 64, MODES = 7;
extern "C" __global__ __aicore__ void casts(GM_ADDR x, GM_ADDR i, GM_ADDR h) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bx, bi, bh;
    GlobalTensor<float> xGm;
    GlobalTensor<int32_t> iGm;
    GlobalTensor<half> hGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, N);
    iGm.SetGlobalBuffer((__gm__ int32_t*)i, MODES * N);
    hGm.SetGlobalBuffer((__gm__ half*)h, MODES * N);
    pipe.InitBuffer(bx, N * sizeof(float));
    pipe.InitBuffer(bi, MODES * N * sizeof(int32_t));
    pipe.InitBuffer(bh, MODES * N * sizeof(half));
    LocalTensor<float> a = bx.Get<float>();
    LocalTensor<int32_t> ints = bi.Get<int32_t>();
    LocalTensor<half> halves = bh.Get<half>();
    DataCopy(a, xGm, N);
    const RoundMode modes[MODES] = {RoundMode::CAST_NONE, RoundMode::CAST_RINT, RoundMode::CAST_FLOOR,
                                    RoundMode::CAST_CEIL, RoundMode::CAST_ROUND, RoundMode::CAST_TRUNC,
                                    RoundMode::CAST_ODD};
    for (int32_t m = 0; m < MODES; ++m) {
        Cast(ints[m * N], a, modes[m], N);
        Cast(halves[m * N], a, modes[m], N);
    }
    DataCopy(iGm, ints, MODES * N);
    DataCopy(hGm, halves, MODES * N);
}
"""


def round_integer(x: np.ndarray, mode: str) -> np.ndarray:
    x = x.astype(np.float64)
    trunc = np.trunc(x)
    odd = np.where((trunc != x) & (trunc % 2 == 0), trunc + np.sign(x), trunc)
    return {
        "none": np.rint(x),  # ties to even
        "rint": np.rint(x),
        "floor": np.floor(x),
        "ceil": np.ceil(x),
        "round": np.sign(x) * np.floor(np.abs(x) + 0.5),  # ties away from zero
        "trunc": trunc,
        "odd": odd,
    }[mode].astype(np.int32)


def round_half(x: np.ndarray, mode: str) -> np.ndarray:
    """float32 -> float16 by mode, from numpy's nearest-even and its neighbours."""
    nearest = x.astype(np.float16)
    exact = nearest.astype(np.float64) == x
    low = np.where(
        nearest.astype(np.float64) < x, nearest, np.nextafter(nearest, np.float16(-np.inf))
    )
    high = np.where(
        nearest.astype(np.float64) < x, np.nextafter(nearest, np.float16(np.inf)), nearest
    )
    tie = (x - low.astype(np.float64)) == (high.astype(np.float64) - x)
    low_odd = (low.view(np.uint16) & 1).astype(bool)
    chosen = {
        "none": nearest,
        "rint": nearest,
        "floor": low,
        "ceil": high,
        "round": np.where(tie, np.where(x > 0, high, low), nearest),
        "trunc": np.where(x > 0, low, high),
        "odd": np.where(low_odd, low, high),
    }[mode]
    return np.where(exact, nearest, chosen)


def test_roundmode_casts_match_the_documented_rounding(tmp_path: Path) -> None:
    source = tmp_path / "casts.cpp"
    source.write_text(textwrap.dedent(CAST_KERNEL))
    # Ties (x.5, half-way between float16 neighbours), negatives, in-between values.
    ties = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 1 + 2**-11, -(1 + 2**-11)], np.float32)
    rng = np.random.default_rng(3)
    x = np.concatenate([ties, rng.uniform(-100, 100, 56).astype(np.float32)])
    outputs = {"i": np.zeros(7 * 64, np.int32), "h": np.zeros(7 * 64, np.float16)}
    run = run_ascendc(source, "casts", 1, {"x": x}, outputs, CHIP)
    ints = run.outputs["i"].reshape(7, 64)
    halves = run.outputs["h"].reshape(7, 64)
    for row, mode in enumerate(["none", "rint", "floor", "ceil", "round", "trunc", "odd"]):
        np.testing.assert_array_equal(ints[row], round_integer(x, mode), err_msg=mode)
        np.testing.assert_array_equal(
            halves[row], round_half(x.astype(np.float64), mode), err_msg=mode
        )
    # Spot checks by hand: 2.5 rounds to 2 (rint), 3 (round), 3 (odd); -2.5 floors to -3.
    assert list(ints[[1, 4, 6], 2]) == [2, 3, 3]
    assert ints[2, 5] == -3


HALF_KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void halves(GM_ADDR x, GM_ADDR z) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bx, bz;
    GlobalTensor<half> xGm, zGm;
    xGm.SetGlobalBuffer((__gm__ half*)x, 256);
    zGm.SetGlobalBuffer((__gm__ half*)z, 512);
    pipe.InitBuffer(bx, 256 * sizeof(half));
    pipe.InitBuffer(bz, 512 * sizeof(half));
    LocalTensor<half> a = bx.Get<half>(), o = bz.Get<half>();
    DataCopy(a, xGm, 256);
    Duplicate(o, half(-1.0f), 512);
    uint64_t bits[2] = {0, 0xFFFF};
    Add(o, a, a, bits, 2, {1, 1, 1, 8, 8, 8});
    Relu(o[256], a, 128, 2, {1, 1, 8, 8});
    DataCopy(zGm, o, 512);
#ifdef BAD_MASK
    Relu(o[256], a, 129, 1, {1, 1, 8, 8});
#endif
}
"""


def test_half_repeats_use_128_lanes_and_mask_high_word(tmp_path: Path) -> None:
    source = tmp_path / "halves.cpp"
    source.write_text(HALF_KERNEL)
    x = np.random.default_rng(5).uniform(-2, 2, 256).astype(np.float16)
    run = run_ascendc(source, "halves", 1, {"x": x}, {"z": np.zeros(512, np.float16)}, CHIP)
    z = run.outputs["z"]
    # 16-bit elements: 128 lanes per repeat; mask[1] = 0xFFFF enables lanes 64-79.
    # Repeat r reads its lanes at 128 r (repeat stride 8 blocks = 256 B = 128 halves).
    want = np.full(256, -1, np.float16)
    for repeat in range(2):
        lanes = np.arange(64, 80) + 128 * repeat
        want[lanes] = x[lanes] + x[lanes]
    np.testing.assert_array_equal(z[:256], want)
    np.testing.assert_array_equal(z[256:], np.maximum(x, 0))


def test_mask_beyond_the_lanes_of_a_repeat_stops_at_its_line(tmp_path: Path) -> None:
    source = tmp_path / "halves.cpp"
    source.write_text(HALF_KERNEL)
    x = np.zeros(256, np.float16)
    with stops_at("halves.cpp", HALF_KERNEL, "Relu(o[256], a, 129", "mask 129 outside 1..128"):
        run_ascendc(
            source,
            "halves",
            1,
            {"x": x},
            {"z": np.zeros(512, np.float16)},
            CHIP,
            defines=("BAD_MASK",),
        )
