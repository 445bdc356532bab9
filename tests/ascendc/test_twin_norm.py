"""The twin's LayerNorm in its [A, R] form (outputs y, mean and rstd, with
LayerNormPara and LayerNormConfig): float, half data with float gamma / beta,
and half throughout; rows of R elements padded to whole 32 B, rows of very
different means and a nearly constant row (where epsilon dominates the
variance), against float64 numpy oracles; a call without beta and gamma; the
events of one call worked out by hand; misuse stops the run at its line. The
tiling data nests LayerNormSeparateTiling, which --tiling leaves at zero (the
twin computes from para and reads none of it)."""

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
A, R, RP = 4, 13, 16  # float: 13 of a row's 16 (64 B) are data
HA, HR, HRP = 3, 30, 32  # half: 30 of 32 (64 B)
EPS, HEPS = 0.25, 1e-3  # a large float epsilon: where it sits (inside the sqrt) shows
U = 2.0**-24  # float's unit roundoff

# x, g, b: float data, gamma, beta; xh: half data, gf / bf its float gamma /
# beta, gh / bh half ones. y (with mean ym, rstd yr): the float call; y2 the
# float call without beta and gamma; yh (yhm, yhr) half data with float gamma
# / beta; yhh (yhhm, yhhr) half throughout.
KERNEL = f"""\
#include "kernel_operator.h"
using namespace AscendC;
namespace optiling {{
BEGIN_TILING_DATA_DEF(NormCaseTiling)
  TILING_DATA_FIELD_DEF(uint32_t, rows);
  TILING_DATA_FIELD_DEF_STRUCT(LayerNormSeparateTiling, layernormTilingData);
END_TILING_DATA_DEF;
REGISTER_TILING_DATA_CLASS(norm, NormCaseTiling)
}}
constexpr uint32_t A = {A}, R = {R}, RP = {RP}, HA = {HA}, HR = {HR}, HRP = {HRP};
constexpr LayerNormConfig NO_AFFINE = {{true, true, false}};
constexpr LayerNormConfig ONLY_OUTPUT = {{false, false, true}};
extern "C" __global__ __aicore__ void norm(GM_ADDR x, GM_ADDR g, GM_ADDR b, GM_ADDR xh, GM_ADDR gf,
                                           GM_ADDR bf, GM_ADDR gh, GM_ADDR bh, GM_ADDR y, GM_ADDR ym,
                                           GM_ADDR yr, GM_ADDR y2, GM_ADDR yh, GM_ADDR yhm, GM_ADDR yhr,
                                           GM_ADDR yhh, GM_ADDR yhhm, GM_ADDR yhhr, GM_ADDR tiling) {{
    GET_TILING_DATA(t, tiling);
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bx, bg, bb, btmp, by, bm, br, by2, bxh, bgf, bbf, bgh, bbh, byh, byhh, bhm, bhr;
    pipe.InitBuffer(bx, A * RP * 4);
    pipe.InitBuffer(bg, RP * 4);
    pipe.InitBuffer(bb, RP * 4);
    pipe.InitBuffer(btmp, 256);
    pipe.InitBuffer(by, A * RP * 4);
    pipe.InitBuffer(bm, 32);
    pipe.InitBuffer(br, 32);
    pipe.InitBuffer(by2, A * RP * 4);
    pipe.InitBuffer(bxh, HA * HRP * 2);
    pipe.InitBuffer(bgf, HRP * 4);
    pipe.InitBuffer(bbf, HRP * 4);
    pipe.InitBuffer(bgh, HRP * 2);
    pipe.InitBuffer(bbh, HRP * 2);
    pipe.InitBuffer(byh, HA * HRP * 2);
    pipe.InitBuffer(byhh, HA * HRP * 2);
    pipe.InitBuffer(bhm, 2 * 32);
    pipe.InitBuffer(bhr, 2 * 32);
    LocalTensor<float> lx = bx.Get<float>(), lg = bg.Get<float>(), lb = bb.Get<float>(), ly = by.Get<float>();
    LocalTensor<float> lm = bm.Get<float>(), lr = br.Get<float>(), ly2 = by2.Get<float>();
    LocalTensor<float> lgf = bgf.Get<float>(), lbf = bbf.Get<float>(), hm = bhm.Get<float>(), hr = bhr.Get<float>();
    LocalTensor<half> lxh = bxh.Get<half>(), lgh = bgh.Get<half>(), lbh = bbh.Get<half>();
    LocalTensor<half> lyh = byh.Get<half>(), lyhh = byhh.Get<half>();
    LocalTensor<uint8_t> tmp = btmp.Get<uint8_t>();
    GlobalTensor<float> gf32;
    GlobalTensor<half> gf16;
    gf32.SetGlobalBuffer((__gm__ float*)x, A * RP);
    DataCopy(lx, gf32, A * RP);
    gf32.SetGlobalBuffer((__gm__ float*)g, RP);
    DataCopy(lg, gf32, RP);
    gf32.SetGlobalBuffer((__gm__ float*)b, RP);
    DataCopy(lb, gf32, RP);
    gf16.SetGlobalBuffer((__gm__ half*)xh, HA * HRP);
    DataCopy(lxh, gf16, HA * HRP);
    gf32.SetGlobalBuffer((__gm__ float*)gf, HRP);
    DataCopy(lgf, gf32, HRP);
    gf32.SetGlobalBuffer((__gm__ float*)bf, HRP);
    DataCopy(lbf, gf32, HRP);
    gf16.SetGlobalBuffer((__gm__ half*)gh, HRP);
    DataCopy(lgh, gf16, HRP);
    gf16.SetGlobalBuffer((__gm__ half*)bh, HRP);
    DataCopy(lbh, gf16, HRP);
    const LayerNormSeparateTiling& st = t.layernormTilingData;
    const LayerNormPara FP{{t.rows, R, RP}};
    const LayerNormPara HP{{HA, HR, HRP}};
    LayerNorm<float, float>(ly, lm, lr, lx, lg, lb, {EPS}f, tmp, FP, st);
    LayerNorm<float, float, false, NO_AFFINE>(ly2, lm, lr, lx, lg, lb, {EPS}f, FP, st);
    LayerNorm<float, half>(lyh, hm, hr, lxh, lgf, lbf, {HEPS}f, HP, st);
    LayerNorm<half, half>(lyhh, hm[8], hr[8], lxh, lgh, lbh, {HEPS}f, tmp, HP, st);
#ifdef BAD_PAD
    LayerNorm<float, float>(ly, lm, lr, lx, lg, lb, {EPS}f, LayerNormPara{{A, R, R}}, st);
#endif
#ifdef SHORT_PAD
    LayerNorm<float, float>(ly, lm, lr, lx, lg, lb, {EPS}f, LayerNormPara{{A, 24, 16}}, st);
#endif
#ifdef IN_PLACE
    LayerNorm<float, float>(lx, lm, lr, lx, lg, lb, {EPS}f, FP, st);
#endif
#ifdef HALF_GAMMA
    LayerNorm<half, float>(ly, lm, lr, lx, lgh, lbh, {EPS}f, FP, st);
#endif
#ifdef ONLY_Y
    LayerNorm<float, float, false, ONLY_OUTPUT>(ly, lm, lr, lx, lg, lb, {EPS}f, FP, st);
#endif
#ifdef BEYOND
    LayerNorm<float, float>(ly, lm, lr, lx, lg, lb, {EPS}f, LayerNormPara{{5, R, RP}}, st);
#endif
    gf32.SetGlobalBuffer((__gm__ float*)y, A * RP);
    DataCopy(gf32, ly, A * RP);
    gf32.SetGlobalBuffer((__gm__ float*)y2, A * RP);
    DataCopy(gf32, ly2, A * RP);
    gf32.SetGlobalBuffer((__gm__ float*)ym, 8);
    DataCopy(gf32, lm, 8);
    gf32.SetGlobalBuffer((__gm__ float*)yr, 8);
    DataCopy(gf32, lr, 8);
    gf16.SetGlobalBuffer((__gm__ half*)yh, HA * HRP);
    DataCopy(gf16, lyh, HA * HRP);
    gf16.SetGlobalBuffer((__gm__ half*)yhh, HA * HRP);
    DataCopy(gf16, lyhh, HA * HRP);
    gf32.SetGlobalBuffer((__gm__ float*)yhm, 8);
    DataCopy(gf32, hm, 8);
    gf32.SetGlobalBuffer((__gm__ float*)yhr, 8);
    DataCopy(gf32, hr, 8);
    gf32.SetGlobalBuffer((__gm__ float*)yhhm, 8);
    DataCopy(gf32, hm[8], 8);
    gf32.SetGlobalBuffer((__gm__ float*)yhhr, 8);
    DataCopy(gf32, hr[8], 8);
}}
"""

VALUES = LaunchValues(tiling={"rows": str(A)})


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((A, RP)) * 2).astype(np.float32)
    x[1] += 100  # a row far from the others: a mean over the wrong rows shows
    x[2] = 3 + x[2] * 1e-3  # nearly constant: the variance (~1e-6) far below EPS
    x[:, R:] = 0  # the padding, zero as the page asks
    g = (1 + rng.standard_normal(RP) * 0.5).astype(np.float32)
    b = rng.standard_normal(RP).astype(np.float32)
    xh = rng.standard_normal((HA, HRP)).astype(np.float16)
    xh[1] = (xh[1].astype(np.float32) * 4 - 20).astype(np.float16)
    xh[:, HR:] = 0
    gf = (1 + rng.standard_normal(HRP) * 0.5).astype(np.float32)
    bf = rng.standard_normal(HRP).astype(np.float32)
    gh, bh = gf.astype(np.float16), bf.astype(np.float16)
    return {
        "x": x.ravel(),
        "g": g,
        "b": b,
        "xh": xh.ravel(),
        "gf": gf,
        "bf": bf,
        "gh": gh,
        "bh": bh,
    }


def _outputs() -> dict[str, np.ndarray]:
    f, hf = np.float32, np.float16
    out = {"y": np.zeros(A * RP, f), "y2": np.zeros(A * RP, f)}
    out |= {"yh": np.zeros(HA * HRP, hf), "yhh": np.zeros(HA * HRP, hf)}
    for name in ("ym", "yr", "yhm", "yhr", "yhhm", "yhhr"):
        out[name] = np.full(8, -1, f)
    return out


@pytest.fixture(scope="module")
def norm_run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("norm")
    source = folder / "norm.cpp"
    source.write_text(KERNEL)
    inputs = _inputs()
    trace = folder / "norm.ubtrace"
    done = run_ascendc(source, "norm", 1, inputs, _outputs(), CHIP, trace, values=VALUES)
    return inputs, done.outputs, read_trace(trace).events


def _reference(x, gamma, beta, r: int, eps: float):
    """float64 LayerNorm of each row (its first r elements give mean and
    variance; all of the padded row is normalised): (y, mean, rstd)."""
    x = x.astype(np.float64)
    mean = x[:, :r].mean(axis=1)
    var = ((x[:, :r] - mean[:, None]) ** 2).mean(axis=1)
    rstd = 1 / np.sqrt(var + eps)
    y = (x - mean[:, None]) * rstd[:, None]
    if gamma is not None:
        y = y * gamma.astype(np.float64)
    if beta is not None:
        y = y + beta.astype(np.float64)
    return y, mean, rstd


def _bounds(x, gamma, beta, r: int, eps: float):
    """Absolute error bounds of the twin's float path (sums in row order),
    first order in U: the mean's sum of r terms rounds r - 1 times, each by at
    most U times the running sum, below r max|x|, and the division once more:
    |dmean| <= (r + 1) U max|x|. The variance: each d = x - mean carries
    |dmean| + U|d|, its square 2|d| that plus U d^2, the sum r more roundings
    of at most U r max d^2, the division one: |dvar| <= 2 max|d| |dmean| + (r +
    3) U r max d^2 (+ (r+3) U var as relative rounding). rstd = 1 / sqrt(var +
    eps): relative error |dvar| / (2 (var + eps)) plus the sqrt's and the
    division's U each. y = d rstd gamma + beta: (|dmean| rstd + |d| drstd) |g|
    plus four roundings of U |term|. A factor 4 covers the second order."""
    x = x.astype(np.float64)
    y, mean, rstd = _reference(x, gamma, beta, r, eps)
    big = np.abs(x[:, :r]).max(axis=1)
    d = x - mean[:, None]
    dmax = np.abs(d[:, :r]).max(axis=1)
    var = 1 / rstd**2 - eps
    dmean = (r + 1) * U * big
    dvar = 2 * dmax * dmean + (r + 3) * U * (r * dmax**2 + var)
    drstd_rel = dvar / (2 * (var + eps)) + 2 * U
    g = np.abs(gamma.astype(np.float64)) if gamma is not None else 1.0
    term = (dmean[:, None] + np.abs(d) * drstd_rel[:, None]) * rstd[:, None] * g
    dy = 4 * (term + 4 * U * (np.abs(y) + np.abs(d) * rstd[:, None] * g))
    return dy, 4 * dmean, 4 * drstd_rel * rstd


def test_float_layernorm_per_row_with_mean_and_rstd(norm_run) -> None:
    inputs, outputs, _ = norm_run
    x = inputs["x"].reshape(A, RP)
    want, mean, rstd = _reference(x, inputs["g"], inputs["b"], R, EPS)
    dy, dmean, drstd = _bounds(x, inputs["g"], inputs["b"], R, EPS)
    got = outputs["y"].reshape(A, RP)
    np.testing.assert_array_less(np.abs(got - want), dy + 1e-30)
    # the nearly constant row: rstd ~ 1 / sqrt(EPS) = 2, only with EPS under the sqrt
    assert abs(rstd[2] - 2) < 1e-4
    # ym / yr: the NO_AFFINE call wrote them last, with the same x: the same values
    np.testing.assert_array_less(np.abs(outputs["ym"][:A] - mean), dmean + 1e-30)
    np.testing.assert_array_less(np.abs(outputs["yr"][:A] - rstd), drstd + 1e-30)


def test_float_layernorm_without_gamma_and_beta(norm_run) -> None:
    inputs, outputs, _ = norm_run
    x = inputs["x"].reshape(A, RP)
    want, _, _ = _reference(x, None, None, R, EPS)
    dy, _, _ = _bounds(x, None, None, R, EPS)
    got = outputs["y2"].reshape(A, RP)
    np.testing.assert_array_less(np.abs(got - want), dy + 1e-30)


def _assert_half(got: np.ndarray, want: np.ndarray) -> None:
    """Computed in float (errors near 1e-6 relative, far below a half's 2^-11)
    and rounded once to half: the float64 value rounded to half or, where the
    float error crosses a rounding midpoint, its neighbour."""
    reference = want.astype(np.float16)
    spacing = np.spacing(np.abs(reference)).astype(np.float64)
    error = np.abs(got.astype(np.float64) - reference.astype(np.float64))
    assert (error <= spacing).all(), (got, reference)


@pytest.mark.parametrize(("out", "gamma", "beta"), [("yh", "gf", "bf"), ("yhh", "gh", "bh")])
def test_half_layernorm_rounds_once(norm_run, out: str, gamma: str, beta: str) -> None:
    inputs, outputs, _ = norm_run
    xh = inputs["xh"].reshape(HA, HRP)
    want, mean, rstd = _reference(xh, inputs[gamma], inputs[beta], HR, HEPS)
    _assert_half(outputs[out].reshape(HA, HRP), want)
    # mean and rstd stay float: the bounds of the float path, x exact in float
    _, dmean, drstd = _bounds(xh.astype(np.float32), inputs[gamma], inputs[beta], HR, HEPS)
    np.testing.assert_array_less(np.abs(outputs[f"{out}m"][:HA] - mean), dmean + 1e-30)
    np.testing.assert_array_less(np.abs(outputs[f"{out}r"][:HA] - rstd), drstd + 1e-30)


def test_layernorm_events_by_hand(norm_run) -> None:
    *_, events = norm_run
    tag = f"norm.cpp:{line_of(KERNEL, 'LayerNorm<float, float>(ly, lm, lr, lx, lg, lb, 0.25f, tmp, FP, st)')}"
    out, mean, rstd = events[(events.tag == tag) & (events["name"] == "LayerNorm")].itertuples()
    # UB from 0, each buffer after the last (all whole 32 B): x 4 x 16 floats
    # = 256 B at 0, gamma 64 B at 256, beta 64 B at 320, tmp 256 B at 384, y
    # 256 B at 640, mean 32 B at 896, rstd 32 B at 928.
    # output: y (640) written, 64 floats = 256 B; sources tmp (384, 0 B
    # counted) first, then x (0, 256 B), gamma (64 B), beta (64 B); nine
    # steps an element (mean 2, variance 3, output 4): 64 x 9 = 576.
    assert (out.space, out.addr, out.src_addr, out.arg2) == ("UB", 640, 384, 0)
    assert out.flags & Flag.SECOND_SOURCE
    assert (out.aligned_size, out.arg) == (256, 576)
    assert out.size == 256 + 256 + 64 + 64
    # mean, then rstd: 4 floats = 16 B each, one operation an element; source
    # x with its bytes already counted (0 B).
    for event, addr in ((mean, 896), (rstd, 928)):
        assert (event.space, event.addr, event.src_addr) == ("UB", addr, 0)
        assert not event.flags & Flag.SECOND_SOURCE
        assert (event.size, event.arg) == (16, A)


@pytest.mark.parametrize(
    ("define", "marker", "problem"),
    [
        (
            "BAD_PAD",
            "LayerNormPara{A, R, R}",
            "LayerNorm: para.rLengthWithPadding 13 x 4 B is not a multiple of 32 B",
        ),
        (
            "SHORT_PAD",
            "LayerNormPara{A, 24, 16}",
            "LayerNorm: para.rLength 24 is beyond rLengthWithPadding 16",
        ),
        (
            "IN_PLACE",
            "LayerNorm<float, float>(lx, lm",
            "LayerNorm: output overlaps inputX (src and dst may not share space)",
        ),
        (
            "HALF_GAMMA",
            "LayerNorm<half, float>(ly",
            "LayerNorm: gamma and beta (U half) must not be less precise than inputX (T float)",
        ),
        (
            "ONLY_Y",
            "ONLY_OUTPUT>(ly",
            "LayerNorm: config.isOnlyOutput supports only false (y, mean and rstd all output)",
        ),
        (
            "BEYOND",
            "LayerNormPara{5, R, RP}",
            "LayerNorm: aLength x rLengthWithPadding 5 x 16 (80 elements) is beyond inputX's 64 elements",
        ),
    ],
)
def test_misuse_stops_at_its_line(tmp_path: Path, define: str, marker: str, problem: str) -> None:
    source = tmp_path / "norm.cpp"
    source.write_text(KERNEL)
    with stops_at("norm.cpp", KERNEL, marker, problem):
        run_ascendc(
            source, "norm", 1, _inputs(), _outputs(), CHIP, values=VALUES, defines=(define,)
        )
