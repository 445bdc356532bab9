"""The twin's sorting APIs on the Atlas A2 layout ((value, index) structures of
8 B): Sort32, the basic MrgSort (2, 3 and 4 queues, repeatTimes) and the
high-level one with suspension, Concat + Sort (full and per 32) + Extract, and
GetSortLen / GetSortOffset, in float and half, against numpy oracles built here;
the documented tie rule (the earlier element first, the earlier queue first);
one MrgSort event and one Sort event worked out by hand; a validBit that is not
3, 7 or 15 stops the run at its line; MrgSort's queues need only 8 B alignment,
its destination 32 B."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import line_of
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.errors import EmulationError
from ubscope.probe.events import Flag
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
NF, NH, NT = 256, 96, 64  # float values (8 repeats), half (3), tie values (2)
M2, M3, M4 = (32, 20), (32, 7, 25), (5, 32, 17, 30)  # queue lengths of the merges
SUSPEND = (32, 10)  # the high-level merge that stops when a queue runs out

# UB from 0 in InitBuffer order (every size whole 32 B blocks): x 1024 B at 0,
# idx 1024 B at 1024, s (Sort32 of x) 2048 B at 2048, m3 512 B at 4096, then
# the rest. Outputs are filled with -1 first so what a call did not write shows.
KERNEL = f"""\
#include "kernel_operator.h"
using namespace AscendC;
constexpr int32_t NF = {NF}, NH = {NH}, NT = {NT};
extern "C" __global__ __aicore__ void srt(GM_ADDR x, GM_ADDR xh, GM_ADDR idx, GM_ADDR tv,
        GM_ADDR s32, GM_ADDR s32h, GM_ADDR fv, GM_ADDR fi, GM_ADDR hv, GM_ADDR hi,
        GM_ADDR m2, GM_ADDR m3, GM_ADDR m4, GM_ADDR mr, GM_ADDR mh, GM_ADDR me, GM_ADDR sn,
        GM_ADDR t32, GM_ADDR tm) {{
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bx, bi, bs, bm3, bxh, bsh, bct, bst, bfs, bfv, bfi, bhs, bhv, bhi,
        bm2, bm4, bmr, bmh, bme, btv, bt32, btm;
    pipe.InitBuffer(bx, NF * 4);
    pipe.InitBuffer(bi, NF * 4);
    pipe.InitBuffer(bs, NF * 8);
    pipe.InitBuffer(bm3, {sum(M3)} * 8);
    pipe.InitBuffer(bxh, NH * 2);
    pipe.InitBuffer(bsh, NH * 8);
    pipe.InitBuffer(bct, 1024);
    pipe.InitBuffer(bst, NF * 8);
    pipe.InitBuffer(bfs, NF * 8);
    pipe.InitBuffer(bfv, NF * 4);
    pipe.InitBuffer(bfi, NF * 4);
    pipe.InitBuffer(bhs, NH * 8);
    pipe.InitBuffer(bhv, NH * 2);
    pipe.InitBuffer(bhi, NH * 4);
    pipe.InitBuffer(bm2, {sum(M2)} * 8);
    pipe.InitBuffer(bm4, {sum(M4)} * 8);
    pipe.InitBuffer(bmr, NF * 8);
    pipe.InitBuffer(bmh, 64 * 8);
    pipe.InitBuffer(bme, 384);
    pipe.InitBuffer(btv, NT * 4);
    pipe.InitBuffer(bt32, NT * 8);
    pipe.InitBuffer(btm, NT * 8);
    GlobalTensor<float> xGm, tvGm, s32Gm, fvGm, m2Gm, m3Gm, m4Gm, mrGm, meGm, t32Gm, tmGm;
    GlobalTensor<half> xhGm, s32hGm, hvGm;
    GlobalTensor<uint32_t> idxGm, fiGm, hiGm, snGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, NF);
    xhGm.SetGlobalBuffer((__gm__ half*)xh, NH);
    idxGm.SetGlobalBuffer((__gm__ uint32_t*)idx, NF);
    tvGm.SetGlobalBuffer((__gm__ float*)tv, NT);
    s32Gm.SetGlobalBuffer((__gm__ float*)s32, 2 * NF);
    s32hGm.SetGlobalBuffer((__gm__ half*)s32h, 4 * NH);
    fvGm.SetGlobalBuffer((__gm__ float*)fv, NF);
    fiGm.SetGlobalBuffer((__gm__ uint32_t*)fi, NF);
    hvGm.SetGlobalBuffer((__gm__ half*)hv, NH);
    hiGm.SetGlobalBuffer((__gm__ uint32_t*)hi, NH);
    m2Gm.SetGlobalBuffer((__gm__ float*)m2, {2 * sum(M2)});
    m3Gm.SetGlobalBuffer((__gm__ float*)m3, {2 * sum(M3)});
    m4Gm.SetGlobalBuffer((__gm__ float*)m4, {2 * sum(M4)});
    mrGm.SetGlobalBuffer((__gm__ float*)mr, 2 * NF);
    GlobalTensor<half> mhGm;
    mhGm.SetGlobalBuffer((__gm__ half*)mh, 4 * 64);
    meGm.SetGlobalBuffer((__gm__ float*)me, 96);
    snGm.SetGlobalBuffer((__gm__ uint32_t*)sn, 8);
    t32Gm.SetGlobalBuffer((__gm__ float*)t32, 2 * NT);
    tmGm.SetGlobalBuffer((__gm__ float*)tm, 2 * NT);
    LocalTensor<float> a = bx.Get<float>(), s = bs.Get<float>(), ct = bct.Get<float>();
    LocalTensor<float> st = bst.Get<float>(), fs = bfs.Get<float>(), fvl = bfv.Get<float>();
    LocalTensor<float> o2 = bm2.Get<float>(), o3 = bm3.Get<float>(), o4 = bm4.Get<float>();
    LocalTensor<float> orp = bmr.Get<float>(), oe = bme.Get<float>();
    LocalTensor<float> t = btv.Get<float>(), ts = bt32.Get<float>(), otm = btm.Get<float>();
    LocalTensor<half> h = bxh.Get<half>(), sh = bsh.Get<half>(), hs = bhs.Get<half>();
    LocalTensor<half> hvl = bhv.Get<half>(), omh = bmh.Get<half>();
    LocalTensor<half> cth = ct.ReinterpretCast<half>(), sth = st.ReinterpretCast<half>();
    LocalTensor<uint32_t> ix = bi.Get<uint32_t>(), fil = bfi.Get<uint32_t>(), hil = bhi.Get<uint32_t>();
    DataCopy(a, xGm, NF);
    DataCopy(h, xhGm, NH);
    DataCopy(ix, idxGm, NF);
    DataCopy(t, tvGm, NT);
    Duplicate(oe, -1.0f, 96);
    const uint32_t q = GetSortOffset<float>(32);  // one sorted queue of 32: 64 floats
    const uint32_t qh = GetSortOffset<half>(32);  // 128 halves
    Sort32<float>(s, a, ix, NF / 32);
    Sort32<half>(sh, h, ix, NH / 32);
    LocalTensor<float> concat;
    Concat(concat, a, ct, NF / 16);
    Sort<float, true>(fs, concat, ix, st, NF / 32);
    Extract(fvl, fil, fs, NF / 32);
    LocalTensor<half> concath;
    Concat(concath, h, cth, NH / 16);
    Sort<half, false>(hs, concath, ix, sth, NH / 32);
    Extract(hvl, hil, hs, NH / 32);
    MrgSortSrcList<float> two;
    two.src1 = s;
    two.src2 = s[q];
    MrgSort4Info p2;
    p2.elementLengths[0] = {M2[0]};
    p2.elementLengths[1] = {M2[1]};
    p2.validBit = 3;
    MrgSort<float>(o2, two, p2);
    const uint16_t l3[4] = {{{M3[0]}, {M3[1]}, {M3[2]}, 0}};
    MrgSort<float>(o3, MrgSortSrcList(s, s[q], s[2 * q], s[3 * q]), MrgSort4Info(l3, false, 7, 1));
    const uint16_t l4[4] = {{{M4[0]}, {M4[1]}, {M4[2]}, {M4[3]}}};
    MrgSort(o4, MrgSortSrcList(s, s[q], s[2 * q], s[3 * q]), MrgSort4Info(l4, false, 15, 1));
    const uint16_t l32[4] = {{32, 32, 32, 32}};
    MrgSort(orp, MrgSortSrcList(s, s[q], s[2 * q], s[3 * q]), MrgSort4Info(l32, false, 15, 2));
    MrgSortSrcList<half> halves(sh, sh[qh], sh, sh);
    MrgSort4Info ph;
    ph.elementLengths[0] = 32;
    ph.elementLengths[1] = 32;
    ph.validBit = 3;
    MrgSort(omh, halves, ph);
    const uint16_t le[4] = {{{SUSPEND[0]}, {SUSPEND[1]}, 0, 0}};
    uint32_t sorted[4] = {{9, 9, 9, 9}};
    MrgSort<float, true>(oe, MrgSortSrcList(s, s[q], s, s), le, sorted, 3, 1);
    for (int32_t k = 0; k < 4; ++k) {{
        snGm.SetValue(k, sorted[k]);
    }}
    snGm.SetValue(4, GetSortLen<float>(128));
    snGm.SetValue(5, GetSortLen<half>(128));
    snGm.SetValue(6, GetSortOffset<float>(3));
    snGm.SetValue(7, GetSortOffset<half>(3));
    Sort32<float>(ts, t, ix, NT / 32);
    MrgSort(otm, MrgSortSrcList(ts, ts[q], ts, ts), MrgSort4Info(l32, false, 3, 1));
#ifdef BAD_VALID_BIT
    MrgSort(o2, two, MrgSort4Info(l32, false, 5, 1));
#endif
    DataCopy(s32Gm, s, 2 * NF);
    DataCopy(s32hGm, sh, 4 * NH);
    DataCopy(fvGm, fvl, NF);
    DataCopy(fiGm, fil, NF);
    DataCopy(hvGm, hvl, NH);
    DataCopy(hiGm, hil, NH);
    DataCopy(m2Gm, o2, {2 * sum(M2)});
    DataCopy(m3Gm, o3, {2 * sum(M3)});
    DataCopy(m4Gm, o4, {2 * sum(M4)});
    DataCopy(mrGm, orp, 2 * NF);
    DataCopy(mhGm, omh, 4 * 64);
    DataCopy(meGm, oe, 96);
    DataCopy(t32Gm, ts, 2 * NT);
    DataCopy(tmGm, otm, 2 * NT);
}}
"""


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(23)
    # Distinct values everywhere but the tie input: the order is then unique.
    x = rng.permutation(NF).astype(np.float32) * np.float32(0.75) - np.float32(90.5)
    xh = (rng.permutation(NH).astype(np.float32) * 0.5 - 20).astype(np.float16)
    # Indices that are not the positions, so an index taken from the wrong
    # element or read from the value's bytes shows.
    idx = (1000 + 7 * np.arange(NF)).astype(np.uint32)
    # Three values only: many ties within each 32 and across the two groups.
    tv = rng.choice(np.array([1.5, -2.0, 4.0], np.float32), NT)
    return {"x": x, "xh": xh, "idx": idx, "tv": tv}


def _outputs() -> dict[str, np.ndarray]:
    return {
        "s32": np.zeros(2 * NF, np.float32),
        "s32h": np.zeros(4 * NH, np.float16),
        "fv": np.zeros(NF, np.float32),
        "fi": np.zeros(NF, np.uint32),
        "hv": np.zeros(NH, np.float16),
        "hi": np.zeros(NH, np.uint32),
        "m2": np.zeros(2 * sum(M2), np.float32),
        "m3": np.zeros(2 * sum(M3), np.float32),
        "m4": np.zeros(2 * sum(M4), np.float32),
        "mr": np.zeros(2 * NF, np.float32),
        "mh": np.zeros(4 * 64, np.float16),
        "me": np.zeros(96, np.float32),
        "sn": np.zeros(8, np.uint32),
        "t32": np.zeros(2 * NT, np.float32),
        "tm": np.zeros(2 * NT, np.float32),
    }


@pytest.fixture(scope="module")
def sort_run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("sort")
    source = folder / "srt.cpp"
    source.write_text(KERNEL)
    inputs = _inputs()
    trace = folder / "srt.ubtrace"
    done = run_ascendc(source, "srt", 1, inputs, _outputs(), CHIP, trace)
    return inputs, done.outputs, read_trace(trace).events


def float_structs(out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values and indices of float structures: value in bytes 0-3, index in 4-7."""
    words = out.view(np.uint32).reshape(-1, 2)
    return words[:, 0].copy().view(np.float32), words[:, 1]


def half_structs(out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values, reserved halves and indices of half structures: value in bytes
    0-1, 2-3 reserved, index in 4-7 (little-endian)."""
    parts = out.view(np.uint16).reshape(-1, 4)
    index = parts[:, 2].astype(np.uint32) | (parts[:, 3].astype(np.uint32) << 16)
    return parts[:, 0].copy().view(np.float16), parts[:, 1], index


def descending(values: np.ndarray) -> np.ndarray:
    """The documented order: larger first, equal values in input order."""
    return np.argsort(-values.astype(np.float64), kind="stable")


def grouped_order(values: np.ndarray, group: int) -> np.ndarray:
    """Positions after sorting each ``group`` consecutive values on its own."""
    return np.concatenate(
        [
            start + descending(values[start : start + group])
            for start in range(0, values.size, group)
        ]
    )


def sorted_queues(x: np.ndarray, idx: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Sort32's four leading queues of 32 (value, index), each sorted."""
    order = grouped_order(x, 32)
    return [(x[order[k * 32 : k * 32 + 32]], idx[order[k * 32 : k * 32 + 32]]) for k in range(4)]


def merged(queues: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The merge of sorted queues: concatenated in queue order, then a stable
    descending sort keeps an earlier queue's element first among equals."""
    values = np.concatenate([v for v, _ in queues])
    indices = np.concatenate([i for _, i in queues])
    order = descending(values)
    return values[order], indices[order]


def test_sort32_sorts_each_32_descending_with_indices(sort_run) -> None:
    inputs, out, _ = sort_run
    x, xh, idx = inputs["x"], inputs["xh"], inputs["idx"]
    values, indices = float_structs(out["s32"])
    order = grouped_order(x, 32)
    np.testing.assert_array_equal(values, x[order])
    np.testing.assert_array_equal(indices, idx[order])
    # Groups are not merged: group 1 starts again from its own largest.
    assert values[32] == x[32:64].max() and values[31] == x[:32].min()
    hvalues, reserved, hindices = half_structs(out["s32h"])
    horder = grouped_order(xh, 32)
    np.testing.assert_array_equal(hvalues, xh[horder])
    np.testing.assert_array_equal(hindices, idx[:NH][horder])
    assert (reserved == 0).all()


def test_full_sort_then_extract_sorts_everything(sort_run) -> None:
    inputs, out, _ = sort_run
    x, xh, idx = inputs["x"], inputs["xh"], inputs["idx"]
    order = descending(x)
    np.testing.assert_array_equal(out["fv"], x[order])
    np.testing.assert_array_equal(out["fi"], idx[order])
    # isFullSort false: sorted per 32, as Sort32, and Extract undoes the structures.
    horder = grouped_order(xh, 32)
    np.testing.assert_array_equal(out["hv"], xh[horder])
    np.testing.assert_array_equal(out["hi"], idx[:NH][horder])


def test_mrgsort_merges_two_three_and_four_queues(sort_run) -> None:
    inputs, out, _ = sort_run
    queues = sorted_queues(inputs["x"], inputs["idx"])
    for name, lengths in (("m2", M2), ("m3", M3), ("m4", M4)):
        # A queue of length L is the first L structures of a sorted 32.
        expected = merged([(v[:n], i[:n]) for (v, i), n in zip(queues, lengths, strict=False)])
        values, indices = float_structs(out[name])
        np.testing.assert_array_equal(values, expected[0], err_msg=name)
        np.testing.assert_array_equal(indices, expected[1], err_msg=name)
    # repeatTimes 2 over four contiguous queues of 32: queues 0-3 merged, then 4-7.
    order = grouped_order(inputs["x"], 32)
    x, idx = inputs["x"], inputs["idx"]
    values, indices = float_structs(out["mr"])
    for repeat in range(2):
        part = order[repeat * 128 : repeat * 128 + 128]
        expected = merged(
            [(x[part[k * 32 : k * 32 + 32]], idx[part[k * 32 : k * 32 + 32]]) for k in range(4)]
        )
        np.testing.assert_array_equal(values[repeat * 128 : repeat * 128 + 128], expected[0])
        np.testing.assert_array_equal(indices[repeat * 128 : repeat * 128 + 128], expected[1])


def test_mrgsort_half_keeps_the_structures(sort_run) -> None:
    inputs, out, _ = sort_run
    xh, idx = inputs["xh"], inputs["idx"]
    order = grouped_order(xh, 32)
    expected = merged(
        [(xh[order[k * 32 : k * 32 + 32]], idx[order[k * 32 : k * 32 + 32]]) for k in range(2)]
    )
    values, reserved, indices = half_structs(out["mh"])
    np.testing.assert_array_equal(values, expected[0])
    np.testing.assert_array_equal(indices, expected[1])
    assert (reserved == 0).all()


def test_suspended_merge_stops_when_a_queue_runs_out(sort_run) -> None:
    inputs, out, _ = sort_run
    queues = sorted_queues(inputs["x"], inputs["idx"])
    parts = [
        (v[:n], i[:n], np.full(n, k))
        for k, ((v, i), n) in enumerate(zip(queues, SUSPEND, strict=False))
    ]
    values = np.concatenate([v for v, _, _ in parts])
    owner = np.concatenate([q for _, _, q in parts])
    order = descending(values)
    # Walk the full merge and stop after the structure that empties a queue.
    taken = [0, 0]
    count = 0
    for position in order:
        taken[owner[position]] += 1
        count += 1
        if taken[owner[position]] == SUSPEND[owner[position]]:
            break
    got_values, _ = float_structs(out["me"][: 2 * count])
    np.testing.assert_array_equal(got_values, values[order[:count]])
    assert (out["me"][2 * count :] == -1).all()
    assert list(out["sn"][:4]) == [*taken, 0, 0] and sum(taken) < sum(SUSPEND)
    # GetSortLen / GetSortOffset: 8 B a structure, in elements of T.
    assert list(out["sn"][4:]) == [256, 512, 6, 12]


def test_ties_keep_the_earlier_element_and_queue_first(sort_run) -> None:
    inputs, out, _ = sort_run
    tv, idx = inputs["tv"], inputs["idx"]
    values, indices = float_structs(out["t32"])
    order = grouped_order(tv, 32)
    np.testing.assert_array_equal(values, tv[order])
    np.testing.assert_array_equal(indices, idx[order])
    # Within each run of equal values the indices (1000 + 7 x position) rise.
    for group in range(2):
        part_values, part_indices = (
            values[group * 32 : group * 32 + 32],
            indices[group * 32 : group * 32 + 32],
        )
        for value in np.unique(part_values):
            assert (np.diff(part_indices[part_values == value].astype(np.int64)) > 0).all()
    # The merge: all of queue 0's equal values before queue 1's.
    queues = [(values[:32], indices[:32]), (values[32:], indices[32:])]
    expected = merged(queues)
    got_values, got_indices = float_structs(out["tm"])
    np.testing.assert_array_equal(got_values, expected[0])
    np.testing.assert_array_equal(got_indices, expected[1])
    assert (got_indices[got_values == 4.0] < 1000 + 7 * 32).sum() == (tv[:32] == 4.0).sum()


def test_sort_events_by_hand(sort_run) -> None:
    *_, events = sort_run
    (merge,) = events[events.tag == f"srt.cpp:{line_of(KERNEL, 'MrgSort<float>(o3')}"].itertuples()
    # x at 0, idx at 1024, s at 2048, m3 at 4096 (see KERNEL). The three queues
    # are s's sorted 32s at 2048, 2048 + 256 and 2048 + 512, read 32, 7 and 25
    # structures of 8 B: 256 + 56 + 200 = 512 B; m3 gets all 64, 512 B; one
    # operation a structure.
    assert (merge.name, merge.addr, merge.src_addr, merge.arg2) == ("MrgSort", 4096, 2048, 2304)
    assert (merge.aligned_size, merge.size, merge.arg) == (512, 512 + 512, 64)
    (full,) = events[
        events.tag == f"srt.cpp:{line_of(KERNEL, 'Sort<float, true>(fs')}"
    ].itertuples()
    # After m3 (512 B at 4096): xh 192 B at 4608, sh 768 B at 4800, ct 1024 B
    # at 5568, st 2048 B at 6592, fs 2048 B at 8640. Sources: st (0 B, used)
    # first, then concat (a view of x: 256 floats, 1024 B at 0), then idx
    # (1024 B); fs gets 256 structures, 2048 B. Operations: the 32-sorts, then
    # 8 runs merged four at a time in two rounds: 3 a value.
    assert (full.name, full.addr, full.src_addr, full.arg2) == ("Sort", 8640, 6592, 0)
    assert (full.aligned_size, full.size, full.arg) == (2048, 2048 + 1024 + 1024, 3 * NF)


def test_bad_valid_bit_stops_at_its_line(tmp_path: Path) -> None:
    source = tmp_path / "srt.cpp"
    source.write_text(KERNEL)
    line = line_of(KERNEL, "MrgSort(o2, two, MrgSort4Info(l32, false, 5")
    with pytest.raises(
        EmulationError, match=rf"srt\.cpp:{line}: MrgSort: validBit 5 is not 3, 7 or 15"
    ):
        run_ascendc(source, "srt", 1, _inputs(), _outputs(), CHIP, defines=("BAD_VALID_BIT",))


ALIGNMENT_KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void al(GM_ADDR x) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bs, bo;
    pipe.InitBuffer(bs, 512);
    pipe.InitBuffer(bo, 512);
    LocalTensor<float> s = bs.Get<float>();
    LocalTensor<float> o = bo.Get<float>();
    Duplicate(s, 0.0f, 128);
    const uint16_t l[4] = {4, 4, 0, 0};
    MrgSort(o, MrgSortSrcList(s[2], s[18], s, s), MrgSort4Info(l, false, 3, 1));  // queues-8
    MrgSort(o, MrgSortSrcList(s[1], s[18], s, s), MrgSort4Info(l, false, 3, 1));  // queue-4
    MrgSort(o[2], MrgSortSrcList(s, s[16], s, s), MrgSort4Info(l, false, 3, 1));  // dst-8
}
"""


@pytest.mark.parametrize(
    ("marker", "misaligned"),
    [
        # s[2] and s[18] start 8 B and 72 B into s (s at UB 0): whole
        # structures, as MrgSort's page asks of its queues, though off 32 B
        ("queues-8", False),
        ("queue-4", True),  # s[1]: 4 B, inside a structure
        ("dst-8", True),  # o[2]: 8 B, but the page asks 32 B of dst
    ],
)
def test_mrgsort_queues_need_8_bytes_and_dst_32(
    tmp_path: Path, marker: str, misaligned: bool
) -> None:
    source = tmp_path / "al.cpp"
    source.write_text(ALIGNMENT_KERNEL)
    trace = tmp_path / "al.ubtrace"
    run_ascendc(source, "al", 1, {"x": np.zeros(8, np.float32)}, {}, CHIP, trace)
    events = read_trace(trace).events
    (merge,) = events[events.tag == f"al.cpp:{line_of(ALIGNMENT_KERNEL, marker)}"].itertuples()
    assert merge.name == "MrgSort"
    assert bool(merge.flags & int(Flag.MISALIGNED)) is misaligned
