"""The twin's RmsNorm (Atlas A2 / A3 high-level API): y = x / sqrt(mean(x^2) +
epsilon) * gamma along H of [B, S, H] data, the mean over the unpadded
originalHLength. Float rows of 13 elements padded to 16 and half rows of 30
padded to 32, against float64 numpy oracles; the tiling nests twice in the
kernel's tiling data (filled by --tiling as a case file's nested mapping is)
and once is a plain aggregate; the event of one call worked out by hand; a
misaligned gamma flagged; bad tilings stop the run at the call's line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import line_of, stops_at
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.ascendc.tiling import LaunchValues
from ubscope.probe.chip import load_chip
from ubscope.probe.events import Flag
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
B, S, H, RH = 2, 2, 16, 13  # float: B x S = 4 rows of 16 (64 B), 13 real
HB, HS, HH, HRH = 3, 1, 32, 30  # half: 3 rows of 32 (64 B), 30 real
EPS = 0.25  # against a mean square near 4: leaving it out moves rstd by ~3%
HEPS = float(np.float16(1e-3))  # the kernel passes epsilon as a half (T)
U = 2.0**-24  # float's unit roundoff

# y: float with sharedTmpBuffer and the nested rmsnormTiling; y3: the first two
# rows again, unpadded (originalHLength = hLength), through a plain aggregate
# RmsNormTiling and no sharedTmpBuffer; yh: half, T deduced, the nested
# halfTiling. The #ifdef calls are the misuse cases.
KERNEL = f"""\
#include "kernel_operator.h"
using namespace AscendC;
namespace optiling {{
BEGIN_TILING_DATA_DEF(RmsCaseTiling)
  TILING_DATA_FIELD_DEF_STRUCT(RmsNormTiling, rmsnormTiling);
  TILING_DATA_FIELD_DEF_STRUCT(RmsNormTiling, halfTiling);
END_TILING_DATA_DEF;
REGISTER_TILING_DATA_CLASS(rms, RmsCaseTiling)
}}
constexpr uint32_t N = {B * S * H}, H = {H}, HN = {HB * HS * HH}, HH = {HH};
extern "C" __global__ __aicore__ void rms(GM_ADDR x, GM_ADDR g, GM_ADDR xh, GM_ADDR gh, GM_ADDR y,
                                          GM_ADDR y3, GM_ADDR yh, GM_ADDR tiling) {{
    GET_TILING_DATA(t, tiling);
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bx, bg, btmp, by, by3, bxh, bgh, byh, bgm;
    pipe.InitBuffer(bx, N * 4);
    pipe.InitBuffer(bg, H * 4);
    pipe.InitBuffer(btmp, 256);
    pipe.InitBuffer(by, N * 4);
    pipe.InitBuffer(by3, 2 * H * 4);
    pipe.InitBuffer(bxh, HN * 2);
    pipe.InitBuffer(bgh, HH * 2);
    pipe.InitBuffer(byh, HN * 2);
    pipe.InitBuffer(bgm, 2 * H * 4);
    LocalTensor<float> lx = bx.Get<float>(), lg = bg.Get<float>(), ly = by.Get<float>();
    LocalTensor<float> ly3 = by3.Get<float>(), lgm = bgm.Get<float>();
    LocalTensor<half> lxh = bxh.Get<half>(), lgh = bgh.Get<half>(), lyh = byh.Get<half>();
    LocalTensor<uint8_t> tmp = btmp.Get<uint8_t>();
    GlobalTensor<float> gf32;
    GlobalTensor<half> gf16;
    gf32.SetGlobalBuffer((__gm__ float*)x, N);
    DataCopy(lx, gf32, N);
    gf32.SetGlobalBuffer((__gm__ float*)g, H);
    DataCopy(lg, gf32, H);
    DataCopy(lgm, gf32, H);
    DataCopy(lgm[H], gf32, H);
    gf16.SetGlobalBuffer((__gm__ half*)xh, HN);
    DataCopy(lxh, gf16, HN);
    gf16.SetGlobalBuffer((__gm__ half*)gh, HH);
    DataCopy(lgh, gf16, HH);
    const half heps = (half)1e-3f;
    const RmsNormTiling whole{{1, 2, H, H, 1.0f / H, 0, 0, 0, 0, 0, 0, 0}};
#ifndef OFF_GAMMA
    RmsNorm<float>(ly, lx, lg, tmp, {EPS}f, t.rmsnormTiling);
#else
    RmsNorm<float>(ly, lx, lgm[4], tmp, {EPS}f, t.rmsnormTiling);
#endif
    RmsNorm<float, false>(ly3, lx, lg, {EPS}f, whole);
    RmsNorm(lyh, lxh, lgh, heps, t.halfTiling);
#ifdef LONG_H
    RmsNorm<float>(ly, lx, lg, {EPS}f, RmsNormTiling{{2, 2, H, 20, 0.05f, 0, 0, 0, 0, 0, 0, 0}});
#endif
#ifdef BAD_PAD
    RmsNorm<float>(ly, lx, lg, {EPS}f, RmsNormTiling{{2, 2, 13, 13, 0.1f, 0, 0, 0, 0, 0, 0, 0}});
#endif
#ifdef BEYOND
    RmsNorm<float>(ly, lx, lg, {EPS}f, RmsNormTiling{{5, 2, H, 13, 0.1f, 0, 0, 0, 0, 0, 0, 0}});
#endif
#ifdef BASIC
    RmsNorm<float, true>(ly, lx, lg, tmp, {EPS}f, t.rmsnormTiling);
#endif
    gf32.SetGlobalBuffer((__gm__ float*)y, N);
    DataCopy(gf32, ly, N);
    gf32.SetGlobalBuffer((__gm__ float*)y3, 2 * H);
    DataCopy(gf32, ly3, 2 * H);
    gf16.SetGlobalBuffer((__gm__ half*)yh, HN);
    DataCopy(gf16, lyh, HN);
}}
"""


def _tiling(name: str, b: int, s: int, h: int, real: int) -> dict[str, str]:
    """One nested RmsNormTiling as --tiling values. The main / tail split and
    loopRound are the host's partition of the rows, which the twin does not
    read: 0 here."""
    fields = {"bLength": b, "sLength": s, "hLength": h, "originalHLength": real}
    fields |= {"reciprocalOfHLength": 1 / real}
    unread = ("mainBshLength", "mainBsLength", "mainBsLengthAlign", "loopRound")
    fields |= dict.fromkeys((*unread, "inputTailPos", "tailBshLength", "tailBsLength"), 0)
    return {f"{name}.{field}": str(value) for field, value in fields.items()}


TILING = _tiling("rmsnormTiling", B, S, H, RH) | _tiling("halfTiling", HB, HS, HH, HRH)
VALUES = LaunchValues(tiling=TILING)


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((B * S, H)) * 2).astype(np.float32)
    x[1] *= 10  # a row of another scale: an rstd taken from the wrong row shows
    x[3] *= 1e-2  # mean square ~4e-4, far below EPS: epsilon dominates this row
    x[:, RH:] = 0  # the padding, zero as the host pads H
    g = (1 + rng.standard_normal(H) * 0.5).astype(np.float32)
    xh = rng.standard_normal((HB * HS, HH)).astype(np.float16)
    xh[2] = (xh[2].astype(np.float32) * 8).astype(np.float16)
    xh[:, HRH:] = 0
    gh = (1 + rng.standard_normal(HH) * 0.5).astype(np.float16)
    return {"x": x.ravel(), "g": g, "xh": xh.ravel(), "gh": gh}


def _outputs() -> dict[str, np.ndarray]:
    return {
        "y": np.full(B * S * H, -1, np.float32),
        "y3": np.full(2 * H, -1, np.float32),
        "yh": np.full(HB * HS * HH, -1, np.float16),
    }


def _run(folder: Path, defines: tuple[str, ...] = (), values: LaunchValues = VALUES):
    source = folder / "rms.cpp"
    source.write_text(KERNEL)
    inputs = _inputs()
    trace = folder / "rms.ubtrace"
    done = run_ascendc(
        source, "rms", 1, inputs, _outputs(), CHIP, trace, values=values, defines=defines
    )
    return inputs, done.outputs, read_trace(trace).events


@pytest.fixture(scope="module")
def rms_run(tmp_path_factory: pytest.TempPathFactory):
    return _run(tmp_path_factory.mktemp("rms"))


def _reference(x: np.ndarray, gamma: np.ndarray, real: int, eps: float) -> np.ndarray:
    """float64 RmsNorm of each row: the mean of the first ``real`` squares,
    all of the padded row scaled by its rstd and gamma."""
    x = x.astype(np.float64)
    rstd = 1 / np.sqrt((x[:, :real] ** 2).mean(axis=1) + eps)
    return x * rstd[:, None] * gamma.astype(np.float64)


def _assert_float(got: np.ndarray, want: np.ndarray, real: int) -> None:
    """The twin's float path, first order in U, relative to each element (y is
    a product, so no cancellation): the squares round once each and their sum,
    all terms nonnegative, real - 1 times, each within U of the running sum:
    at most real U of the sum; the division by real, adding eps (positive) and
    the sqrt add U each, the sqrt halving what came before; the reciprocal U;
    x * rstd * gamma two more. So (real + 2) U / 2 + 5 U; twice that covers
    the second order."""
    bound = (real + 12) * U * np.abs(want)
    assert (np.abs(got.astype(np.float64) - want) <= bound).all(), (got, want)


def test_float_rmsnorm_over_the_unpadded_rows(rms_run) -> None:
    inputs, outputs, _ = rms_run
    x = inputs["x"].reshape(B * S, H)
    want = _reference(x, inputs["g"], RH, EPS)
    _assert_float(outputs["y"].reshape(B * S, H), want, RH)
    # the padding stays zero: x there is zero
    assert (outputs["y"].reshape(B * S, H)[:, RH:] == 0).all()


def test_plain_aggregate_tiling_without_tmp(rms_run) -> None:
    """originalHLength = hLength = 16: the zero padding counts in the mean."""
    inputs, outputs, _ = rms_run
    x = inputs["x"].reshape(B * S, H)[:2]
    want = _reference(x, inputs["g"], H, EPS)
    _assert_float(outputs["y3"].reshape(2, H), want, H)


def test_half_rmsnorm_rounds_once(rms_run) -> None:
    """Computed in float (errors near 1e-6 relative, far below a half's
    2^-11) and rounded once to half: the float64 value rounded to half or,
    where the float error crosses a rounding midpoint, its neighbour."""
    inputs, outputs, _ = rms_run
    xh = inputs["xh"].reshape(HB * HS, HH)
    reference = _reference(xh, inputs["gh"], HRH, HEPS).astype(np.float16)
    got = outputs["yh"].reshape(HB * HS, HH)
    spacing = np.spacing(np.abs(reference)).astype(np.float64)
    error = np.abs(got.astype(np.float64) - reference.astype(np.float64))
    assert (error <= spacing).all(), (got, reference)


def test_rmsnorm_event_by_hand(rms_run) -> None:
    *_, events = rms_run
    tag = f"rms.cpp:{line_of(KERNEL, 'RmsNorm<float>(ly, lx, lg, tmp')}"
    (event,) = events[(events.tag == tag) & (events["name"] == "RmsNorm")].itertuples()
    # UB from 0, each buffer after the last (all whole 32 B): x 4 rows x 16
    # floats = 256 B at 0, gamma 64 B at 256, tmp 256 B at 320, y 256 B at 576.
    # Destination y, 64 floats = 256 B; sources tmp (320, 0 B counted) first,
    # then x (0, 256 B) in arg2 and gamma (256, 64 B) in burst_len: 256 + 0 +
    # 256 + 64 = 576 B touched. Four operations an element (square, sum,
    # times rstd, times gamma): 64 x 4 = 256.
    assert (event.space, event.addr, event.src_addr, event.arg2, event.burst_len) == (
        "UB",
        576,
        320,
        0,
        256,
    )
    assert event.flags & Flag.SECOND_SOURCE and event.flags & Flag.THIRD_SOURCE
    assert not event.flags & Flag.MISALIGNED
    assert (event.size, event.aligned_size, event.arg) == (576, 256, 256)


def test_misaligned_gamma_is_flagged(tmp_path: Path) -> None:
    """gamma 16 B into its buffer, as a basic vector instruction's source
    would be: the call runs (same values) and its event is MISALIGNED."""
    inputs, outputs, events = _run(tmp_path, ("OFF_GAMMA",))
    tag = f"rms.cpp:{line_of(KERNEL, 'RmsNorm<float>(ly, lx, lgm[4]')}"
    (event,) = events[(events.tag == tag) & (events["name"] == "RmsNorm")].itertuples()
    # bgm follows y3 (128 B at 832), x half (192 B at 960), gamma half (64 B
    # at 1152) and y half (192 B at 1216): at 1408; gamma 4 floats into it.
    assert event.burst_len == 1408 + 16
    assert event.flags & Flag.MISALIGNED
    # lgm holds gamma twice: lgm[4:20] is gamma rotated by 4
    shifted = np.roll(inputs["g"], -4)
    want = _reference(inputs["x"].reshape(B * S, H), shifted, RH, EPS)
    _assert_float(outputs["y"].reshape(B * S, H), want, RH)


@pytest.mark.parametrize(
    ("define", "marker", "problem"),
    [
        (
            "LONG_H",
            "RmsNormTiling{2, 2, H, 20",
            "RmsNorm: tiling.originalHLength 20 is beyond hLength 16",
        ),
        (
            "BAD_PAD",
            "RmsNormTiling{2, 2, 13, 13",
            "RmsNorm: tiling.hLength 13 x 4 B is not a multiple of 32 B",
        ),
        (
            "BEYOND",
            "RmsNormTiling{5, 2, H, 13",
            "RmsNorm: bLength x sLength x hLength 5 x 2 x 16 (160 elements) is beyond "
            "srcLocal's 64 elements",
        ),
        (
            "BASIC",
            "RmsNorm<float, true>",
            "RmsNorm: isBasicBlock needs hLength a multiple of 64 below 2048 and bLength x "
            "sLength a multiple of 8, not 16 and 4",
        ),
    ],
)
def test_misuse_stops_at_its_line(tmp_path: Path, define: str, marker: str, problem: str) -> None:
    with stops_at("rms.cpp", KERNEL, marker, problem):
        _run(tmp_path, (define,))


def test_zero_hlength_from_the_tiling_values_stops_at_the_call(tmp_path: Path) -> None:
    """The nested tiling as --tiling (or a case file) fills it: hLength 0
    stops the run at the call that reads it, not at GET_TILING_DATA."""
    values = LaunchValues(tiling=TILING | {"rmsnormTiling.hLength": "0"})
    problem = (
        "RmsNorm: tiling bLength x sLength x hLength 2 x 2 x 0, originalHLength 13: "
        "each must be at least 1"
    )
    with stops_at("rms.cpp", KERNEL, "RmsNorm<float>(ly, lx, lg, tmp", problem):
        _run(tmp_path, values=values)


WHOLE_STRUCT = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void whole(GM_ADDR x, GM_ADDR g, GM_ADDR y, GM_ADDR tiling) {
    GET_TILING_DATA_WITH_STRUCT(RmsNormTiling, t, tiling);
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bx, bg, by;
    pipe.InitBuffer(bx, 32 * 4);
    pipe.InitBuffer(bg, 16 * 4);
    pipe.InitBuffer(by, 32 * 4);
    LocalTensor<float> lx = bx.Get<float>(), lg = bg.Get<float>(), ly = by.Get<float>();
    GlobalTensor<float> gm;
    gm.SetGlobalBuffer((__gm__ float*)x, 32);
    DataCopy(lx, gm, 32);
    gm.SetGlobalBuffer((__gm__ float*)g, 16);
    DataCopy(lg, gm, 16);
    RmsNorm(ly, lx, lg, 1e-2f, t);
    gm.SetGlobalBuffer((__gm__ float*)y, 32);
    DataCopy(gm, ly, 32);
}
"""


def test_tiling_read_whole_with_struct(tmp_path: Path) -> None:
    """GET_TILING_DATA_WITH_STRUCT(RmsNormTiling, ...): the fields by their
    own names, 2 rows of 16 with 10 real."""
    source = tmp_path / "whole.cpp"
    source.write_text(WHOLE_STRUCT)
    tiling = {k.partition(".")[2]: v for k, v in _tiling("t", 1, 2, 16, 10).items()}
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 16)).astype(np.float32)
    x[:, 10:] = 0
    g = rng.standard_normal(16).astype(np.float32)
    outputs = {"y": np.full(32, -1, np.float32)}
    done = run_ascendc(
        source, "whole", 1, {"x": x.ravel(), "g": g}, outputs, CHIP, values=LaunchValues(tiling)
    )
    _assert_float(done.outputs["y"].reshape(2, 16), _reference(x, g, 10, 1e-2), 10)
