"""The twin's LogSoftMax, SoftmaxGrad and SoftmaxFlash (high-level APIs, ND):
float and half (SoftmaxFlash also half data with float sum / max), rows of k
elements that are whole 32 B but not a multiple of 64, rows of large values
(exp would overflow without the max subtracted), against float64 numpy
oracles; the sum / max / expMax tensors' one 32 B block per row; SoftmaxGrad's
isFront row sums, its in-place form and a row padded past oriSrcK; a
SoftmaxFlash update that must agree with the softmax of the two blocks
concatenated; the events of three calls worked out by hand; misuse stops the
run at its line. The tiling data nests SoftMaxTiling and LogSoftMaxTiling,
which --tiling leaves at zero (the twin reads neither)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.softmax_oracle import (
    U,
    assert_rel,
    row_blocks,
    softmax_bound,
    softmax_rows,
    spread,
    sum_bound,
)
from tests.helpers.source_lines import line_of, stops_at
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.ascendc.tiling import LaunchValues
from ubscope.probe.chip import load_chip
from ubscope.probe.events import Flag
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
ROWS, K = 5, 40  # float: a row of 40 is 160 B, whole 32 B, not a multiple of 64
HROWS, HK = 3, 48  # half: a row of 48 is 96 B
ORI_K = 36  # SoftmaxGrad's padded case: the row sums take the first 36 of 40
UH = 2.0**-11  # half's unit roundoff
LN10 = math.log(10)

# Float inputs: x (LogSoftMax, SoftmaxFlash's first block), xb (its second
# block), gr / pr (SoftmaxGrad's grad and src); half: xh, xhb, grh, prh.
# Outputs: zl* LogSoftMax, zg* SoftmaxGrad, zf* SoftmaxFlash (h: half data).
KERNEL = f"""\
#include "kernel_operator.h"
using namespace AscendC;
namespace optiling {{
BEGIN_TILING_DATA_DEF(SoftmaxMoreTiling)
  TILING_DATA_FIELD_DEF(uint32_t, rows);
  TILING_DATA_FIELD_DEF_STRUCT(SoftMaxTiling, softmaxTilingData);
  TILING_DATA_FIELD_DEF_STRUCT(LogSoftMaxTiling, logSoftmaxTilingData);
END_TILING_DATA_DEF;
REGISTER_TILING_DATA_CLASS(more, SoftmaxMoreTiling)
}}
constexpr uint32_t R = {ROWS}, K = {K}, HR = {HROWS}, HK = {HK}, ORI_K = {ORI_K};
extern "C" __global__ __aicore__ void more(GM_ADDR x, GM_ADDR xb, GM_ADDR gr, GM_ADDR pr, GM_ADDR xh,
                                           GM_ADDR xhb, GM_ADDR grh, GM_ADDR prh, GM_ADDR zl, GM_ADDR zls,
                                           GM_ADDR zlm, GM_ADDR zlh, GM_ADDR zlsh, GM_ADDR zlmh, GM_ADDR zg,
                                           GM_ADDR zgf, GM_ADDR zgp, GM_ADDR zgh, GM_ADDR zgfh, GM_ADDR zf,
                                           GM_ADDR zfs0, GM_ADDR zfm0, GM_ADDR zfs, GM_ADDR zfm, GM_ADDR zfe,
                                           GM_ADDR zfh, GM_ADDR zfsf, GM_ADDR zfmf, GM_ADDR zfeh,
                                           GM_ADDR zfsh, GM_ADDR zfmh, GM_ADDR zfeh2, GM_ADDR zlp,
                                           GM_ADDR zlps, GM_ADDR zlpm, GM_ADDR tiling) {{
    GET_TILING_DATA(t, tiling);
    const uint32_t rows = t.rows;
    TPipe pipe;
    TBuf<QuePosition::VECCALC> ba, bb, bg, bp, btmp, bl, bls, blm, bgd, bgf, bgp, bfd, bfs, bfm, bfe;
    TBuf<QuePosition::VECCALC> bh, bhb, bgh, bph, blh, blsh, blmh, bgdh, bgfh, bfdh, bfsf, bfmf, bfeh;
    TBuf<QuePosition::VECCALC> bfsh, bfmh, bfeh2, blp, blps, blpm;
    pipe.InitBuffer(ba, R * K * 4);
    pipe.InitBuffer(bb, R * K * 4);
    pipe.InitBuffer(bg, R * K * 4);
    pipe.InitBuffer(bp, R * K * 4);
    pipe.InitBuffer(btmp, 256);
    pipe.InitBuffer(bl, R * K * 4);
    pipe.InitBuffer(bls, R * 32);
    pipe.InitBuffer(blm, R * 32);
    pipe.InitBuffer(bgd, 2 * R * K * 4);
    pipe.InitBuffer(bgf, R * 32);
    pipe.InitBuffer(bgp, R * 32);
    pipe.InitBuffer(bfd, 3 * R * K * 4);
    pipe.InitBuffer(bfs, R * 32);
    pipe.InitBuffer(bfm, R * 32);
    pipe.InitBuffer(bfe, R * 32);
    pipe.InitBuffer(bh, HR * HK * 2);
    pipe.InitBuffer(bhb, HR * HK * 2);
    pipe.InitBuffer(bgh, HR * HK * 2);
    pipe.InitBuffer(bph, HR * HK * 2);
    pipe.InitBuffer(blh, HR * HK * 2);
    pipe.InitBuffer(blsh, HR * 32);
    pipe.InitBuffer(blmh, HR * 32);
    pipe.InitBuffer(bgdh, HR * HK * 2);
    pipe.InitBuffer(bgfh, HR * 32);
    pipe.InitBuffer(bfdh, 4 * HR * HK * 2);
    pipe.InitBuffer(bfsf, HR * 32);
    pipe.InitBuffer(bfmf, HR * 32);
    pipe.InitBuffer(bfeh, HR * 32);
    pipe.InitBuffer(bfsh, HR * 32);
    pipe.InitBuffer(bfmh, HR * 32);
    pipe.InitBuffer(bfeh2, HR * 32);
    pipe.InitBuffer(blp, R * K * 4);
    pipe.InitBuffer(blps, R * 32);
    pipe.InitBuffer(blpm, R * 32);
    LocalTensor<float> a = ba.Get<float>(), b = bb.Get<float>(), g = bg.Get<float>(), p = bp.Get<float>();
    LocalTensor<float> l = bl.Get<float>(), ls = bls.Get<float>(), lm = blm.Get<float>();
    LocalTensor<float> gd = bgd.Get<float>(), gf = bgf.Get<float>(), gp = bgp.Get<float>();
    LocalTensor<float> fd = bfd.Get<float>(), fs = bfs.Get<float>(), fm = bfm.Get<float>(), fe = bfe.Get<float>();
    LocalTensor<half> h = bh.Get<half>(), hb = bhb.Get<half>(), gh = bgh.Get<half>(), ph = bph.Get<half>();
    LocalTensor<half> lh = blh.Get<half>(), lsh = blsh.Get<half>(), lmh = blmh.Get<half>();
    LocalTensor<half> gdh = bgdh.Get<half>(), gfh = bgfh.Get<half>(), fdh = bfdh.Get<half>();
    LocalTensor<float> fsf = bfsf.Get<float>(), fmf = bfmf.Get<float>();
    LocalTensor<half> feh = bfeh.Get<half>(), fsh = bfsh.Get<half>(), fmh = bfmh.Get<half>();
    LocalTensor<half> feh2 = bfeh2.Get<half>();
    LocalTensor<float> lp = blp.Get<float>(), lps = blps.Get<float>(), lpm = blpm.Get<float>();
    LocalTensor<uint8_t> tmp = btmp.Get<uint8_t>();
    GlobalTensor<float> gm;
    GlobalTensor<half> gmh;
    gm.SetGlobalBuffer((__gm__ float*)x, R * K);
    DataCopy(a, gm, R * K);
    gm.SetGlobalBuffer((__gm__ float*)xb, R * K);
    DataCopy(b, gm, R * K);
    gm.SetGlobalBuffer((__gm__ float*)gr, R * K);
    DataCopy(g, gm, R * K);
    gm.SetGlobalBuffer((__gm__ float*)pr, R * K);
    DataCopy(p, gm, R * K);
    DataCopy(gd[R * K], gm, R * K);  // SoftmaxGrad in place: src, then dst
    gmh.SetGlobalBuffer((__gm__ half*)xh, HR * HK);
    DataCopy(h, gmh, HR * HK);
    gmh.SetGlobalBuffer((__gm__ half*)xhb, HR * HK);
    DataCopy(hb, gmh, HR * HK);
    gmh.SetGlobalBuffer((__gm__ half*)grh, HR * HK);
    DataCopy(gh, gmh, HR * HK);
    gmh.SetGlobalBuffer((__gm__ half*)prh, HR * HK);
    DataCopy(ph, gmh, HR * HK);
    const SoftMaxShapeInfo FS{{rows, K, rows, K}};
    const SoftMaxShapeInfo HS{{HR, HK, HR, HK}};
    const SoftMaxTiling& st = t.softmaxTilingData;
    const LogSoftMaxTiling& lt = t.logSoftmaxTilingData;

    LogSoftMax<float>(l, ls, lm, a, tmp, lt, FS);
    LogSoftMax<half>(lh, lsh, lmh, h, tmp, lt, HS);
    LogSoftMax<float>(lp, lps, lpm, a, tmp, lt, SoftMaxShapeInfo{{R, K, R, ORI_K}});

    SoftmaxGrad<float>(gd, g, p, st, false, FS);
    SoftmaxGrad<float>(gd[R * K], g, gd[R * K], tmp, st, false, FS);
    SoftmaxGrad<float>(gf, g, p, tmp, st, true, FS);
    SoftmaxGrad<float>(gp, g, p, st, true, SoftMaxShapeInfo{{R, K, R, ORI_K}});
    SoftmaxGrad<half>(gdh, gh, ph, tmp, st, false, HS);
    SoftmaxGrad<half>(gfh, gh, ph, st, true, HS);

    SoftmaxFlash<float>(fd, fs, fm, a, fe, fs, fm, st, false, FS);
    gm.SetGlobalBuffer((__gm__ float*)zfs0, R * 8);
    DataCopy(gm, fs, R * 8);
    gm.SetGlobalBuffer((__gm__ float*)zfm0, R * 8);
    DataCopy(gm, fm, R * 8);
    SoftmaxFlash<float>(fd[R * K], fs, fm, b, fe, fs, fm, tmp, st, true, FS);
    SoftMax<float>(fd[2 * R * K], a, st, FS);  // the same as SoftmaxFlash without update
    SoftmaxFlash<half>(fdh, fsf, fmf, h, feh, fsf, fmf, st, false, HS);
    SoftmaxFlash<half>(fdh[HR * HK], fsf, fmf, hb, feh, fsf, fmf, tmp, st, true, HS);
    SoftmaxFlash<half>(fdh[2 * HR * HK], fsh, fmh, h, feh2, fsh, fmh, tmp, st, false, HS);
    SoftmaxFlash<half>(fdh[3 * HR * HK], fsh, fmh, hb, feh2, fsh, fmh, st, true, HS);
#ifdef LOG_IN_PLACE
    LogSoftMax<float>(a, ls, lm, a, tmp, lt, FS);
#endif
#ifdef LOG_RANGE
    a.SetValue(3, 3.0e9f);
    LogSoftMax<float>(l, ls, lm, a, tmp, lt, SoftMaxShapeInfo{{1, K, 1, K}});
#endif
#ifdef LOG_NO_SHAPE
    LogSoftMax<float>(l, ls, lm, a, tmp, lt);
#endif
#ifdef GRAD_TMP_ON_GRAD
    SoftmaxGrad<float>(gd, g, p, g.ReinterpretCast<uint8_t>(), st, false, FS);
#endif
#ifdef GRAD_DST_ROWS
    SoftmaxGrad<float>(gf, g, p, st, false, FS);
#endif
#ifdef GRAD_NZ
    SoftmaxGrad<float, false, true>(gd, g, p, st, false, FS);
#endif
#ifdef FLASH_SHORT_IN_MAX
    SoftmaxFlash<float>(fd, fs, fm, a, fe, fs, fm[32], st, true, FS);
#endif
#ifdef FLASH_BAD_K
    SoftmaxFlash<half>(fdh, fsf, fmf, h, feh, fsf, fmf, st, false, SoftMaxShapeInfo{{2, 20, 2, 20}});
#endif
    gm.SetGlobalBuffer((__gm__ float*)zl, R * K);
    DataCopy(gm, l, R * K);
    gm.SetGlobalBuffer((__gm__ float*)zls, R * 8);
    DataCopy(gm, ls, R * 8);
    gm.SetGlobalBuffer((__gm__ float*)zlm, R * 8);
    DataCopy(gm, lm, R * 8);
    gmh.SetGlobalBuffer((__gm__ half*)zlh, HR * HK);
    DataCopy(gmh, lh, HR * HK);
    gmh.SetGlobalBuffer((__gm__ half*)zlsh, HR * 16);
    DataCopy(gmh, lsh, HR * 16);
    gmh.SetGlobalBuffer((__gm__ half*)zlmh, HR * 16);
    DataCopy(gmh, lmh, HR * 16);
    gm.SetGlobalBuffer((__gm__ float*)zg, 2 * R * K);
    DataCopy(gm, gd, 2 * R * K);
    gm.SetGlobalBuffer((__gm__ float*)zgf, R * 8);
    DataCopy(gm, gf, R * 8);
    gm.SetGlobalBuffer((__gm__ float*)zgp, R * 8);
    DataCopy(gm, gp, R * 8);
    gmh.SetGlobalBuffer((__gm__ half*)zgh, HR * HK);
    DataCopy(gmh, gdh, HR * HK);
    gmh.SetGlobalBuffer((__gm__ half*)zgfh, HR * 16);
    DataCopy(gmh, gfh, HR * 16);
    gm.SetGlobalBuffer((__gm__ float*)zf, 3 * R * K);
    DataCopy(gm, fd, 3 * R * K);
    gm.SetGlobalBuffer((__gm__ float*)zfs, R * 8);
    DataCopy(gm, fs, R * 8);
    gm.SetGlobalBuffer((__gm__ float*)zfm, R * 8);
    DataCopy(gm, fm, R * 8);
    gm.SetGlobalBuffer((__gm__ float*)zfe, R * 8);
    DataCopy(gm, fe, R * 8);
    gmh.SetGlobalBuffer((__gm__ half*)zfh, 4 * HR * HK);
    DataCopy(gmh, fdh, 4 * HR * HK);
    gm.SetGlobalBuffer((__gm__ float*)zfsf, HR * 8);
    DataCopy(gm, fsf, HR * 8);
    gm.SetGlobalBuffer((__gm__ float*)zfmf, HR * 8);
    DataCopy(gm, fmf, HR * 8);
    gmh.SetGlobalBuffer((__gm__ half*)zfeh, HR * 16);
    DataCopy(gmh, feh, HR * 16);
    gmh.SetGlobalBuffer((__gm__ half*)zfsh, HR * 16);
    DataCopy(gmh, fsh, HR * 16);
    gmh.SetGlobalBuffer((__gm__ half*)zfmh, HR * 16);
    DataCopy(gmh, fmh, HR * 16);
    gmh.SetGlobalBuffer((__gm__ half*)zfeh2, HR * 16);
    DataCopy(gmh, feh2, HR * 16);
    gm.SetGlobalBuffer((__gm__ float*)zlp, R * K);
    DataCopy(gm, lp, R * K);
    gm.SetGlobalBuffer((__gm__ float*)zlps, R * 8);
    DataCopy(gm, lps, R * 8);
    gm.SetGlobalBuffer((__gm__ float*)zlpm, R * 8);
    DataCopy(gm, lpm, R * 8);
}}
"""

VALUES = LaunchValues(tiling={"rows": str(ROWS)})


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    f, hf = np.float32, np.float16
    x = (rng.standard_normal((ROWS, K)) * 2).astype(f)
    xb = (rng.standard_normal((ROWS, K)) * 2).astype(f)
    # Large rows: exp(1000) overflows float, so these rows come out finite only
    # with the row's max subtracted first.
    x[1] += 1000
    xb[1] += 1000
    xb[2] += 5  # a larger max in the second block: the update rescales the first
    gr = rng.standard_normal((ROWS, K)).astype(f)
    # SoftmaxGrad's src is a softmax output (rows of positive values summing to 1)
    pr = softmax_rows(rng.standard_normal((ROWS, K)) * 2)[0].astype(f)
    xh = rng.standard_normal((HROWS, HK)).astype(hf)
    xh[0] = (xh[0].astype(np.float32) + 1000).astype(hf)  # exp(1000) overflows float too
    xhb = rng.standard_normal((HROWS, HK)).astype(hf)
    xhb[1] = (xhb[1].astype(np.float32) + 3).astype(hf)
    grh = rng.standard_normal((HROWS, HK)).astype(hf)
    prh = softmax_rows(rng.standard_normal((HROWS, HK)))[0].astype(hf)
    named = {"x": x, "xb": xb, "gr": gr, "pr": pr, "xh": xh, "xhb": xhb, "grh": grh, "prh": prh}
    return {name: value.ravel() for name, value in named.items()}


def _outputs() -> dict[str, np.ndarray]:
    f, hf = np.float32, np.float16
    out = {
        "zl": np.zeros(ROWS * K, f),
        "zlh": np.zeros(HROWS * HK, hf),
        "zg": np.zeros(2 * ROWS * K, f),
        "zgh": np.zeros(HROWS * HK, hf),
        "zf": np.zeros(3 * ROWS * K, f),
        "zfh": np.zeros(4 * HROWS * HK, hf),
        "zlp": np.zeros(ROWS * K, f),
    }
    for name in ("zls", "zlm", "zlps", "zlpm", "zgf", "zgp", "zfs0", "zfm0", "zfs", "zfm", "zfe"):
        out[name] = np.full(ROWS * 8, -1, f)
    for name in ("zfsf", "zfmf"):
        out[name] = np.full(HROWS * 8, -1, f)
    for name in ("zlsh", "zlmh", "zgfh", "zfeh", "zfsh", "zfmh", "zfeh2"):
        out[name] = np.full(HROWS * 16, -1, hf)
    return out


@pytest.fixture(scope="module")
def more_run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("softmax_more")
    source = folder / "more.cpp"
    source.write_text(KERNEL)
    inputs = _inputs()
    trace = folder / "more.ubtrace"
    done = run_ascendc(source, "more", 1, inputs, _outputs(), CHIP, trace, values=VALUES)
    return inputs, done.outputs, read_trace(trace).events


def _rows(values: np.ndarray, rows: int) -> np.ndarray:
    return values.reshape(rows, -1).astype(np.float64)


def _assert_half(got: np.ndarray, want: np.ndarray, float_error: np.ndarray | float) -> None:
    """Computed in float and rounded once to half: within float_error (the
    float computation's bound) of the float64 value, rounding to half moves it
    by at most half a half-ulp at the float result, which is at most one
    spacing of the float64 value rounded to half (the float result may sit
    just past a power of two, where the ulp doubles)."""
    reference = np.abs(want.astype(np.float16))
    spacing = np.spacing(reference).astype(np.float64)
    error = np.abs(got.astype(np.float64) - want)
    assert (error <= spacing + float_error).all(), (got, want)


# ------------------------------------------------------------------ LogSoftMax


def _log_bound(x: np.ndarray, want: np.ndarray) -> np.ndarray:
    """dst = log10(e / sum): e / sum has _softmax_bound's relative error d, and
    log10(q (1 + d)) = log10(q) + d / ln 10 (1.01 covers the second order);
    log10f itself is within 2 ulp (4U relative) of its exact result."""
    return 1.01 * softmax_bound(x) / LN10 + 4 * U * np.abs(want)


def test_float_log_softmax_is_log10_of_softmax(more_run) -> None:
    inputs, out, _ = more_run
    x = _rows(inputs["x"], ROWS)
    top = x.max(axis=1)
    e = np.exp(x - top[:, None])
    want = np.log10(e / e.sum(axis=1, keepdims=True))
    got = _rows(out["zl"], ROWS)
    assert np.isfinite(got).all()  # the 1000s row: the max was subtracted
    assert (np.abs(got - want) <= _log_bound(x, want)).all()
    # base 10, not e: a natural log would be ln 10 = 2.3 times larger
    assert np.abs(got - np.log(e / e.sum(axis=1, keepdims=True))).max() > 0.5
    np.testing.assert_array_equal(row_blocks(out["zlm"], ROWS, 8), top.astype(np.float32))
    assert_rel(row_blocks(out["zls"], ROWS, 8), e.sum(axis=1), sum_bound(x))


def test_log_softmax_padded_rows_take_their_first_ori_k(more_run) -> None:
    """oriSrcK 36 of srcK 40: the max and sum of a row take its first 36
    elements; all 40 are written, each log10(exp(x - max) / sum) of its own x."""
    inputs, out, _ = more_run
    x = _rows(inputs["x"], ROWS)
    top = x[:, :ORI_K].max(axis=1)
    e = np.exp(x - top[:, None])
    total = e[:, :ORI_K].sum(axis=1)
    want = np.log10(e / total[:, None])
    got = _rows(out["zlp"], ROWS)
    assert (np.abs(got - want) <= _log_bound(x, want)).all()
    np.testing.assert_array_equal(row_blocks(out["zlpm"], ROWS, 8), top.astype(np.float32))
    assert_rel(row_blocks(out["zlps"], ROWS, 8), total, sum_bound(x))
    assert (x[:, ORI_K:].max(axis=1) > top).any()  # a padded element above the max


def test_half_log_softmax_rounds_once(more_run) -> None:
    inputs, out, _ = more_run
    xh = _rows(inputs["xh"], HROWS)
    top = xh.max(axis=1)
    e = np.exp(xh - top[:, None])
    want = np.log10(e / e.sum(axis=1, keepdims=True))
    got = out["zlh"].reshape(HROWS, HK)
    assert np.isfinite(got.astype(np.float32)).all()
    _assert_half(got, want, _log_bound(xh, want))
    # sum and max in half, 16 a block; the max is a half input, exact
    np.testing.assert_array_equal(row_blocks(out["zlmh"], HROWS, 16), top.astype(np.float16))
    _assert_half(row_blocks(out["zlsh"], HROWS, 16), e.sum(axis=1), sum_bound(xh) * e.sum(axis=1))


# ----------------------------------------------------------------- SoftmaxGrad


def _grad_reference(g: np.ndarray, p: np.ndarray, columns: int) -> tuple[np.ndarray, ...]:
    """float64 (row sums of g x p over the first ``columns``, dst, and the float
    bound of the sums): each product rounds once (U) and the k terms summed in
    order round k - 1 times more, so a sum is within (k + 1)U sum|g p|."""
    total = (g[:, :columns] * p[:, :columns]).sum(axis=1)
    error = (columns + 1) * U * np.abs(g[:, :columns] * p[:, :columns]).sum(axis=1)
    return total, (g - total[:, None]) * p, error


def _grad_bound(g: np.ndarray, p: np.ndarray, total: np.ndarray, error: np.ndarray) -> np.ndarray:
    """dst = (g - sum) x p: the sum's error carried through the product (|p|
    times it), the subtraction and the product each round once (2U of the
    result, 3U with the second-order terms)."""
    return np.abs(p) * error[:, None] + 3 * U * np.abs((g - total[:, None]) * p)


def test_float_softmax_grad_full_front_in_place_and_padded(more_run) -> None:
    inputs, out, _ = more_run
    g, p = _rows(inputs["gr"], ROWS), _rows(inputs["pr"], ROWS)
    total, want, error = _grad_reference(g, p, K)
    z = out["zg"].reshape(2, ROWS, K).astype(np.float64)
    assert (np.abs(z[0] - want) <= _grad_bound(g, p, total, error)).all()
    # dst may be src: the same result computed in place
    np.testing.assert_array_equal(z[1], z[0])
    # isFront: the row sums only, one 8-float block a row
    assert (np.abs(row_blocks(out["zgf"], ROWS, 8) - total) <= error).all()
    # oriSrcK 36 of srcK 40: the sums take the first 36 columns
    padded, _, padded_error = _grad_reference(g, p, ORI_K)
    assert (np.abs(row_blocks(out["zgp"], ROWS, 8) - padded) <= padded_error).all()
    assert (np.abs(padded - total) > 10 * error).any()  # the 4 columns matter


def test_half_softmax_grad_rounds_once(more_run) -> None:
    inputs, out, _ = more_run
    g, p = _rows(inputs["grh"], HROWS), _rows(inputs["prh"], HROWS)
    total, want, error = _grad_reference(g, p, HK)
    _assert_half(out["zgh"].reshape(HROWS, HK), want, _grad_bound(g, p, total, error))
    _assert_half(row_blocks(out["zgfh"], HROWS, 16), total, error)


# ---------------------------------------------------------------- SoftmaxFlash


def test_float_softmax_flash_without_update_is_softmax(more_run) -> None:
    inputs, out, _ = more_run
    x = _rows(inputs["x"], ROWS)
    z = out["zf"].reshape(3, ROWS, K)
    top = x.max(axis=1, keepdims=True)
    e = np.exp(x - top)
    assert np.isfinite(z[0]).all()
    assert_rel(z[0], e / e.sum(axis=1, keepdims=True), softmax_bound(x))
    np.testing.assert_array_equal(z[0], z[2])  # SoftMax's own result
    np.testing.assert_array_equal(row_blocks(out["zfm0"], ROWS, 8), top[:, 0].astype(np.float32))
    assert_rel(row_blocks(out["zfs0"], ROWS, 8), e.sum(axis=1), sum_bound(x))


def _flash_update(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, ...]:
    """float64 SoftmaxFlash over ``second`` after ``first``: the softmax
    statistics of the two blocks concatenated, dst the second block's part,
    expMax the first block's share of the new sum."""
    both = np.concatenate([first, second], axis=1)
    old_top = first.max(axis=1, keepdims=True)
    top = both.max(axis=1, keepdims=True)
    total = np.exp(both - top).sum(axis=1, keepdims=True)
    carried = np.exp(old_top - top) * np.exp(first - old_top).sum(axis=1, keepdims=True)
    return np.exp(second - top) / total, top[:, 0], total[:, 0], (carried / total)[:, 0]


def test_float_softmax_flash_update_matches_the_concatenated_rows(more_run) -> None:
    inputs, out, _ = more_run
    x, xb = _rows(inputs["x"], ROWS), _rows(inputs["xb"], ROWS)
    dst, top, total, exp_max = _flash_update(x, xb)
    both = np.concatenate([x, xb], axis=1)
    np.testing.assert_array_equal(row_blocks(out["zfm"], ROWS, 8), top.astype(np.float32))
    # the new sum: inSum's error (sum_bound of x), exp(inMax - max)'s
    # ((spread + 2)U), the product and the addition (U each), the new row
    # sum's sum_bound against the new max
    new_sum_bound = sum_bound(x) + (spread(both) + 2) * U + 2 * U + sum_bound(both)
    assert_rel(row_blocks(out["zfs"], ROWS, 8), total, new_sum_bound)
    # dst = exp(b - max) / sum: exp's (spread + 2)U, the sum's, the division's U
    assert_rel(out["zf"].reshape(3, ROWS, K)[1], dst, (spread(both) + 2) * U + new_sum_bound + U)
    # expMax = exp(inMax - max) x inSum / sum: the carried term's error, the
    # sum's, the division's U
    carried_bound = sum_bound(x) + (spread(both) + 2) * U + U
    assert_rel(row_blocks(out["zfe"], ROWS, 8), exp_max, carried_bound + new_sum_bound + U)
    assert (exp_max < 0.05).any() and (exp_max > 0.3).any()  # rows rescaled, rows not


def test_half_softmax_flash_mixed_and_same_types(more_run) -> None:
    inputs, out, _ = more_run
    xh, xhb = _rows(inputs["xh"], HROWS), _rows(inputs["xhb"], HROWS)
    z = out["zfh"].reshape(4, HROWS, HK)
    both = np.concatenate([xh, xhb], axis=1)
    first = softmax_rows(xh)[0]
    dst, top, total, exp_max = _flash_update(xh, xhb)
    # float bounds of the update as in the float test (half inputs widen exactly)
    new_sum_bound = sum_bound(xh) + (spread(both) + 2) * U + 2 * U + sum_bound(both)
    dst_bound = (spread(both) + 2) * U + new_sum_bound + U
    exp_max_bound = sum_bound(xh) + (spread(both) + 2) * U + U + new_sum_bound + U
    # half data, float sum and max: without update, softmax rounded once
    _assert_half(z[0], first, softmax_bound(xh) * first)
    _assert_half(z[1], dst, dst_bound * dst)
    np.testing.assert_array_equal(row_blocks(out["zfmf"], HROWS, 8), top.astype(np.float32))
    assert_rel(row_blocks(out["zfsf"], HROWS, 8), total, new_sum_bound)
    _assert_half(row_blocks(out["zfeh"], HROWS, 16), exp_max, exp_max_bound * exp_max)
    # all half: the same dst without update; with update the first call's sum
    # was rounded to half (UH relative more in the carried term, so in sum,
    # dst and expMax), its max is a half input (exact)
    np.testing.assert_array_equal(z[2], z[0])
    _assert_half(z[3], dst, (dst_bound + 2 * UH) * dst)
    np.testing.assert_array_equal(row_blocks(out["zfmh"], HROWS, 16), top.astype(np.float16))
    _assert_half(row_blocks(out["zfsh"], HROWS, 16), total, (new_sum_bound + UH) * total)
    _assert_half(row_blocks(out["zfeh2"], HROWS, 16), exp_max, (exp_max_bound + 2 * UH) * exp_max)


# ---------------------------------------------------------------------- events


def _events_at(events, marker: str, name: str) -> list:
    tag = f"more.cpp:{line_of(KERNEL, marker)}"
    return list(events[(events.tag == tag) & (events["name"] == name)].itertuples())


# UB from 0, each buffer after the last (all whole 32 B blocks): a, b, g, p
# 5 x 40 floats = 800 B each at 0, 800, 1600, 2400; tmp 256 B at 3200; l 800 B
# at 3456; ls, lm 5 x 32 = 160 B at 4256, 4416; gd 2 x 800 B at 4576; gf 160 B
# at 6176; gp 160 B at 6336; fd 3 x 800 B at 6496; fs, fm, fe 160 B at 8896,
# 9056, 9216.


def test_log_softmax_events_by_hand(more_run) -> None:
    *_, events = more_run
    marker = "LogSoftMax<float>(l, ls, lm, a, tmp, lt, FS)"
    dst, total, top = _events_at(events, marker, "LogSoftMax")
    # dst: l (3456) written, 200 floats = 800 B; sources tmp (3200, 0 B
    # counted), then a (0, 800 B read); six steps an element (reducemax, sub,
    # exp, reducesum, div, log): 200 x 6 = 1200 operations.
    assert (dst.space, dst.addr, dst.src_addr, dst.arg2) == ("UB", 3456, 3200, 0)
    assert dst.flags & Flag.SECOND_SOURCE and not dst.flags & Flag.THIRD_SOURCE
    assert (dst.aligned_size, dst.size, dst.arg) == (800, 800 + 800, 1200)
    # sum, then max: 5 rows x 8 floats = 160 B, the broadcast one operation an
    # element (40); source a, its bytes already counted (0 B).
    for event, addr in ((total, 4256), (top, 4416)):
        assert (event.space, event.addr, event.src_addr) == ("UB", addr, 0)
        assert not event.flags & Flag.SECOND_SOURCE
        assert (event.aligned_size, event.size, event.arg) == (160, 160, ROWS * 8)


def test_softmax_grad_front_event_by_hand(more_run) -> None:
    *_, events = more_run
    (front,) = _events_at(events, "SoftmaxGrad<float>(gf, g, p, tmp, st, true, FS)", "SoftmaxGrad")
    # gf (6176) written: 5 rows x 32 B = 160 B; sources tmp (3200, 0 B), g
    # (1600, 800 B), p (2400, 800 B) as first, second and third; the 200
    # elements of g x p twice (mul, reducesum): 400 operations.
    assert (front.space, front.addr) == ("UB", 6176)
    assert (front.src_addr, front.arg2, front.burst_len) == (3200, 1600, 2400)
    assert front.flags & Flag.SECOND_SOURCE and front.flags & Flag.THIRD_SOURCE
    assert (front.aligned_size, front.size, front.arg) == (160, 160 + 800 + 800, 400)


def test_softmax_flash_update_events_by_hand(more_run) -> None:
    *_, events = more_run
    marker = "SoftmaxFlash<float>(fd[R * K], fs, fm, b, fe, fs, fm, tmp, st, true, FS)"
    dst, total, top, exp_max = _events_at(events, marker, "SoftmaxFlash")
    # dst: fd[200] (6496 + 800 = 7296) written, 800 B; sources tmp (3200, 0 B),
    # b (800, 800 B), inSum fs (8896, 160 B), inMax fm (9056, 160 B), the first
    # three recorded; 5 steps an element: 1000 operations.
    assert (dst.space, dst.addr) == ("UB", 7296)
    assert (dst.src_addr, dst.arg2, dst.burst_len) == (3200, 800, 8896)
    assert dst.flags & Flag.THIRD_SOURCE
    assert (dst.aligned_size, dst.size, dst.arg) == (800, 800 + 800 + 160 + 160, 1000)
    # sum into fs, max into fm, expMax into fe: 160 B each, 40 operations; the
    # sources b, inSum, inMax (max: b, inMax) with 0 B counted
    assert (total.addr, total.src_addr, total.arg2, total.burst_len) == (8896, 800, 8896, 9056)
    assert (top.addr, top.src_addr, top.arg2) == (9056, 800, 9056)
    assert not top.flags & Flag.THIRD_SOURCE
    assert exp_max.addr == 9216
    assert (exp_max.src_addr, exp_max.arg2, exp_max.burst_len) == (800, 8896, 9056)
    for event in (total, top, exp_max):
        assert (event.aligned_size, event.size, event.arg) == (160, 160, ROWS * 8)


# ---------------------------------------------------------------------- misuse


@pytest.mark.parametrize(
    ("define", "marker", "problem"),
    [
        (
            "LOG_IN_PLACE",
            "LogSoftMax<float>(a, ls, lm, a, tmp, lt, FS)",
            "LogSoftMax: dst overlaps src",
        ),
        (
            "LOG_RANGE",
            "SoftMaxShapeInfo{1, K, 1, K}",
            "LogSoftMax: src[0, 3] = 3e+09 is outside [-2147483647, 2147483647], where the result is valid",
        ),
        (
            "LOG_NO_SHAPE",
            "LogSoftMax<float>(l, ls, lm, a, tmp, lt);",
            "LogSoftMax: softmaxShapeInfo srcM 0, srcK 0: the twin takes the shape from "
            "SoftMaxShapeInfo{srcM, srcK, oriSrcM, oriSrcK} (it has no tensor ShapeInfo and does not read the tiling)",
        ),
        (
            "GRAD_TMP_ON_GRAD",
            "g.ReinterpretCast<uint8_t>()",
            "SoftmaxGrad: sharedTmpBuffer overlaps gradTensor",
        ),
        (
            "GRAD_DST_ROWS",
            "SoftmaxGrad<float>(gf, g, p, st, false, FS)",
            "SoftmaxGrad: srcM x srcK 5 x 40 (200 elements) is beyond dstTensor's 40 elements",
        ),
        (
            "GRAD_NZ",
            "SoftmaxGrad<float, false, true>",
            "SoftmaxGrad: isDataFormatNZ: the twin does not cover the NZ format yet (ND only)",
        ),
        (
            "FLASH_SHORT_IN_MAX",
            "fm[32], st, true, FS)",
            "SoftmaxFlash: srcM 5 x 32 B (40 elements) is beyond inMaxTensor's 8 elements",
        ),
        (
            "FLASH_BAD_K",
            "SoftMaxShapeInfo{2, 20, 2, 20}",
            "SoftmaxFlash: softmaxShapeInfo.srcK 20 x 2 B is not a multiple of 32 B",
        ),
    ],
)
def test_misuse_stops_at_its_line(tmp_path: Path, define: str, marker: str, problem: str) -> None:
    source = tmp_path / "more.cpp"
    source.write_text(KERNEL)
    with stops_at("more.cpp", KERNEL, marker, problem):
        run_ascendc(
            source, "more", 1, _inputs(), _outputs(), CHIP, values=VALUES, defines=(define,)
        )
