"""The twin's CumSum (high-level API): running sums along the last and the first
axis of [outter, inner] tensors, float and half (summed in float), the last row
copied to lastRow, against numpy's cumsum; the two events of one call worked out
by hand; a row that is not whole 32 B blocks stops the run at its line."""

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
ROWS, COLS = 5, 16  # float: a row of 16 is 64 B
HROWS, HCOLS = 3, 32  # half: a row of 32 is 64 B

# a: the float input, h: the half one; d / l and dh / lh: the results and last
# rows of the float and half calls, one section per call, -1 first so what a
# call did not write shows. The configs are {isLastAxis, isReuseSource,
# outputLastRow}; the fourth call takes the default (last axis, last row out).
KERNEL = f"""\
#include "kernel_operator.h"
using namespace AscendC;
constexpr int32_t R = {ROWS}, C = {COLS}, HR = {HROWS}, HC = {HCOLS};
constexpr CumSumConfig LAST_ROW{{true, false, true}};
constexpr CumSumConfig FIRST_AXIS{{false, false, true}};
constexpr CumSumConfig NO_ROW{{true, false, false}};
extern "C" __global__ __aicore__ void cumsum(GM_ADDR x, GM_ADDR xh, GM_ADDR z, GM_ADDR zl,
                                             GM_ADDR zh, GM_ADDR zlh) {{
    TPipe pipe;
    TBuf<QuePosition::VECCALC> ba, bh, btmp, bd, bl, bdh, blh;
    GlobalTensor<float> xGm, zGm, zlGm;
    GlobalTensor<half> xhGm, zhGm, zlhGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, R * C);
    xhGm.SetGlobalBuffer((__gm__ half*)xh, HR * HC);
    zGm.SetGlobalBuffer((__gm__ float*)z, 2 * R * C);
    zlGm.SetGlobalBuffer((__gm__ float*)zl, 2 * C);
    zhGm.SetGlobalBuffer((__gm__ half*)zh, 3 * HR * HC);
    zlhGm.SetGlobalBuffer((__gm__ half*)zlh, 3 * HC);
    pipe.InitBuffer(ba, R * C * sizeof(float));
    pipe.InitBuffer(bh, HR * HC * sizeof(half));
    pipe.InitBuffer(btmp, 256);
    pipe.InitBuffer(bd, 2 * R * C * sizeof(float));
    pipe.InitBuffer(bl, 2 * C * sizeof(float));
    pipe.InitBuffer(bdh, 3 * HR * HC * sizeof(half));
    pipe.InitBuffer(blh, 3 * HC * sizeof(half));
    LocalTensor<float> a = ba.Get<float>(), d = bd.Get<float>(), l = bl.Get<float>();
    LocalTensor<half> h = bh.Get<half>(), dh = bdh.Get<half>(), lh = blh.Get<half>();
    LocalTensor<uint8_t> tmp = btmp.Get<uint8_t>();
    DataCopy(a, xGm, R * C);
    DataCopy(h, xhGm, HR * HC);
    Duplicate(d, -1.0f, 2 * R * C);
    Duplicate(l, -1.0f, 2 * C);
    Duplicate(dh, half(-1.0f), 3 * HR * HC);
    Duplicate(lh, half(-1.0f), 3 * HC);
    CumSum<float, LAST_ROW>(d, l, a, tmp, {{R, C}});
    CumSum<float, FIRST_AXIS>(d[R * C], l[C], a, {{R, C}});
    CumSum<half, NO_ROW>(dh, lh, h, tmp, {{HR, HC}});
    CumSum<half>(dh[HR * HC], lh[HC], h, {{HR, HC}});
    CumSum<half, FIRST_AXIS>(dh[2 * HR * HC], lh[2 * HC], h, {{HR, HC}});
#ifdef BAD_INNER
    CumSum<float>(d, l, a, CumSumInfo{{2, 20}});
#endif
    DataCopy(zGm, d, 2 * R * C);
    DataCopy(zlGm, l, 2 * C);
    DataCopy(zhGm, dh, 3 * HR * HC);
    DataCopy(zlhGm, lh, 3 * HC);
}}
"""


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((ROWS, COLS)) * 100).astype(np.float32)
    xh = rng.standard_normal((HROWS, HCOLS)).astype(np.float16)
    # 2048 then ones: past 2048 halves are 2 apart, so a running sum kept in
    # half would stay 2048 (2048 + 1 ties to the even 2048); in float it
    # reaches 2079, which rounds (a tie) to 2080.
    xh[0] = [2048] + [1] * (HCOLS - 1)
    return {"x": x.ravel(), "xh": xh.ravel()}


def _outputs() -> dict[str, np.ndarray]:
    return {
        "z": np.zeros(2 * ROWS * COLS, np.float32),
        "zl": np.zeros(2 * COLS, np.float32),
        "zh": np.zeros(3 * HROWS * HCOLS, np.float16),
        "zlh": np.zeros(3 * HCOLS, np.float16),
    }


@pytest.fixture(scope="module")
def cumsum_run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("cumsum")
    source = folder / "cumsum.cpp"
    source.write_text(KERNEL)
    inputs = _inputs()
    trace = folder / "cumsum.ubtrace"
    done = run_ascendc(source, "cumsum", 1, inputs, _outputs(), CHIP, trace)
    return inputs, done.outputs, read_trace(trace).events


def _float_bound(x: np.ndarray, axis: int) -> np.ndarray:
    """How far a float32 running sum may be from the exact one: summing k terms
    in order rounds k - 1 times, each by at most 2^-24 of a partial sum, and a
    partial sum is at most the running sum of |x| (to first order, the classic
    bound for recursive summation); k terms give at most k x 2^-24 x
    cumsum(|x|)."""
    terms = np.cumsum(np.ones_like(x, np.float64), axis=axis)
    return terms * 2.0**-24 * np.cumsum(np.abs(x.astype(np.float64)), axis=axis)


def _assert_half_close(got: np.ndarray, x: np.ndarray, axis: int) -> None:
    """The twin sums half in float and rounds once: the float sum is within
    k x 2^-24 x cumsum(|x|) of the exact one (far below a half's spacing
    here), so the result is the exact sum rounded to half, or, where the float
    error crosses a rounding midpoint, its neighbour: at most one spacing of
    half away from numpy's float64 cumsum rounded to half."""
    reference = np.cumsum(x.astype(np.float64), axis=axis).astype(np.float16)
    spacing = np.spacing(np.abs(reference)).astype(np.float64)
    error = np.abs(got.astype(np.float64) - reference.astype(np.float64))
    assert (error <= spacing).all(), (got, reference)


def test_float_sums_along_either_axis_and_copies_the_last_row(cumsum_run) -> None:
    inputs, out, _ = cumsum_run
    x = inputs["x"].reshape(ROWS, COLS)
    z, zl = out["z"].reshape(2, ROWS, COLS), out["zl"].reshape(2, COLS)
    for section, axis in enumerate((1, 0)):  # last axis, then first
        exact = np.cumsum(x.astype(np.float64), axis=axis)
        np.testing.assert_array_less(np.abs(z[section] - exact), _float_bound(x, axis) + 1e-30)
        np.testing.assert_array_equal(zl[section], z[section][-1])
    # the page's examples: along the last axis [[0, 1, 3], [3, 7, 12]], along
    # the first [[0, 1, 2], [3, 5, 7]]: the axes are not swapped
    assert z[0][0, 1] == np.float32(x[0, 0] + x[0, 1])
    assert z[1][1, 0] == np.float32(x[0, 0] + x[1, 0])


def test_half_sums_in_float_and_rounds_once(cumsum_run) -> None:
    inputs, out, _ = cumsum_run
    xh = inputs["xh"].reshape(HROWS, HCOLS)
    zh, zlh = out["zh"].reshape(3, HROWS, HCOLS), out["zlh"].reshape(3, HCOLS)
    for section, axis in enumerate((1, 1, 0)):
        _assert_half_close(zh[section], xh, axis)
    # the 2048-then-ones row (see _inputs): 2080 at its end, not 2048
    assert zh[0][0, -1] == zh[1][0, -1] == 2080
    # NO_ROW leaves lastRow as it was; the default config and FIRST_AXIS copy
    assert (zlh[0] == -1).all()
    np.testing.assert_array_equal(zlh[1], zh[1][-1])
    np.testing.assert_array_equal(zlh[2], zh[2][-1])


def test_cumsum_events_by_hand(cumsum_run) -> None:
    *_, events = cumsum_run
    tag = f"cumsum.cpp:{line_of(KERNEL, 'CumSum<float, LAST_ROW>')}"
    total, copy = events[(events.tag == tag) & (events["name"] == "CumSum")].itertuples()
    # UB from 0, each buffer after the last (all whole 32 B blocks): a 5 x 16
    # floats = 320 B at 0, h 3 x 32 halves = 192 B at 320, tmp 256 B at 512,
    # d 2 x 320 B at 768, l 2 x 64 B at 1408.
    # The sum: d (768) written, 80 floats = 320 B; sources tmp (512, 0 B
    # counted) first, then a (0, 320 B read); one operation per element.
    assert (total.space, total.addr, total.src_addr, total.arg2) == ("UB", 768, 512, 0)
    assert total.flags & Flag.SECOND_SOURCE
    assert (total.aligned_size, total.size, total.arg) == (320, 320 + 320, ROWS * COLS)
    # The copy: l (1408) written, 16 floats = 64 B, from d's last row, row 4
    # at 768 + 4 x 64 = 1024 (64 B read); 16 elements.
    assert (copy.space, copy.addr, copy.src_addr) == ("UB", 1408, 1024)
    assert not copy.flags & Flag.SECOND_SOURCE
    assert (copy.aligned_size, copy.size, copy.arg) == (64, 64 + 64, COLS)
    # outputLastRow false: the sum alone
    no_row = f"cumsum.cpp:{line_of(KERNEL, 'CumSum<half, NO_ROW>')}"
    assert len(events[(events.tag == no_row) & (events["name"] == "CumSum")]) == 1


def test_row_not_whole_blocks_stops_at_its_line(tmp_path: Path) -> None:
    source = tmp_path / "cumsum.cpp"
    source.write_text(KERNEL)
    problem = "CumSum: cumSumInfo.inner 20 x 4 B is not a multiple of 32 B"
    with stops_at("cumsum.cpp", KERNEL, "CumSumInfo{2, 20}", problem):
        run_ascendc(source, "cumsum", 1, _inputs(), _outputs(), CHIP, defines=("BAD_INNER",))
