"""The twin's PairReduceSum and RepeatReduceSum (repeat forms): masks, repeats and
strides against numpy oracles built here from the API pages (pair sums; the
documented binary tree of pairwise sums, half kept within 65504, with the page's
own example), and a PairReduceSum event's sizes worked out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import line_of, stops_at
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.events import Flag
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
N, NH = 256, 512
LOW, HIGH = 0xF0F0F0F0F0F0F0F6, 0x00000000FFFFFFFF  # PairReduceSum's half bit mask

# x: 256 floats, xh: 512 halves, big: the RepeatReduceSum page's saturation
# example in 128 halves; z / zh: the results, -1 first so what a call did not
# write shows.
KERNEL = f"""\
#include "kernel_operator.h"
using namespace AscendC;
constexpr int32_t N = 256, NH = 512;
extern "C" __global__ __aicore__ void red(GM_ADDR x, GM_ADDR xh, GM_ADDR big, GM_ADDR z, GM_ADDR zh) {{
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bx, bh, bb, bz, bzh;
    GlobalTensor<float> xGm, zGm;
    GlobalTensor<half> hGm, bGm, zhGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, N);
    hGm.SetGlobalBuffer((__gm__ half*)xh, NH);
    bGm.SetGlobalBuffer((__gm__ half*)big, 128);
    zGm.SetGlobalBuffer((__gm__ float*)z, N);
    zhGm.SetGlobalBuffer((__gm__ half*)zh, NH);
    pipe.InitBuffer(bx, N * sizeof(float));
    pipe.InitBuffer(bh, NH * sizeof(half));
    pipe.InitBuffer(bb, 128 * sizeof(half));
    pipe.InitBuffer(bz, N * sizeof(float));
    pipe.InitBuffer(bzh, NH * sizeof(half));
    LocalTensor<float> a = bx.Get<float>(), o = bz.Get<float>();
    LocalTensor<half> h = bh.Get<half>(), b = bb.Get<half>(), oh = bzh.Get<half>();
    DataCopy(a, xGm, N);
    DataCopy(h, hGm, NH);
    DataCopy(b, bGm, 128);
    Duplicate(o, -1.0f, N);
    Duplicate(oh, half(-1.0f), NH);
    PairReduceSum<float>(o, a, 2, 64, 1, 1, 8);
    uint64_t bits[2] = {{{LOW:#x}ull, {HIGH:#x}ull}};
    PairReduceSum<half>(oh, h, 2, bits, 2, 2, 16);
    RepeatReduceSum<float>(o[65], a, 3, 40, 5, 1, 3, 8);
    RepeatReduceSum<half>(oh[256], b, 1, 128, 0, 1, 1, 8);
    RepeatReduceSum<half>(oh[257], h, 2, 100, 0, 1, 1, 8);
#ifdef BAD_PAIR_MASK
    PairReduceSum<float>(o, a, 1, 65, 1, 1, 8);
#endif
    DataCopy(zGm, o, N);
    DataCopy(zhGm, oh, NH);
}}
"""


def element(lane: int, repeat: int, per_block: int, block: int, rep: int) -> int:
    """Index of lane ``lane`` of ``repeat`` with strides in 32 B blocks."""
    return (repeat * rep + lane // per_block * block) * per_block + lane % per_block


def lanes_of(low: int, high: int) -> np.ndarray:
    return np.array(
        [(low >> i) & 1 for i in range(64)] + [(high >> i) & 1 for i in range(64)], bool
    )


def tree_sum(values: np.ndarray, dtype: type) -> float:
    """The page's order: lanes 0+1, 2+3, ..., then those sums pairwise, each
    rounded to the type; a half sum past 65504 kept as 65504."""
    level = values.astype(np.float64)
    while level.size > 1:
        sums = level[0::2] + level[1::2]
        if dtype is np.float16:
            sums = np.clip(sums, -65504, 65504)
        level = sums.astype(dtype).astype(np.float64)
    return float(level[0])


@pytest.fixture(scope="module")
def red_run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("reduce_pairs")
    source = folder / "red.cpp"
    source.write_text(KERNEL)
    rng = np.random.default_rng(5)
    x = rng.standard_normal(N).astype(np.float32) * 100
    xh = rng.standard_normal(NH).astype(np.float16)
    big = np.zeros(128, np.float16)
    big[:4] = [60000, 60000, -30000, 100]
    trace = folder / "red.ubtrace"
    outputs = {"z": np.zeros(N, np.float32), "zh": np.zeros(NH, np.float16)}
    done = run_ascendc(source, "red", 1, {"x": x, "xh": xh, "big": big}, outputs, CHIP, trace)
    return (x, xh), done.outputs, trace


def test_pair_reduce_sum_sums_neighbours_per_repeat(red_run) -> None:
    (x, xh), out, _ = red_run
    z, zh = out["z"], out["zh"]
    # float, mask 64, 2 contiguous repeats, their 32 results each 128 B apart.
    np.testing.assert_array_equal(z[:64], x[:128:2] + x[1:128:2])
    # half, bit mask, source blocks 2 apart and repeats 16 blocks apart, the
    # results dstRepStride 2 x 128 B (128 halves) apart; a pair with neither lane
    # in the mask keeps -1, one with a single lane is that lane.
    lanes = lanes_of(LOW, HIGH)
    expected = np.full(256, -1, np.float16)
    for repeat in range(2):
        for pair in range(64):
            kept = [
                float(xh[element(lane, repeat, 16, 2, 16)])
                for lane in (2 * pair, 2 * pair + 1)
                if lanes[lane]
            ]
            if kept:
                expected[repeat * 128 + pair] = np.float16(sum(kept))
    np.testing.assert_array_equal(zh[:256], expected)
    assert (lanes[0], lanes[1], lanes[2], lanes[3]) == (False, True, True, False)


def test_repeat_reduce_sum_follows_the_documented_tree(red_run) -> None:
    (x, xh), out, _ = red_run
    z, zh = out["z"], out["zh"]
    # float: the first 40 lanes of 3 contiguous repeats, results 3 floats apart
    # from float 65 (dstBlkStride 5 is ignored).
    for repeat in range(3):
        lanes = np.zeros(64, np.float32)
        lanes[:40] = x[repeat * 64 : repeat * 64 + 40]
        assert z[65 + 3 * repeat] == np.float32(tree_sum(lanes, np.float32))
    assert (z[[64, 66, 67, 69, 70, 72]] == -1).all()
    # The page's example: 60000 + 60000 saturates at 65504, -30000 + 100 is
    # -29900, and the page gives 65504 - 29900 = 35604 (a plain float sum would
    # be 90100: inf in half). In half -29900 is -29904 (16 apart there) and
    # 65504 - 29904 = 35600 a tie between 35584 and 35616 (32 apart), to even.
    big = np.zeros(128, np.float16)
    big[:4] = [60000, 60000, -30000, 100]
    assert zh[256] == np.float16(tree_sum(big, np.float16)) == 35584
    assert abs(float(zh[256]) - 35604) < 32
    for repeat in range(2):
        lanes = np.zeros(128, np.float16)
        lanes[:100] = xh[repeat * 128 : repeat * 128 + 100]
        assert zh[257 + repeat] == np.float16(tree_sum(lanes, np.float16))


def test_reduce_events_sizes_and_scalar_alignment(red_run) -> None:
    *_, trace = red_run
    events = read_trace(trace).events
    (pair,) = events[events.tag == f"red.cpp:{line_of(KERNEL, 'PairReduceSum<half>')}"].itertuples()
    # UB from 0: a at 0, h at 1024, b at 2048, o at 2304, oh at 3328. The mask's
    # highest lane is 95 (pair 47): dst spans repeat 1's 48 results, 1 x 2 x 128
    # + 48 x 2 = 352 B; src lane 95 of repeat 1 is half (16 + 95 // 16 x 2) x 16
    # + 95 % 16 = 431, so 864 B; one operation per lane of both repeats.
    assert (pair.addr, pair.src_addr) == (3328, 1024)
    assert (pair.aligned_size, pair.size, pair.arg) == (352, 352 + 864, 256)
    (repeat,) = events[events.tag == f"red.cpp:{line_of(KERNEL, 'o[65]')}"].itertuples()
    # The per-repeat sums need only sizeof(T) alignment: float 65 is at 2564.
    # dst (2 x 3 + 1) x 4 = 28 B; src lane 39 of repeat 2 ends at 2 x 256 + 160.
    assert repeat.addr == 2304 + 65 * 4 and not repeat.flags & Flag.MISALIGNED
    assert (repeat.aligned_size, repeat.size) == (28, 28 + 672)


def test_bad_pair_mask_stops_at_its_line(tmp_path: Path) -> None:
    source = tmp_path / "red.cpp"
    source.write_text(KERNEL)
    inputs = {
        "x": np.ones(N, np.float32),
        "xh": np.ones(NH, np.float16),
        "big": np.zeros(128, np.float16),
    }
    outputs = {"z": np.zeros(N, np.float32), "zh": np.zeros(NH, np.float16)}
    with stops_at("red.cpp", KERNEL, "PairReduceSum<float>(o, a, 1, 65", "mask 65 outside 1..64"):
        run_ascendc(source, "red", 1, inputs, outputs, CHIP, defines=("BAD_PAIR_MASK",))
