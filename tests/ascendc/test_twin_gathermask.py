"""The twin's GatherMask: the seven built-in patterns, pattern tensors, normal and
counter mode (reduceMode), GatherMaskParams' strides and rsvdCnt, against numpy
oracles built here from the API page's pattern strings and worked examples, and
one event's operands and sizes worked out by hand."""

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
N, CALLS = 256, 11

# x: 256 floats, xh: 256 halves, pf / ph: uint32 / uint16 pattern words; z: two
# sections of 256 floats, zh: ten of 128 halves, each -1 first so what a call
# did not write shows; counts: each call's rsvdCnt.
KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
constexpr int32_t N = 256;
extern "C" __global__ __aicore__ void gm(GM_ADDR x, GM_ADDR xh, GM_ADDR pf, GM_ADDR ph, GM_ADDR z,
                                         GM_ADDR zh, GM_ADDR counts) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bx, bh, bpf, bph, bz, bzh;
    GlobalTensor<float> xGm, zGm;
    GlobalTensor<half> hGm, zhGm;
    GlobalTensor<uint32_t> pfGm, cGm;
    GlobalTensor<uint16_t> phGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, N);
    hGm.SetGlobalBuffer((__gm__ half*)xh, N);
    pfGm.SetGlobalBuffer((__gm__ uint32_t*)pf, 8);
    phGm.SetGlobalBuffer((__gm__ uint16_t*)ph, 32);
    zGm.SetGlobalBuffer((__gm__ float*)z, 2 * N);
    zhGm.SetGlobalBuffer((__gm__ half*)zh, 10 * 128);
    cGm.SetGlobalBuffer((__gm__ uint32_t*)counts, 16);
    pipe.InitBuffer(bx, N * sizeof(float));
    pipe.InitBuffer(bh, N * sizeof(half));
    pipe.InitBuffer(bpf, 8 * sizeof(uint32_t));
    pipe.InitBuffer(bph, 32 * sizeof(uint16_t));
    pipe.InitBuffer(bz, 2 * N * sizeof(float));
    pipe.InitBuffer(bzh, 10 * 128 * sizeof(half));
    LocalTensor<float> a = bx.Get<float>(), o = bz.Get<float>();
    LocalTensor<half> h = bh.Get<half>(), oh = bzh.Get<half>();
    LocalTensor<uint32_t> pa = bpf.Get<uint32_t>();
    LocalTensor<uint16_t> pb = bph.Get<uint16_t>();
    DataCopy(a, xGm, N);
    DataCopy(h, hGm, N);
    DataCopy(pa, pfGm, 8);
    DataCopy(pb, phGm, 32);
    Duplicate(o, -1.0f, 2 * N);
    Duplicate(oh, half(-1.0f), 10 * 128);
    uint64_t cnt[16] = {};
    GatherMask(o, a, 5, false, 0, {1, 2, 16, 0}, cnt[0]);
    GatherMask(oh, h, 2, false, 0, {2, 1, 8, 0}, cnt[1]);
    for (uint8_t m = 1; m <= 7; ++m) { GatherMask(oh[m * 128], h, m, false, 0, {1, 1, 8, 0}, cnt[1 + m]); }
    GatherMask(o[N], a, pa, true, 70, {1, 2, 4, 0}, cnt[9]);
    GatherMask(oh[8 * 128], h, pb, false, 0, {1, 2, 8, 1}, cnt[10]);
#ifdef BAD_PATTERN
    GatherMask(o, a, 8, false, 0, {1, 1, 8, 0}, cnt[0]);
#endif
#ifdef BAD_COUNTER_MASK
    GatherMask(o, a, pa, true, 0, {1, 1, 8, 0}, cnt[0]);
#endif
    for (int32_t i = 0; i < 16; ++i) {
        cGm.SetValue(i, static_cast<uint32_t>(cnt[i]));
    }
    DataCopy(zGm, o, 2 * N);
    DataCopy(zhGm, oh, 10 * 128);
}
"""

# The API page's built-in patterns, written high bit first: bit 0, the
# repeat's first element, is the last character ("1: 0101...0101" keeps the
# even-indexed elements; its example keeps [2 4 6 ...] of [1 2 3 ...] with 2).
DOCUMENTED = {1: "01", 2: "10", 3: "0001", 4: "0010", 5: "0100", 6: "1000", 7: "1"}


def builtin_bits(mode: int, lanes: int) -> np.ndarray:
    period = DOCUMENTED[mode][::-1]
    return np.array([period[i % len(period)] == "1" for i in range(lanes)])


def tensor_bits(words: np.ndarray, byte_offset: int, lanes: int) -> np.ndarray:
    """Bits read contiguously from ``byte_offset``: bit i is byte i // 8, bit i % 8."""
    raw = words.view(np.uint8)[byte_offset:]
    return np.unpackbits(raw, bitorder="little")[:lanes].astype(bool)


def element(lane: int, repeat: int, per_block: int, block: int, rep: int) -> int:
    """Index of lane ``lane`` of ``repeat`` with strides in 32 B blocks."""
    return (repeat * rep + lane // per_block * block) * per_block + lane % per_block


def gather(src, bits_of, lanes, repeats, per_block, block, rep) -> np.ndarray:
    return np.array(
        [
            src[element(lane, r, per_block, block, rep)]
            for r in range(repeats)
            for lane in range(lanes)
            if bits_of(r)[lane]
        ],
        dtype=src.dtype,
    )


@pytest.fixture(scope="module")
def gm_run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("gathermask")
    source = folder / "gm.cpp"
    source.write_text(KERNEL)
    rng = np.random.default_rng(11)
    x = (np.arange(N, dtype=np.float32) * 0.75 - 90).astype(np.float32)
    xh = (np.arange(N) * 0.5 - 64).astype(np.float16)  # every value exact in half
    pf = rng.integers(0, 1 << 32, 8, dtype=np.uint32)
    ph = rng.integers(0, 1 << 16, 32, dtype=np.uint16)
    outputs = {
        "z": np.zeros(2 * N, np.float32),
        "zh": np.zeros(10 * 128, np.float16),
        "counts": np.zeros(16, np.uint32),
    }
    trace = folder / "gm.ubtrace"
    done = run_ascendc(
        source, "gm", 1, {"x": x, "xh": xh, "pf": pf, "ph": ph}, outputs, CHIP, trace
    )
    return (x, xh, pf, ph), done.outputs, trace


def check_section(out: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_array_equal(out[: expected.size], expected)
    # Past rsvdCnt the destination keeps its bytes: only the kept elements are written.
    assert (out[expected.size :] == -1).all()


def test_builtin_patterns_keep_the_documented_elements(gm_run) -> None:
    (x, xh, _, _), out, _ = gm_run
    counts, z, zh = out["counts"], out["z"], out["zh"].reshape(10, 128)
    # Pattern 5 ("0100": every fourth from the third), 64 float lanes a repeat,
    # the second repeat 16 blocks (128 floats) on.
    first = gather(x, lambda r: builtin_bits(5, 64), 64, 2, 8, 1, 16)
    check_section(z[:N], first)
    # Pattern 2 over 128 halves with blocks 2 apart: the odd lanes.
    second = gather(xh, lambda r: builtin_bits(2, 128), 128, 1, 16, 2, 8)
    check_section(zh[0], second)
    for mode in range(1, 8):
        check_section(zh[mode], xh[:128][builtin_bits(mode, 128)])
    assert counts[:9].tolist() == [first.size, 64, 64, 64, 32, 32, 32, 32, 128]


def test_pattern_tensors_in_counter_and_normal_mode(gm_run) -> None:
    (x, xh, pf, ph), out, _ = gm_run
    counts, z, zh = out["counts"], out["z"], out["zh"].reshape(10, 128)
    # The page's counter-mode example: 70 lanes a repeat, 2 repeats 4 blocks
    # (32 floats) apart, src1RepeatStride 0: both read bits 0..69 of pf.
    counter = gather(x, lambda r: tensor_bits(pf, 0, 70), 70, 2, 8, 1, 4)
    check_section(z[N:], counter)
    # Normal mode, 128 halves a repeat, the second repeat's bits one 32 B block on.
    normal = gather(xh, lambda r: tensor_bits(ph, 32 * r, 128), 128, 2, 16, 1, 8)
    check_section(zh[8:].ravel(), normal)
    assert counts[9:11].tolist() == [counter.size, normal.size]


def test_counter_mode_event_operands_and_sizes(gm_run) -> None:
    (_, _, pf, _), out, trace = gm_run
    events = read_trace(trace).events
    (call,) = events[
        events.tag == f"gm.cpp:{line_of(KERNEL, 'GatherMask(o[N], a, pa')}"
    ].itertuples()
    kept = int(out["counts"][9])
    assert kept == 2 * int(tensor_bits(pf, 0, 70).sum())
    # InitBuffer places from UB 0: a (bx) at 0, h at 1024, pa at 1536, pb at
    # 1568, o at 1632, so o[N] at 2656. src0: lane 69 of repeat 1 is float
    # 1 x 32 + 69 // 8 x 8 + 69 % 8 = 101, so 408 B up to its end; the
    # pattern: 70 bits in whole uint32 words, 12 B (src1RepeatStride 0: both
    # repeats read them).
    assert (call.space, call.addr, call.src_addr, call.arg2) == ("UB", 2656, 0, 1536)
    assert (call.aligned_size, call.size) == (4 * kept, 4 * kept + 408 + 12)
    assert call.arg == 2 * 70  # one operation per lane read
    assert call.flags & 65536  # SECOND_SOURCE: the pattern


@pytest.mark.parametrize(
    ("define", "call", "problem"),
    [
        ("BAD_PATTERN", "GatherMask(o, a, 8,", "GatherMask: src1Pattern 8 outside 1..7"),
        ("BAD_COUNTER_MASK", "GatherMask(o, a, pa, true, 0,", "GatherMask: mask 0 outside 1.."),
    ],
)
def test_bad_gathermask_stops_at_its_line(
    tmp_path: Path, define: str, call: str, problem: str
) -> None:
    source = tmp_path / "gm.cpp"
    source.write_text(KERNEL)
    inputs = {
        "x": np.ones(N, np.float32),
        "xh": np.ones(N, np.float16),
        "pf": np.zeros(8, np.uint32),
        "ph": np.zeros(32, np.uint16),
    }
    outputs = {
        "z": np.zeros(2 * N, np.float32),
        "zh": np.zeros(10 * 128, np.float16),
        "counts": np.zeros(16, np.uint32),
    }
    with stops_at("gm.cpp", KERNEL, call, problem):
        run_ascendc(source, "gm", 1, inputs, outputs, CHIP, defines=(define,))
