"""The twin's high-level TopK (Atlas A2), in float and half, against numpy
oracles built here: Normal mode largest (the tmpLocal form, indices generated),
Normal mode smallest with a given index row and a finished row, Small mode
(TOPK_NSMALL) with per-row indices; rows of inner 64 with n = 50 valid (the tail
padded as the page asks), ties (the earlier element first), inf and NaN (first);
outputs k_pad / kpad_index apart with their tails unwritten. The kernel's
TilingData nests TopkTiling, which --tiling leaves at zero. One call's two
events are worked out by hand; k, n, inner out of range, padding that would
reach the top k and isHasfinish in Small mode stop the run at the call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import line_of, stops_at
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.ascendc.tiling import LaunchValues
from ubscope.probe.chip import load_chip
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
R, INNER, N, K = 3, 64, 50, 5  # Normal-mode calls: rows, inner, valid n, k
RS, NS, KS = 4, 17, 8  # the Small-mode call: rows of inner 32, n valid, k
KPAD = {"float": 8, "half": 16}  # k rounded up to 32 B of T
KPI = 8  # k rounded up to 8 indices (32 B of int32_t)
SENTINEL = -1  # what the kernel fills the outputs with first
TILING = {"rows": str(R), "inner": str(INNER), "n": str(N), "k": str(K)}

# UB from 0 in InitBuffer order, every size whole 32 B blocks (float sizes):
# xa 768 B at 0, xb 768 at 768, xc 512 at 1536, idx 256 at 2048, idc 512 at
# 2304, fin 32 at 2816, tmp 1024 at 2848, va 96 at 3872, ia 96 at 3968, vb 96
# at 4064, ib 96 at 4160, vc 128 at 4256, ic 128 at 4384.
KERNEL = f"""\
#include "kernel_operator.h"
using namespace AscendC;
namespace optiling {{
BEGIN_TILING_DATA_DEF(TopkCustomTilingData)
  TILING_DATA_FIELD_DEF(int32_t, rows);
  TILING_DATA_FIELD_DEF(int32_t, inner);
  TILING_DATA_FIELD_DEF(int32_t, n);
  TILING_DATA_FIELD_DEF(int32_t, k);
  TILING_DATA_FIELD_DEF_STRUCT(TopkTiling, topkTilingData);
END_TILING_DATA_DEF;
REGISTER_TILING_DATA_CLASS(TopkCustom, TopkCustomTilingData)
}}
constexpr int32_t R = {R}, I = {INNER}, KI = {KPI}, RS = {RS}, NS = {NS}, KS = {KS};
constexpr int32_t KP = 32 / sizeof(DT);
extern "C" __global__ __aicore__ void topk(GM_ADDR xa, GM_ADDR xb, GM_ADDR xc, GM_ADDR idx,
        GM_ADDR idc, GM_ADDR fin, GM_ADDR va, GM_ADDR ia, GM_ADDR vb, GM_ADDR ib, GM_ADDR vc,
        GM_ADDR ic, GM_ADDR tiling) {{
    GET_TILING_DATA(t, tiling);
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bxa, bxb, bxc, bidx, bidc, bfin, btmp, bva, bia, bvb, bib, bvc, bic;
    pipe.InitBuffer(bxa, R * I * sizeof(DT));
    pipe.InitBuffer(bxb, R * I * sizeof(DT));
    pipe.InitBuffer(bxc, RS * 32 * sizeof(DT));
    pipe.InitBuffer(bidx, I * 4);
    pipe.InitBuffer(bidc, RS * 32 * 4);
    pipe.InitBuffer(bfin, 32);
    pipe.InitBuffer(btmp, 1024);
    pipe.InitBuffer(bva, R * KP * sizeof(DT));
    pipe.InitBuffer(bia, R * KI * 4);
    pipe.InitBuffer(bvb, R * KP * sizeof(DT));
    pipe.InitBuffer(bib, R * KI * 4);
    pipe.InitBuffer(bvc, RS * KS * sizeof(DT));
    pipe.InitBuffer(bic, RS * KS * 4);
    GlobalTensor<DT> xaGm, xbGm, xcGm, vaGm, vbGm, vcGm;
    GlobalTensor<int32_t> idxGm, idcGm, iaGm, ibGm, icGm;
    GlobalTensor<uint8_t> finGm;
    xaGm.SetGlobalBuffer((__gm__ DT*)xa, R * I);
    xbGm.SetGlobalBuffer((__gm__ DT*)xb, R * I);
    xcGm.SetGlobalBuffer((__gm__ DT*)xc, RS * 32);
    idxGm.SetGlobalBuffer((__gm__ int32_t*)idx, I);
    idcGm.SetGlobalBuffer((__gm__ int32_t*)idc, RS * 32);
    finGm.SetGlobalBuffer((__gm__ uint8_t*)fin, 32);
    vaGm.SetGlobalBuffer((__gm__ DT*)va, R * KP);
    iaGm.SetGlobalBuffer((__gm__ int32_t*)ia, R * KI);
    vbGm.SetGlobalBuffer((__gm__ DT*)vb, R * KP);
    ibGm.SetGlobalBuffer((__gm__ int32_t*)ib, R * KI);
    vcGm.SetGlobalBuffer((__gm__ DT*)vc, RS * KS);
    icGm.SetGlobalBuffer((__gm__ int32_t*)ic, RS * KS);
    LocalTensor<DT> la = bxa.Get<DT>(), lb = bxb.Get<DT>(), lc = bxc.Get<DT>();
    LocalTensor<DT> lva = bva.Get<DT>(), lvb = bvb.Get<DT>(), lvc = bvc.Get<DT>();
    LocalTensor<int32_t> lidx = bidx.Get<int32_t>(), lidc = bidc.Get<int32_t>();
    LocalTensor<int32_t> lia = bia.Get<int32_t>(), lib = bib.Get<int32_t>(), lic = bic.Get<int32_t>();
    LocalTensor<uint8_t> lfin8 = bfin.Get<uint8_t>(), tmp = btmp.Get<uint8_t>();
    LocalTensor<bool> lfin = lfin8.ReinterpretCast<bool>();
    DataCopy(la, xaGm, R * I);
    DataCopy(lb, xbGm, R * I);
    DataCopy(lc, xcGm, RS * 32);
    DataCopy(lidx, idxGm, I);
    DataCopy(lidc, idcGm, RS * 32);
    DataCopy(lfin8, finGm, 32);
    Duplicate(lva, static_cast<DT>({SENTINEL}.0f), R * KP);
    Duplicate(lvb, static_cast<DT>({SENTINEL}.0f), R * KP);
    Duplicate(lia, {SENTINEL}, R * KI);
    Duplicate(lib, {SENTINEL}, R * KI);
    LocalTensor<int32_t> noIndex;
    LocalTensor<bool> noFinish;
    TopKInfo info;
    info.outter = t.rows;
    info.inner = t.inner;
    info.n = t.n;
    TopK<DT, false, false, false, TopKMode::TOPK_NORMAL>(lva, lia, la, noIndex, noFinish, tmp, t.k, t.topkTilingData, info);  // call A
    TopK<DT, true, true>(lvb, lib, lb, lidx, lfin, t.k, t.topkTilingData, info, false);  // call B
    TopKInfo small{{RS, 32, NS}};
    TopK<DT, true, false, false, TopKMode::TOPK_NSMALL>(lvc, lic, lc, lidc, noFinish, KS, t.topkTilingData, small);
#ifdef BAD_SMALL_FINISH
    TopK<DT, true, true, false, TopKMode::TOPK_NSMALL>(lvc, lic, lc, lidc, lfin, KS, t.topkTilingData, small);  // bad
#endif
    DataCopy(vaGm, lva, R * KP);
    DataCopy(iaGm, lia, R * KI);
    DataCopy(vbGm, lvb, R * KP);
    DataCopy(ibGm, lib, R * KI);
    DataCopy(vcGm, lvc, RS * KS);
    DataCopy(icGm, lic, RS * KS);
}}
"""

DTYPES = {"float": np.float32, "half": np.float16}


def _inputs(dtype: type) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(23)
    # Small integers: every row has many equal values, ties decide the order.
    xa = rng.integers(-20, 20, size=(R, INNER)).astype(dtype)
    xa[:, N:] = -np.inf  # padding that cannot enter the largest k
    xa[1, 30] = np.inf  # the largest value there is
    xa[2, 7] = np.nan  # first, descending or ascending
    xb = rng.integers(-20, 20, size=(R, INNER)).astype(dtype)
    xb[:, N:] = np.inf  # padding that cannot enter the smallest k
    xb[0, 40] = -np.inf
    xc = rng.integers(-9, 9, size=(RS, 32)).astype(dtype)
    xc[:, NS:] = -np.inf
    fin = np.zeros(32, np.uint8)
    fin[1] = 1  # row 1 of call B is finished
    return {
        "xa": xa.ravel(),
        "xb": xb.ravel(),
        "xc": xc.ravel(),
        # Given indices unlike the positions: a wrong pick or an index off by one shows.
        "idx": (100 + 3 * np.arange(INNER)).astype(np.int32),
        "idc": (1000 * np.arange(RS)[:, None] + 7 * np.arange(32)).astype(np.int32).ravel(),
        "fin": fin,
    }


def _outputs(dtype: type, kpad: int) -> dict[str, np.ndarray]:
    return {
        "va": np.zeros(R * kpad, dtype),
        "ia": np.zeros(R * KPI, np.int32),
        "vb": np.zeros(R * kpad, dtype),
        "ib": np.zeros(R * KPI, np.int32),
        "vc": np.zeros(RS * KS, dtype),
        "ic": np.zeros(RS * KS, np.int32),
    }


def _run(folder: Path, dt: str, inputs=None, tiling=None, defines=(), trace=None):
    source = folder / "topk.cpp"
    source.write_text(KERNEL)
    dtype = DTYPES[dt]
    return run_ascendc(
        source,
        "topk",
        1,
        _inputs(dtype) if inputs is None else inputs,
        _outputs(dtype, KPAD[dt]),
        CHIP,
        trace,
        defines=(f"DT={dt}", *defines),
        # topkTilingData is not named: the twin leaves TopkTiling at zero.
        values=LaunchValues(tiling=TILING if tiling is None else tiling),
    )


def top_positions(row: np.ndarray, n: int, k: int, largest: bool) -> np.ndarray:
    """The oracle: positions of a row's first k of n valid values, NaN first,
    then by value (largest or smallest), equal values by position (stable)."""
    valid = row[:n].astype(np.float64)
    nan = np.flatnonzero(np.isnan(valid))
    rest = np.flatnonzero(~np.isnan(valid))
    keys = -valid[rest] if largest else valid[rest]
    return np.concatenate([nan, rest[np.argsort(keys, kind="stable")]])[:k]


@pytest.fixture(scope="module", params=["float", "half"])
def topk_run(request, tmp_path_factory: pytest.TempPathFactory):
    dt = request.param
    folder = tmp_path_factory.mktemp(f"topk_{dt}")
    trace = folder / "topk.ubtrace"
    done = _run(folder, dt, trace=trace)
    return dt, _inputs(DTYPES[dt]), done.outputs, read_trace(trace).events


def test_normal_mode_largest_generates_positions(topk_run) -> None:
    dt, inputs, out, _ = topk_run
    xa = inputs["xa"].reshape(R, INNER)
    values = out["va"].reshape(R, KPAD[dt])
    indices = out["ia"].reshape(R, KPI)
    for r in range(R):
        order = top_positions(xa[r], N, K, largest=True)
        np.testing.assert_array_equal(indices[r, :K], order)
        np.testing.assert_array_equal(values[r, :K], xa[r, order])
    # Ties decided the order: row 0's top 5 holds equal values.
    assert (np.diff(values[0, :K].astype(np.float64)) == 0).any()
    assert indices[1, 0] == 30 and np.isinf(values[1, 0])
    assert indices[2, 0] == 7 and np.isnan(values[2, 0])
    # The rows' tails past k are left as they were.
    assert (values[:, K:] == SENTINEL).all() and (indices[:, K:] == SENTINEL).all()


def test_normal_mode_smallest_with_given_indices_and_a_finished_row(topk_run) -> None:
    dt, inputs, out, _ = topk_run
    xb = inputs["xb"].reshape(R, INNER)
    values = out["vb"].reshape(R, KPAD[dt])
    indices = out["ib"].reshape(R, KPI)
    for r in range(R):
        order = top_positions(xb[r], N, K, largest=False)
        np.testing.assert_array_equal(values[r, :K], xb[r, order])
        # Row 1 is finished: its values are sorted all the same, its indices are n.
        expected = np.full(K, N) if r == 1 else inputs["idx"][order]
        np.testing.assert_array_equal(indices[r, :K], expected)
    assert values[0, 0] == -np.inf and indices[0, 0] == 100 + 3 * 40
    assert (values[:, K:] == SENTINEL).all() and (indices[:, K:] == SENTINEL).all()


def test_small_mode_takes_each_rows_indices(topk_run) -> None:
    _, inputs, out, _ = topk_run
    xc = inputs["xc"].reshape(RS, 32)
    idc = inputs["idc"].reshape(RS, 32)
    values = out["vc"].reshape(RS, KS)
    indices = out["ic"].reshape(RS, KS)
    for r in range(RS):
        order = top_positions(xc[r], NS, KS, largest=True)
        np.testing.assert_array_equal(values[r], xc[r, order])
        np.testing.assert_array_equal(indices[r], idc[r, order])


# Call B's two events, worked out from the UB layout (InitBuffer order, whole
# 32 B blocks). float: xb 768 B at 768, idx 256 B at 2048, fin at 2816, vb at
# 4064, ib at 4160 (see KERNEL). half: xa 384 B at 0, xb 384 B at 384, xc 256 B
# at 768, idx 256 B at 1024, idc 512 B at 1280, fin 32 B at 1792, tmp 1024 B at
# 1824, va 96 B at 2848, ia 96 B at 2944, vb at 3040, ib at 3136.
# Values: rows 0 and 1 at KPAD apart and row 2's first 5: (2 x KPAD + 5) x
# sizeof(T) B (float (16 + 5) x 4 = 84, half (32 + 5) x 2 = 74). Sources: xb
# (3 x 64 values: 768 B, or 384), idx (one row of 64 int32: 256 B), fin (3
# bools: 3 B): size 84 + 768 + 256 + 3 = 1111 (half 74 + 384 + 256 + 3 = 717).
# Operations: 192 values, inner / 32 = 2 sorted runs merged in one round: 2
# each, 384. Indices: (2 x 8 + 5) x 4 = 84 B, the same sources (float 84 + 1027
# = 1111, half 84 + 643 = 727); 3 x 5 indices, one operation each: 15.
EVENTS = {
    "float": ((4064, 768, 2048, 84, 1111, 384), (4160, 768, 2048, 84, 1111, 15)),
    "half": ((3040, 384, 1024, 74, 717, 384), (3136, 384, 1024, 84, 727, 15)),
}


def test_topk_events_by_hand(topk_run) -> None:
    dt, _, _, events = topk_run
    tag = f"topk.cpp:{line_of(KERNEL, '// call B')}"
    got = [
        (e.name, e.addr, e.src_addr, e.arg2, e.aligned_size, e.size, e.arg)
        for e in events[events.tag == tag].itertuples()
    ]
    assert got == [("TopK", *figures) for figures in EVENTS[dt]]


MISUSE = {
    "k_zero": ({"k": "0"}, "TopK: k 0 outside 1..topKInfo.n (50)"),
    "k_past_n": ({"k": "51"}, "TopK: k 51 outside 1..topKInfo.n (50)"),
    "inner_not_32s": ({"inner": "48"}, "TopK: topKInfo.inner 48 is not a positive multiple of 32"),
    "inner_too_long": (
        {"inner": "4128"},
        "TopK: topKInfo.inner 4128 above 4096, the Normal mode maximum",
    ),
    "n_past_inner": ({"n": "65"}, "TopK: topKInfo.n 65 outside 1..inner (64)"),
}


@pytest.mark.parametrize("name", list(MISUSE))
def test_out_of_range_info_stops_at_the_call(tmp_path: Path, name: str) -> None:
    change, problem = MISUSE[name]
    with stops_at("topk.cpp", KERNEL, "// call A", problem):
        _run(tmp_path, "float", tiling={**TILING, **change})


def test_padding_that_reaches_the_top_k_stops_at_the_call(tmp_path: Path) -> None:
    inputs = _inputs(np.float32)
    inputs["xa"].reshape(R, INNER)[2, 60] = 99.0  # past n, above every valid value
    problem = (
        "TopK: row 2's padding element 60 (value 99.000000, past topKInfo.n 50) ranks among "
        "its top 5: pad with values that do not affect the sort (-inf)"
    )
    with stops_at("topk.cpp", KERNEL, "// call A", problem):
        _run(tmp_path, "float", inputs=inputs)


def test_finish_in_small_mode_stops_at_the_call(tmp_path: Path) -> None:
    problem = "TopK: isHasfinish must be false in Small mode (TOPK_NSMALL)"
    with stops_at("topk.cpp", KERNEL, "// bad", problem):
        _run(tmp_path, "float", defines=("BAD_SMALL_FINISH",))
