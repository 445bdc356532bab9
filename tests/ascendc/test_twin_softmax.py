"""The twin's SoftMax, SimpleSoftMax and SoftmaxFlashV2 (high-level APIs, ND):
float and half (and half data with float sum / max), rows of k elements that
are whole 32 B but not a multiple of 64, rows of large values (exp would
overflow without the max subtracted), against float64 numpy oracles; the sum
and max tensors' one 32 B block per row; a FlashV2 update that must agree with
the softmax statistics of the two blocks concatenated; the events of one call
worked out by hand; misuse stops the run at its line. The tiling data nests
SoftMaxTiling, which --tiling leaves at zero (the twin reads none of it)."""

from __future__ import annotations

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

# a, b: float inputs; h: half; d: five float result sections (SoftMax with
# tmp, SimpleSoftMax, FlashV2 without and with update, SoftMax without
# sum / max); dh: two half sections (same-type and mixed forms).
KERNEL = f"""\
#include "kernel_operator.h"
using namespace AscendC;
namespace optiling {{
BEGIN_TILING_DATA_DEF(SoftmaxCaseTiling)
  TILING_DATA_FIELD_DEF(uint32_t, rows);
  TILING_DATA_FIELD_DEF_STRUCT(SoftMaxTiling, softmaxTilingData);
END_TILING_DATA_DEF;
REGISTER_TILING_DATA_CLASS(softmax, SoftmaxCaseTiling)
}}
constexpr uint32_t R = {ROWS}, K = {K}, HR = {HROWS}, HK = {HK};
extern "C" __global__ __aicore__ void softmax(GM_ADDR x, GM_ADDR xb, GM_ADDR xh, GM_ADDR insum,
                                              GM_ADDR inmax, GM_ADDR z, GM_ADDR zs, GM_ADDR zm,
                                              GM_ADDR zh, GM_ADDR zsh, GM_ADDR zmh, GM_ADDR zsf,
                                              GM_ADDR zmf, GM_ADDR zfs0, GM_ADDR zfm0, GM_ADDR zfs,
                                              GM_ADDR zfm, GM_ADDR zfe, GM_ADDR tiling) {{
    GET_TILING_DATA(t, tiling);
    const uint32_t rows = t.rows;
    TPipe pipe;
    TBuf<QuePosition::VECCALC> ba, bb, btmp, bd, bs, bm, bh, bdh, bsh, bmh, bsf, bmf, bis, bim, bfs, bfm, bfe;
    pipe.InitBuffer(ba, R * K * 4);
    pipe.InitBuffer(bb, R * K * 4);
    pipe.InitBuffer(btmp, 256);
    pipe.InitBuffer(bd, 5 * R * K * 4);
    pipe.InitBuffer(bs, R * 32);
    pipe.InitBuffer(bm, R * 32);
    pipe.InitBuffer(bh, HR * HK * 2);
    pipe.InitBuffer(bdh, 2 * HR * HK * 2);
    pipe.InitBuffer(bsh, HR * 32);
    pipe.InitBuffer(bmh, HR * 32);
    pipe.InitBuffer(bsf, HR * 32);
    pipe.InitBuffer(bmf, HR * 32);
    pipe.InitBuffer(bis, R * 32);
    pipe.InitBuffer(bim, R * 32);
    pipe.InitBuffer(bfs, R * 32);
    pipe.InitBuffer(bfm, R * 32);
    pipe.InitBuffer(bfe, R * 32);
    LocalTensor<float> a = ba.Get<float>(), b = bb.Get<float>(), d = bd.Get<float>();
    LocalTensor<float> s = bs.Get<float>(), m = bm.Get<float>(), sf = bsf.Get<float>(), mf = bmf.Get<float>();
    LocalTensor<float> is = bis.Get<float>(), im = bim.Get<float>();
    LocalTensor<float> fs = bfs.Get<float>(), fm = bfm.Get<float>(), fe = bfe.Get<float>();
    LocalTensor<half> h = bh.Get<half>(), dh = bdh.Get<half>(), sh = bsh.Get<half>(), mh = bmh.Get<half>();
    LocalTensor<uint8_t> tmp = btmp.Get<uint8_t>();
    GlobalTensor<float> g;
    GlobalTensor<half> gh;
    g.SetGlobalBuffer((__gm__ float*)x, R * K);
    DataCopy(a, g, R * K);
    g.SetGlobalBuffer((__gm__ float*)xb, R * K);
    DataCopy(b, g, R * K);
    gh.SetGlobalBuffer((__gm__ half*)xh, HR * HK);
    DataCopy(h, gh, HR * HK);
    g.SetGlobalBuffer((__gm__ float*)insum, R * 8);
    DataCopy(is, g, R * 8);
    g.SetGlobalBuffer((__gm__ float*)inmax, R * 8);
    DataCopy(im, g, R * 8);
    const SoftMaxShapeInfo FS{{rows, K, rows, K}};
    const SoftMaxShapeInfo HS{{HR, HK, HR, HK}};
    const SoftMaxTiling& st = t.softmaxTilingData;
    SoftMax<float>(d, s, m, a, tmp, st, FS);
    SimpleSoftMax<float>(d[R * K], is, im, a, st, FS);
    SoftmaxFlashV2<float>(d[2 * R * K], fs, fm, a, fe, fs, fm, st, FS);
    g.SetGlobalBuffer((__gm__ float*)zfs0, R * 8);
    DataCopy(g, fs, R * 8);
    g.SetGlobalBuffer((__gm__ float*)zfm0, R * 8);
    DataCopy(g, fm, R * 8);
    SoftmaxFlashV2<float, true>(d[3 * R * K], fs, fm, b, fe, fs, fm, tmp, st, FS);
    SoftMaxTiling local{{}};  // a tiling of the kernel's own: the twin reads none of it
    SoftMax<float>(d[4 * R * K], a, local, FS);
    SoftMax<half>(dh, sh, mh, h, st, HS);
    SoftMax<half>(dh[HR * HK], sf, mf, h, tmp, st, HS);
#ifdef BAD_K
    SoftMax<float>(d, s, m, a, st, SoftMaxShapeInfo{{2, 20, 2, 20}});
#endif
#ifdef BEYOND
    SoftMax<float>(d, s, m, a, st, SoftMaxShapeInfo{{6, 40, 6, 40}});
#endif
#ifdef NZ_FORMAT
    SoftMax<float, false, false, true>(d, s, m, a, st, FS);
#endif
#ifdef NO_SHAPE
    SimpleSoftMax<float>(d, is, im, a, st);
#endif
    g.SetGlobalBuffer((__gm__ float*)z, 5 * R * K);
    DataCopy(g, d, 5 * R * K);
    g.SetGlobalBuffer((__gm__ float*)zs, R * 8);
    DataCopy(g, s, R * 8);
    g.SetGlobalBuffer((__gm__ float*)zm, R * 8);
    DataCopy(g, m, R * 8);
    gh.SetGlobalBuffer((__gm__ half*)zh, 2 * HR * HK);
    DataCopy(gh, dh, 2 * HR * HK);
    gh.SetGlobalBuffer((__gm__ half*)zsh, HR * 16);
    DataCopy(gh, sh, HR * 16);
    gh.SetGlobalBuffer((__gm__ half*)zmh, HR * 16);
    DataCopy(gh, mh, HR * 16);
    g.SetGlobalBuffer((__gm__ float*)zsf, HR * 8);
    DataCopy(g, sf, HR * 8);
    g.SetGlobalBuffer((__gm__ float*)zmf, HR * 8);
    DataCopy(g, mf, HR * 8);
    g.SetGlobalBuffer((__gm__ float*)zfs, R * 8);
    DataCopy(g, fs, R * 8);
    g.SetGlobalBuffer((__gm__ float*)zfm, R * 8);
    DataCopy(g, fm, R * 8);
    g.SetGlobalBuffer((__gm__ float*)zfe, R * 8);
    DataCopy(g, fe, R * 8);
}}
"""

VALUES = LaunchValues(tiling={"rows": str(ROWS)})


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((ROWS, K)) * 2).astype(np.float32)
    xb = (rng.standard_normal((ROWS, K)) * 2).astype(np.float32)
    # Large rows: exp(1000) overflows float (and exp(90) too), so these rows
    # come out finite only with the row's max subtracted first.
    x[1] += 1000
    xb[1] += 1000  # FlashV2's second block: its max is again near 1000
    xb[2] += 5  # a larger max in the second block: the update rescales the first
    xh = rng.standard_normal((HROWS, HK)).astype(np.float16)
    xh[0] = (xh[0].astype(np.float32) + 1000).astype(np.float16)  # exp(1000) overflows float too
    # SimpleSoftMax's given max and sum: not the row's own (a max 0.5 below it,
    # sums 3, 4, ...), each repeated over its row's 8-float block
    in_max = np.repeat(x.max(axis=1) - 0.5, 8).astype(np.float32)
    in_sum = np.repeat(3.0 + np.arange(ROWS), 8).astype(np.float32)
    return {"x": x.ravel(), "xb": xb.ravel(), "xh": xh.ravel(), "insum": in_sum, "inmax": in_max}


def _outputs() -> dict[str, np.ndarray]:
    f, hf = np.float32, np.float16
    out = {"z": np.zeros(5 * ROWS * K, f), "zh": np.zeros(2 * HROWS * HK, hf)}
    for name in ("zs", "zm", "zfs0", "zfm0", "zfs", "zfm", "zfe"):
        out[name] = np.full(ROWS * 8, -1, f)
    out |= {"zsh": np.full(HROWS * 16, -1, hf), "zmh": np.full(HROWS * 16, -1, hf)}
    out |= {"zsf": np.full(HROWS * 8, -1, f), "zmf": np.full(HROWS * 8, -1, f)}
    return out


@pytest.fixture(scope="module")
def softmax_run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("softmax")
    source = folder / "softmax.cpp"
    source.write_text(KERNEL)
    inputs = _inputs()
    trace = folder / "softmax.ubtrace"
    done = run_ascendc(source, "softmax", 1, inputs, _outputs(), CHIP, trace, values=VALUES)
    return inputs, done.outputs, read_trace(trace).events


def _assert_half(got: np.ndarray, want: np.ndarray) -> None:
    """Computed in float (relative errors near 1e-5, far below a half's 2^-11)
    and rounded once to half: the float64 value rounded to half or, where the
    float error crosses a rounding midpoint, its neighbour."""
    reference = want.astype(np.float16)
    spacing = np.spacing(np.abs(reference)).astype(np.float64)
    error = np.abs(got.astype(np.float64) - reference.astype(np.float64))
    assert (error <= spacing).all(), (got, reference)


def test_float_softmax_per_row_with_block_sum_and_max(softmax_run) -> None:
    inputs, out, _ = softmax_run
    x = inputs["x"].reshape(ROWS, K)
    dst, top, total = softmax_rows(x)
    z = out["z"].reshape(5, ROWS, K)
    assert np.isfinite(z[0]).all()  # the 1000s row: the max was subtracted
    assert_rel(z[0], dst, softmax_bound(x))
    np.testing.assert_allclose(z[0].astype(np.float64).sum(axis=1), 1, rtol=K * softmax_bound(x))
    np.testing.assert_array_equal(row_blocks(out["zm"], ROWS, 8), top.astype(np.float32))
    assert_rel(row_blocks(out["zs"], ROWS, 8), total, sum_bound(x))
    # the form without sum and max gives the same dst
    np.testing.assert_array_equal(z[4], z[0])


def test_half_softmax_rounds_once_same_and_mixed_types(softmax_run) -> None:
    inputs, out, _ = softmax_run
    xh = inputs["xh"].reshape(HROWS, HK)
    dst, top, total = softmax_rows(xh)
    zh = out["zh"].reshape(2, HROWS, HK)
    assert np.isfinite(zh.astype(np.float32)).all()
    for section in range(2):
        _assert_half(zh[section], dst)
    np.testing.assert_array_equal(zh[0], zh[1])  # the same float computation
    # same types: half sum and max, 16 a block; the max is a half input, exact
    np.testing.assert_array_equal(row_blocks(out["zmh"], HROWS, 16), top.astype(np.float16))
    _assert_half(row_blocks(out["zsh"], HROWS, 16), total)
    # half data, float sum and max, 8 a block
    np.testing.assert_array_equal(row_blocks(out["zmf"], HROWS, 8), top.astype(np.float32))
    assert_rel(row_blocks(out["zsf"], HROWS, 8), total, sum_bound(xh))


def test_simple_softmax_uses_the_given_max_and_sum(softmax_run) -> None:
    inputs, out, _ = softmax_run
    x = inputs["x"].reshape(ROWS, K).astype(np.float64)
    in_max = inputs["inmax"].reshape(ROWS, 8)[:, :1].astype(np.float64)
    in_sum = inputs["insum"].reshape(ROWS, 8)[:, :1].astype(np.float64)
    want = np.exp(x - in_max) / in_sum
    # exp of x - inMax: (|x - inMax| + 2)U; one division: U
    bound = (spread(x) + 0.5 + 3) * U
    assert_rel(out["z"].reshape(5, ROWS, K)[1], want, bound)


def test_flash_v2_without_and_with_update(softmax_run) -> None:
    inputs, out, _ = softmax_run
    x = inputs["x"].reshape(ROWS, K).astype(np.float64)
    xb = inputs["xb"].reshape(ROWS, K).astype(np.float64)
    z = out["z"].reshape(5, ROWS, K)
    # isUpdate false: dst = exp(x - max), not divided; the sum and max of x
    top = x.max(axis=1, keepdims=True)
    assert_rel(z[2], np.exp(x - top), (spread(x) + 2) * U)
    np.testing.assert_array_equal(row_blocks(out["zfm0"], ROWS, 8), top[:, 0].astype(np.float32))
    assert_rel(row_blocks(out["zfs0"], ROWS, 8), np.exp(x - top).sum(axis=1), sum_bound(x))
    # isUpdate true over the second block b, max and sum updated in place: the
    # max and sum of each row of [x, b] concatenated, as FlashAttention-2
    # needs; dst = exp(b - new max), expMax = exp(old max - new max).
    both = np.concatenate([x, xb], axis=1)
    new_top = both.max(axis=1, keepdims=True)
    np.testing.assert_array_equal(row_blocks(out["zfm"], ROWS, 8), new_top[:, 0].astype(np.float32))
    assert_rel(z[3], np.exp(xb - new_top), (spread(both) + 2) * U)
    expmax = np.exp(top - new_top)[:, 0]
    assert_rel(row_blocks(out["zfe"], ROWS, 8), expmax, (spread(both) + 2) * U)
    assert (expmax < 0.05).any() and (expmax == 1).any()  # rows rescaled, rows not
    # expMax x inSum + rowsum(dst): inSum's error (_sum_bound of x) scaled by
    # expMax (its own error (spread + 2)U), a product and a sum rounded, and the
    # new row sum's _sum_bound of b against the new max
    bound = sum_bound(x) + (spread(both) + 2) * U + 2 * U + sum_bound(both)
    assert_rel(row_blocks(out["zfs"], ROWS, 8), np.exp(both - new_top).sum(axis=1), bound)


def test_softmax_events_by_hand(softmax_run) -> None:
    *_, events = softmax_run
    tag = f"softmax.cpp:{line_of(KERNEL, 'SoftMax<float>(d, s, m, a, tmp, st, FS)')}"
    dst, total, top = events[(events.tag == tag) & (events["name"] == "SoftMax")].itertuples()
    # UB from 0, each buffer after the last (all whole 32 B blocks): a 5 x 40
    # floats = 800 B at 0, b 800 B at 800, tmp 256 B at 1600, d 5 x 800 B at
    # 1856, s 5 x 32 B = 160 B at 5856, m 160 B at 6016.
    # dst: d (1856) written, 200 floats = 800 B; sources tmp (1600, 0 B
    # counted) first, then a (0, 800 B read); five steps an element (reducemax,
    # sub, exp, reducesum, div): 200 x 5 = 1000 operations.
    assert (dst.space, dst.addr, dst.src_addr, dst.arg2) == ("UB", 1856, 1600, 0)
    assert dst.flags & Flag.SECOND_SOURCE
    assert (dst.aligned_size, dst.size, dst.arg) == (800, 800 + 800, 1000)
    # sum, then max: 5 rows x 8 floats = 160 B each, the broadcast one
    # operation an element (40); source a, its bytes already counted (0 B).
    for event, addr in ((total, 5856), (top, 6016)):
        assert (event.space, event.addr, event.src_addr) == ("UB", addr, 0)
        assert not event.flags & Flag.SECOND_SOURCE
        assert (event.aligned_size, event.size, event.arg) == (160, 160, ROWS * 8)


@pytest.mark.parametrize(
    ("define", "marker", "problem"),
    [
        (
            "BAD_K",
            "SoftMaxShapeInfo{2, 20, 2, 20}",
            "SoftMax: softmaxShapeInfo.srcK 20 x 4 B is not a multiple of 32 B",
        ),
        (
            "BEYOND",
            "SoftMaxShapeInfo{6, 40, 6, 40}",
            "SoftMax: srcM x srcK 6 x 40 (240 elements) is beyond srcTensor's 200 elements",
        ),
        (
            "NZ_FORMAT",
            "SoftMax<float, false, false, true>",
            "SoftMax: isDataFormatNZ: the twin does not cover the NZ format yet (ND only)",
        ),
        (
            "NO_SHAPE",
            "SimpleSoftMax<float>(d, is, im, a, st);",
            "SimpleSoftMax: softmaxShapeInfo srcM 0, srcK 0: the twin takes the shape from "
            "SoftMaxShapeInfo{srcM, srcK, oriSrcM, oriSrcK} (it has no tensor ShapeInfo and does not read the tiling)",
        ),
    ],
)
def test_misuse_stops_at_its_line(tmp_path: Path, define: str, marker: str, problem: str) -> None:
    source = tmp_path / "softmax.cpp"
    source.write_text(KERNEL)
    with stops_at("softmax.cpp", KERNEL, marker, problem):
        run_ascendc(
            source, "softmax", 1, _inputs(), _outputs(), CHIP, values=VALUES, defines=(define,)
        )
