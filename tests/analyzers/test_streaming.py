"""Streamed analysis (issue 17): one pass over the batches gives the metrics and
the findings of the rules it runs exactly as the in-memory analysis does (the
independent implementation here), on the kernels' sample traces and on
hand-made ones cut into batches of a few events, and says what it skipped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from tests.helpers.cli import run_ubscope
from tests.helpers.ping_pong import ping_pong_loop
from tests.helpers.rebatch import rebatch, rebatch_table
from tests.helpers.same_analysis import assert_same_analysis
from tests.helpers.tiled_queues import drained_tiles
from ubscope.analyzers.api import Analysis, analyze_inputs, analyze_path
from ubscope.analyzers.config import Config
from ubscope.analyzers.engine import build_rules
from ubscope.analyzers.model.arrays import GROUP_BOUND
from ubscope.analyzers.rules import load_rules
from ubscope.analyzers.streaming import (
    STREAMED_RULES,
    analyze_streamed,
    decide,
    kept,
    ranges,
    should_stream,
    single_buffered,
    usage,
)
from ubscope.analyzers.streaming import fragmentation as streamed_fragmentation
from ubscope.analyzers.streaming.analyze import RANGE_METRICS, RANGE_RULES, _Stream, streamed_chip
from ubscope.probe.events import CoreKind, Flag, Space
from ubscope.probe.memory.pools import UBBufPool
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TBuf, TPipe, TQue
from ubscope.probe.trace import TraceWriter

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "sample_profiles").glob("*.ubtrace"))
BENCH = Path(__file__).resolve().parents[2] / "bench"
KIB = 1024


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_streamed_analysis_equals_the_in_memory_one_on_sample_traces(sample, tmp_path):
    assert_same_analysis(sample)
    assert_same_analysis(rebatch(sample, tmp_path / sample.name, 7))


def _write(synthetic: Any, tmp_path: Path, rows: int) -> Path:
    """A hand-made trace (``kit.Synthetic``) written in batches of ``rows`` events."""
    meta = synthetic.trace().meta
    return rebatch_table(synthetic.rec.table(), meta, tmp_path / f"hand_{rows}.ubtrace", rows)


@pytest.mark.parametrize("rows", [1, 2, 5, 1000])
def test_blocks_pair_across_batches_as_over_the_whole_trace(kit, tmp_path, rows):
    s = kit.Synthetic()
    # a free with no allocation before it takes the first allocation at its
    # address as the in-memory pairing does (that block then stays live for good)
    s.free(0, 4 * KIB)
    s.alloc(0, 8 * KIB)  # live 8 KiB (never ends: the early free took its turn)
    s.alloc(64 * KIB, 64 * KIB)  # live 72 KiB
    s.alloc(128 * KIB, 16 * KIB, aligned=32 * KIB)  # live 104 KiB, high water 160 KiB
    s.free(64 * KIB, 64 * KIB)  # live 40 KiB
    s.alloc(64 * KIB, 32 * KIB, core=1)  # another group
    s.free(128 * KIB, 16 * KIB)  # live 8 KiB
    s.alloc(16 * KIB, 96 * KIB)  # live 104 KiB again: not a new peak
    s.alloc(112 * KIB, 4 * KIB)  # live 108 KiB
    s.free(0, 8 * KIB)  # the second free at 0 has no second allocation: releases nothing
    s.alloc(116 * KIB, 4 * KIB)  # live 112 KiB: the peak
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    metrics = analyze_streamed(path).metrics
    assert metrics["peak_bytes"]["UB"] == 112 * KIB
    assert metrics["high_water_bytes"]["UB"] == 160 * KIB
    # 8 + 64 + 32 + 32 + 96 + 4 + 4 KiB allocated; 16 KiB rounded up once
    assert metrics["total_alloc_bytes"]["UB"] == 240 * KIB
    assert metrics["fragmentation"]["internal_waste_bytes"] == 16 * KIB


@pytest.mark.parametrize("rows", [1, 3, 1000])
def test_streamed_rules_find_what_the_in_memory_rules_find(kit, tmp_path, rows):
    s = kit.Synthetic()
    s.alloc(0, 160 * KIB)
    s.alloc(160 * KIB, 64 * KIB, tag="tile")  # ends past the 192 KiB UB: UB001
    s.load(0x1000, 0, 100, tensor="x", moved=96, flags=1)  # truncated copy: ALN002
    s.load(0x2000, 8, 64, tensor="w", flags=2)  # misaligned UB address: ALN001
    s.load(0x3000, 64, 1024, tensor="w")
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    found = {f.code for f in analyze_streamed(path).findings}
    assert {"UB001", "ALN001", "ALN002"} <= found


@pytest.mark.parametrize("rows", [1, 2, 1000])
def test_atomic_stores_read_gm_in_both_analyses(kit, tmp_path, rows):
    # a load of 1 KiB, then two cores adding 256 B each into "out" (ATOMIC):
    # GM reads 1 KiB + 2 x 256 B and writes 2 x 256 B, however the batches cut
    s = kit.Synthetic()
    s.alloc(0, 1 * KIB)
    s.load(0x1000, 0, 1 * KIB, tensor="a")
    for core in (0, 1):
        s.rec.copy(
            int(CoreKind.AIV),
            core,
            int(Space.UB),
            0,
            int(Space.GM),
            0x3000,
            256,
            256,
            256,
            1,
            "out",
            "add",
            0,
            10,
            int(Flag.ATOMIC),
        )
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    gm = analyze_streamed(path).metrics["gm"]
    assert (gm["read_bytes"], gm["write_bytes"]) == (1 * KIB + 512, 512)


@pytest.mark.parametrize("rows", [1, 2, 5, 1000])
def test_blocks_never_freed_are_reported_with_their_events(kit, tmp_path, monkeypatch, rows):
    monkeypatch.setattr(kept, "ENDED_DROP_MIN", 2)  # drop ended blocks' events often
    s = kit.Synthetic()
    s.free(0, 4 * KIB, "early")  # a free before any allocation at 0 ...
    s.alloc(0, 4 * KIB, "early")  # ... takes this one, which no free ends then
    later = s.alloc(32 * KIB, 4 * KIB, "later")
    for _ in range(20):  # blocks freed as they go
        s.alloc(64 * KIB, KIB, "tmp")
        s.free(64 * KIB, KIB, "tmp")
    s.alloc(8 * KIB, 4 * KIB, "tile")
    s.alloc(16 * KIB, 2 * KIB, "tile")
    s.free(32 * KIB, 4 * KIB, "later")  # freed 40 events after its allocation
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    leaks = {
        f.message.split("'")[1]: (f.evidence["blocks"], f.evidence["bytes"], f.location.first_seq)
        for f in analyze_streamed(path).findings
        if f.code == "UB005"
    }
    # 'early' (4 KiB at event 1) and 'tile' (4 + 2 KiB, the first at event 43);
    # 'later' and every 'tmp' were freed
    assert leaks == {"early": (1, 4 * KIB, 2), "tile": (2, 6 * KIB, later + 41)}


def _blocks_live_at_peaks(analysis: Analysis) -> dict[tuple, list[tuple[int, int]]]:
    """Per core kind, core and space: (ALLOC seq, FREE seq) of the blocks its
    lifetimes hold."""
    frame = analysis.context.lifetimes if analysis.context is not None else None
    assert frame is not None
    out: dict[tuple, list[tuple[int, int]]] = {}
    for row in frame.itertuples():
        key = (str(row.core_kind), int(row.core), str(row.space))
        out.setdefault(key, []).append((int(row.alloc_seq), int(row.free_seq)))
    return out


def _in_memory_peak_layouts(analysis: Analysis) -> dict[tuple, list[tuple[int, int]]]:
    """The same from the in-memory lifetimes: the blocks allocated at or before
    each place's peak event and not freed by then."""
    ctx = analysis.context
    assert ctx is not None
    frame, out = ctx.lifetimes, {}
    for peak in ctx.peaks.itertuples():
        live = frame[
            (frame["core_kind"] == peak.core_kind).to_numpy()
            & (frame["core"] == peak.core).to_numpy()
            & (frame["space"] == peak.space).to_numpy()
            & (frame["alloc_seq"] <= peak.peak_seq).to_numpy()
            & ((frame["free_seq"] < 0) | (frame["free_seq"] > peak.peak_seq)).to_numpy()
        ]
        key = (str(peak.core_kind), int(peak.core), str(peak.space))
        out[key] = list(zip(live["alloc_seq"].tolist(), live["free_seq"].tolist(), strict=True))
    return out


@pytest.mark.parametrize("rows", [1, 2, 5, 1000])
def test_the_blocks_live_at_each_peak_are_kept_with_their_frees(kit, tmp_path, rows):
    s = kit.Synthetic()
    s.free(32 * KIB, 4 * KIB, "stuck")  # a free before any allocation at 32K ...
    stuck = s.alloc(32 * KIB, 4 * KIB, "stuck")  # ... takes this block: live for good
    s.alloc(0, 8 * KIB, "a")
    b = s.alloc(8 * KIB, 8 * KIB, "b")  # 4 + 8 + 8 = 20 KiB: a first peak
    s.free(0, 8 * KIB, "a")
    c = s.alloc(16 * KIB, 4 * KIB, "c")  # 16 KiB
    _churn(s)  # up to 17 KiB
    d = s.alloc(0, 16 * KIB, "d")  # 4 + 8 + 4 + 16 = 32 KiB: the peak
    free_b = s.free(8 * KIB, 8 * KIB, "b")
    _churn(s)
    free_d = s.free(0, 16 * KIB, "d", t=5000)
    s.alloc(40 * KIB, 8 * KIB, "e")  # 16 KiB: no new peak; "c" is never freed
    x = s.alloc(0, 2 * KIB, "x", core=1)  # core 1 peaks at its only block
    free_x = s.free(0, 2 * KIB, "x", core=1)
    path = _write(s, tmp_path, rows)
    streamed = analyze_streamed(path)
    expected = {
        ("aiv", 0, "UB"): [(stuck, -1), (b, free_b), (c, -1), (d, free_d)],
        ("aiv", 1, "UB"): [(x, free_x)],
    }
    assert _blocks_live_at_peaks(streamed) == expected
    assert _in_memory_peak_layouts(analyze_path(path, stream=False)) == expected
    lifetimes = streamed.context.lifetimes if streamed.context is not None else None
    assert lifetimes is not None
    (d_row,) = lifetimes[lifetimes["alloc_seq"] == d].itertuples()
    assert (d_row.addr, d_row.end, d_row.name, d_row.t_free_ps) == (0, 16 * KIB, "d", 5000)


def test_the_blocks_at_the_peaks_of_the_samples_are_the_in_memory_ones():
    for sample in SAMPLES:
        whole = _in_memory_peak_layouts(analyze_path(sample, stream=False))
        assert _blocks_live_at_peaks(analyze_streamed(sample)) == whole, sample.name


@pytest.mark.parametrize("rows", [1, 2, 3, 5, 1000])
def test_a_pool_stacking_rounds_is_found_across_batches(kit, tmp_path, rows):
    s = kit.Synthetic()

    def touch(core: int = 0) -> None:
        s.load(0, 0, 512, core=core)

    def reset() -> None:
        s.rec.pool_reset(int(CoreKind.AIV), 0, int(Space.UB), 0, "pool", 0, 0, 0)

    s.alloc(0, 4 * KIB, "x", "pool")
    touch()
    first = s.alloc(4 * KIB, 4 * KIB, "x", "pool")  # higher, used, no reset: flagged
    s.alloc(8 * KIB, 4 * KIB, "x", "pool")  # no copy or compute since the last one
    touch(core=1)
    s.alloc(12 * KIB, 4 * KIB, "x", "pool")  # only another core worked between
    touch()
    reset()
    s.alloc(16 * KIB, 4 * KIB, "x", "pool")  # a reset between
    touch()
    s.free(16 * KIB, 4 * KIB, "x")
    s.alloc(20 * KIB, 4 * KIB, "x", "pool")  # the one before was freed
    touch()
    s.alloc(40 * KIB, 4 * KIB, "x", "other")  # another call site: a key of its own
    second = s.alloc(24 * KIB, 4 * KIB, "x", "pool")  # flagged
    touch()
    s.alloc(16 * KIB, 4 * KIB, "x", "pool")  # lower
    s.free(48 * KIB, 4 * KIB, "y")  # a free before any allocation at 48K ...
    s.alloc(48 * KIB, 4 * KIB, "y", "pool")  # ... takes this block: live for good
    _churn(s)
    touch()
    third = s.alloc(52 * KIB, 4 * KIB, "y", "pool")  # flagged
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    streamed = analyze_streamed(path)
    ctx = streamed.context
    assert ctx is not None
    assert ctx.column("seq")[ctx.blocks.alloc_row[ctx.regrown()]].tolist() == [
        first,
        second,
        third,
    ]
    (finding,) = [f for f in streamed.findings if f.code == "UB006"]
    # 'x' twice and 'y' once on aiv0: three 4 KiB blocks over at most 2 rounds
    assert (finding.location.first_seq, finding.location.last_seq) == (first, third)
    assert finding.evidence["buffers"] == ["x", "y"]
    assert finding.evidence["max_repeats"] == 2
    assert finding.evidence["growth_per_round_bytes"] == 3 * 4 * KIB // 2


def _churn(s: Any, times: int = 3) -> None:
    """Blocks allocated and freed far from the others: events between."""
    for _ in range(times):
        s.alloc(64 * KIB, KIB, "tmp")
        s.free(64 * KIB, KIB, "tmp")


@pytest.mark.parametrize("rows", [1, 2, 5, 1000])
def test_overlapping_allocations_name_the_block_they_overlap(kit, tmp_path, rows):
    s = kit.Synthetic()
    s.alloc(4 * KIB, 4 * KIB, "old")
    s.free(4 * KIB, 4 * KIB, "old")  # freed before "b" overlaps its range
    first = s.alloc(0, 4 * KIB, "a")
    _churn(s)
    second = s.alloc(2 * KIB, 4 * KIB, "b")  # [2K, 6K) overlaps live "a" [0, 4K)
    s.alloc(8 * KIB, 2 * KIB, "c")  # allocated while "a" and "b" still overlap
    s.free(0, 4 * KIB, "a")
    s.free(2 * KIB, 4 * KIB, "b")
    s.alloc(16 * KIB, KIB, "d")  # no overlap left
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    (finding,) = [f for f in analyze_streamed(path).findings if f.code == "UB004"]
    assert finding.evidence["allocations"] == 2  # "b" and "c"
    assert finding.location.first_seq == second
    assert finding.evidence["overlapped_seq"] == first
    assert "'b' [0x800, 0x1800) overlaps 'a' [0x0, 0x1000)" in finding.message


@pytest.mark.parametrize("rows", [1, 3, 1000])
def test_an_allocation_overlapping_a_block_live_for_good_names_it(kit, tmp_path, rows):
    s = kit.Synthetic()
    s.free(32 * KIB, 4 * KIB, "stuck")  # a free before any allocation at 32K ...
    stuck = s.alloc(32 * KIB, 4 * KIB, "stuck")  # ... takes this block: live for good
    _churn(s)
    over = s.alloc(34 * KIB, 4 * KIB, "over")
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    (finding,) = [f for f in analyze_streamed(path).findings if f.code == "UB004"]
    assert (finding.location.first_seq, finding.evidence["overlapped_seq"]) == (over, stuck)


@pytest.mark.parametrize("rows", [1, 2, 1000])
def test_unaligned_gm_copies_are_summed_per_site_across_launches(kit, tmp_path, rows):
    s = kit.Synthetic()
    factor = s.chip.misaligned_gm_factor
    # each copy: its issue time, then 10 ns moving bytes (what misalignment slows)
    dur = round(s.chip.gm_issue_ns * 1000) + 10_000

    def unaligned(core: int, tensor: str = "x", tag: str = "load") -> int:
        flag = int(Flag.GM_UNALIGNED)
        return s.load(0x10040, 0, KIB, tensor=tensor, core=core, flags=flag, tag=tag, dur=dur)

    first = unaligned(0)
    unaligned(0)  # launch 1: core 0 moves bytes for 20 ns ...
    unaligned(1)  # ... core 1 for 10 ns
    s.load(0x20000, 0, KIB, core=1, dur=dur)  # aligned: not counted
    s.rec.kernel_end("synthetic", 50_000, 50_000)
    s.rec.kernel_begin("synthetic", 2, 60_000, "vector")
    unaligned(1)
    unaligned(1)
    last = unaligned(1)  # launch 2: core 1 for 30 ns
    unaligned(0, tensor="w", tag="load_w")
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    found = {f.location.tensor: f for f in analyze_streamed(path).findings if f.code == "ALN003"}
    assert set(found) == {"x", "w"}
    x = found["x"]
    assert (x.evidence["events"], x.evidence["cores"], x.evidence["bytes"]) == (6, [0, 1], 6 * KIB)
    assert (x.location.first_seq, x.location.last_seq) == (first, last)
    # on the critical path: launch 1's busiest core (20 ns) then launch 2's
    # (30 ns); at 70 % bandwidth aligning saves 30 % of those 50 ns
    assert x.evidence["saved_ps"] == round(50_000 * (1 - factor))


@pytest.mark.parametrize("rows", [1, 2, 3, 1000])
def test_small_gm_copies_are_summed_per_site_with_the_room_each_core_leaves(kit, tmp_path, rows):
    s = kit.Synthetic()
    assert (s.chip.gm_issue_ns, s.chip.efficient_burst_bytes) == (74.0, 16 * KIB)
    # each 1 KiB copy (one 32 B-whole burst): its 74 ns issue, then 1024 B at 10 ps/B
    dur = 74_000 + 10 * KIB

    def small(core: int, t: int) -> int:
        return s.load(0, 0, KIB, core=core, t=t, dur=dur)

    first = small(0, 0)
    for i in range(1, 8):
        small(0, i * 100_000)  # core 0: 8 copies over 784.24 ns ...
    # ... beside 600 ns of on-chip work
    s.rec.compute(int(CoreKind.AIV), 0, int(Space.UB), 0, KIB, "add", 1, "vec", 0, 600_000)
    for i in range(4):
        small(1, i * 100_000)  # core 1: 4 copies, nothing else
    s.rec.kernel_end("synthetic", 900_000, 900_000)
    s.rec.kernel_begin("synthetic", 2, 1_000_000, "vector")
    for i in range(8):
        last = small(1, 1_000_000 + i * 100_000)  # launch 2, core 1: 8 copies
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    (finding,) = [f for f in analyze_streamed(path).findings if f.code == "ALN004"]
    assert (finding.evidence["events"], finding.evidence["cores"]) == (20, [0, 1])
    assert (finding.location.first_seq, finding.location.last_seq) == (first, last)
    # merged into 16 KiB copies, each copy saves 15/16 of its issue: 69.375 ns;
    # one merged copy moves 15 KiB more at 10 ps/B: 153.6 ns the core waits for.
    # launch 1, core 0: 8 x 69.375 - 153.6 = 401.4 ns, but its span (784.24 ns)
    # less its on-chip work (600 ns) leaves 184.24 ns; core 1: 4 x 69.375 - 153.6
    # = 123.9 ns; the cores run side by side: 184.24 ns. Launch 2, core 1: 401.4 ns
    assert finding.evidence["saved_ps"] == 184_240 + 401_400


def test_work_starting_inside_busy_time_already_summed_gives_aln004_up(kit, tmp_path):
    s = kit.Synthetic()

    def compute(t: int, dur: int) -> None:
        s.rec.compute(int(CoreKind.AIV), 0, int(Space.UB), 0, KIB, "add", 1, "vec", t, dur)

    compute(0, 100)
    compute(200, 100)  # in a batch of its own, [0, 100) is summed as over
    compute(40, 0)  # no duration: covers nothing, whenever it comes
    compute(300, 10)  # starts where [200, 300) ends: adds its own 10 either way
    assert not any("ALN004" in note for note in analyze_streamed(_write(s, tmp_path, 1)).warnings)
    compute(50, 10)  # starts inside time already summed
    streamed = analyze_streamed(_write(s, tmp_path, 1))
    assert any("rule not run: ALN004" in note for note in streamed.warnings)
    whole = analyze_streamed(_write(s, tmp_path, 1000))  # one batch: merged exactly
    assert not any("ALN004" in note for note in whole.warnings)


def _single_buffered_launches(kit: Any, starts_us: list[int], end: bool = True) -> Any:
    """Launches of a loop through a single-buffered copy-in queue on aiv core 0,
    beginning at ``starts_us`` (the kernel ends 17 µs after the last begins,
    unless not ``end``).
    Each: InitBuffer(in_x, 1, 4 KiB), then four 1 µs loads into the block, 4 µs
    apart, each followed 1 µs after it starts by a 3 µs vector op on it."""
    s = kit.Synthetic()
    for index, start_us in enumerate(starts_us):
        t0 = start_us * US
        if index:
            s.rec.kernel_end(s.kernel, t0, t0 - starts_us[index - 1] * US)
            s.rec.kernel_begin(s.kernel, 1, t0, "vector")
        s.rec.queue_init(
            int(CoreKind.AIV), 0, int(Space.UB), 0, 4 * KIB, 1, int(TPosition.VECIN),
            "in_x", "init", t0,
        )  # fmt: skip
        for tile in range(4):
            t = t0 + tile * 4 * US
            s.load(0x1000 + tile * 4 * KIB, 0, 4 * KIB, t=t, dur=US)
            s.rec.compute(int(CoreKind.AIV), 0, int(Space.UB), 0, 4 * KIB, "muls", 2048, "vec",
                          t + US, 3 * US)  # fmt: skip
    if end:
        s.rec.kernel_end(s.kernel, (starts_us[-1] + 17) * US, 17 * US)
    return s


@pytest.mark.parametrize("rows", [1, 2, 5, 1000])
@pytest.mark.parametrize("early", [False, True], ids=["at-launch-end", "early"])
def test_single_buffered_blocks_are_judged_across_batches(kit, tmp_path, monkeypatch, rows, early):
    if early:  # finish a block's windows but its last stage's once it carries 3 copies
        monkeypatch.setattr(single_buffered, "EARLY_COPIES", 2)
        monkeypatch.setattr(single_buffered, "OPEN_STAGES", 1)
    path = _write_ended(_single_buffered_launches(kit, [0, 20]), tmp_path, rows)
    assert_same_analysis(path)
    (finding,) = [f for f in analyze_streamed(path).findings if f.code == "UB013"]
    # Per launch each load is its own stage (it lands 1.22 µs after it starts:
    # 1 µs of pipe plus the 220 ns GM latency, before the next starts 4 µs
    # later). Each of the 3 windows of 4 µs shortens by the least of: the next
    # fill, 1.22 µs; the window less the copy pipe, 3 µs; the window less the
    # busiest work, the 3 µs vector op: 1 µs; half the window, 2 µs. So 3 x 1 µs
    # a launch; launches run one after another: 6 µs. (Were the vector ops of a
    # batch summed and dropped before the launch ends, the window would see
    # only the 1 µs load: 1.22 µs a window.)
    assert finding.evidence["saved_ps"] == 6 * US
    assert finding.evidence["transfers"] == 4
    assert not any("UB013" in note for note in analyze_streamed(path).warnings)


def test_single_buffered_queues_on_48_cores_stream_as_in_memory(tmp_path, monkeypatch):
    # bench/make_big_trace.py's tiled kernel with every queue one block of two
    # tiles: ~55 tiles a core, each x, w and y copy through a judged block, whose
    # windows are finished 8 copies at a time but the last 2 stages'
    monkeypatch.setattr(single_buffered, "EARLY_COPIES", 8)
    monkeypatch.setattr(single_buffered, "OPEN_STAGES", 2)
    path = tmp_path / "single.ubtrace"
    subprocess.run(
        [sys.executable, str(BENCH / "make_big_trace.py"), "30000", str(path), "--single-buffered"],
        check=True,
        capture_output=True,
    )
    found = [f for f in analyze_path(path, stream=False).findings if f.code == "UB013"]
    # x's copies start when its block is released: held back by it. w's wait for
    # x's on the one MTE2 pipe, and each cast into y's block writes its other
    # half without waiting for the drain of the last: neither is held back
    # (before UB013 looked at what held a copy, all three were reported).
    assert [f.message.split("'")[1] for f in found] == ["x_que"]
    assert_same_analysis(rebatch(path, tmp_path / "single_997.ubtrace", 997))


@pytest.mark.parametrize("rows", range(1, 25))
def test_held_drains_carry_across_the_batch_that_ends_a_launch(kit, tmp_path, rows):
    # Five launches of a single-buffered VECOUT queue: each tile's compute
    # starts the moment the last drain ended, which the streamed pass learns
    # only from the compute, maybe a batch later. The batch that ends one
    # launch may hold the next launch's first drain, still waiting for its
    # compute: it must keep waiting (once it was taken as not held).
    table, meta = kit.device_events(lambda block: drained_tiles(block, 1, 4), launches=5)
    assert_same_analysis(rebatch_table(table, meta, tmp_path / "drained.ubtrace", rows))


def test_single_buffering_is_not_judged_where_launches_overlap_on_a_core(kit, tmp_path):
    # the second launch begins at 14 µs, while the first one's last vector op
    # runs until 16 µs: each launch's busy time is not the core's
    path = _write_ended(_single_buffered_launches(kit, [0, 14]), tmp_path, 1)
    assert "UB013" in kit.codes(analyze_path(path, stream=False))
    streamed = analyze_streamed(path)
    assert "UB013" not in kit.codes(streamed)
    assert any(
        "two of its launches overlap in time: rule not run: UB013" in note
        for note in streamed.warnings
    )


@pytest.mark.parametrize("late", ["vector op", "copy"])
def test_single_buffering_is_not_judged_where_work_comes_before_finished_windows(
    kit, tmp_path, monkeypatch, late
):
    # windows finished early, then the core's work (or a copy through the
    # block) recorded last but starting at 0.5 µs, inside the first window
    monkeypatch.setattr(single_buffered, "EARLY_COPIES", 2)
    monkeypatch.setattr(single_buffered, "OPEN_STAGES", 1)
    s = _single_buffered_launches(kit, [0], end=False)
    if late == "copy":
        s.load(0x1000, 0, 4 * KIB, t=US // 2, dur=US // 10)
    else:
        s.rec.compute(int(CoreKind.AIV), 0, int(Space.UB), 0, 4 * KIB, "muls", 2048, "vec",
                      US // 2, US // 10)  # fmt: skip
    s.rec.kernel_end(s.kernel, 17 * US, 17 * US)
    path = _write_ended(s, tmp_path, 1)
    assert "UB013" in kit.codes(analyze_path(path, stream=False))
    streamed = analyze_streamed(path)
    assert "UB013" not in kit.codes(streamed)
    assert any(
        "ran far out of program order" in note and note.endswith("rule not run: UB013")
        for note in streamed.warnings
    )


def test_single_buffering_gives_its_busy_runs_up_past_the_limit(kit, tmp_path, monkeypatch):
    # A launch's block holds 4 load and 4 vector runs from its first load on; a
    # limit of 5 carried runs gives those up, not the sums ALN004 reads.
    monkeypatch.setattr(ranges, "RANGE_LIMIT", 5)
    path = _write_ended(_single_buffered_launches(kit, [0, 20]), tmp_path, 1)
    streamed = analyze_streamed(path)
    assert "UB013" not in kit.codes(streamed)
    (note,) = [n for n in streamed.warnings if "busy intervals" in n]
    assert note.endswith("rule not run: UB013")


def test_an_unaligned_saving_is_at_most_the_modelled_time(kit, tmp_path):
    s = kit.Synthetic()
    dur = round(s.chip.gm_issue_ns * 1000) + 10_000_000  # 10 us moving bytes each
    for _ in range(3):
        s.load(0x10040, 0, KIB, flags=int(Flag.GM_UNALIGNED), dur=dur)
    path = _write(s, tmp_path, 2)  # one launch, modelled at 1 us
    assert_same_analysis(path)
    (finding,) = [f for f in analyze_streamed(path).findings if f.code == "ALN003"]
    assert finding.evidence["saved_ps"] == 1_000_000  # 3 x 10 us x 30 %, capped


def _queue_limits(block: Any) -> None:
    """Five double-buffered VECIN queues: 10 buffers on one position, over the 8
    event IDs (UB007); a pipe reset, then four more: 8, within the limit only
    because the reset split the count; three rounds of a UB pool on the same
    core, each ending in a reset; then nine TBufs of 8 buffers: 72 on the pipe
    counted from the last reset, over QBUF_MAX_LEN 64 (UB008; 80 if the pool's
    resets were lost, 82 if every reset was)."""
    core = block.aiv
    pipe, pool = TPipe(core), UBBufPool(core, base=160 * KIB)
    for index in range(5):
        pipe.init_buffer(TQue(TPosition.VECIN, name=f"in{index}"), 2, 1024)
    pipe.reset()
    for index in range(4):
        pipe.init_buffer(TQue(TPosition.VECIN, name=f"again{index}"), 2, 1024)
    for _ in range(3):
        pool.allocate(256, np.float16)
        pool.reset()
    for index in range(9):
        pipe.init_buffer(TBuf(TPosition.VECCALC, name=f"tmp{index}"), 8, 256)


@pytest.mark.parametrize("rows", [1, 2, 3, 7, 1000])
def test_queue_limits_count_from_the_last_reset_across_batches(kit, tmp_path, rows):
    events, meta = kit.device_events(_queue_limits, block_dim=2)
    path = rebatch_table(events, meta, tmp_path / f"queues_{rows}.ubtrace", rows)
    assert_same_analysis(path)
    findings = {f.code: f for f in analyze_streamed(path).findings}
    assert findings["UB007"].evidence["buffers"] == 10
    assert findings["UB008"].evidence["buffers"] == 72


def _sync_calls(kit: Any) -> Any:
    """On core 0: SetFlag(1) set again before a WaitFlag (unconsumed), a user
    mark between them, WaitFlag(1) (consumes the second), WaitFlag(2) with no
    SetFlag, AllocEventID(3) never released; core 1 pairs its calls."""
    s = kit.Synthetic()
    aiv = int(CoreKind.AIV)
    for name, core, event_id in (
        ("SetFlag", 0, 1),
        ("round", 0, 0),
        ("SetFlag", 0, 1),
        ("SetFlag", 1, 1),
        ("WaitFlag", 0, 1),
        ("WaitFlag", 1, 1),
        ("WaitFlag", 0, 2),
        ("AllocEventID", 0, 3),
        ("AllocEventID", 1, 3),
        ("ReleaseEventID", 1, 3),
    ):
        s.rec.mark(name, 0, aiv, core, event_id)
    return s


@pytest.mark.parametrize("rows", [1, 2, 3, 1000])
def test_sync_calls_pair_across_batches(kit, tmp_path, rows):
    path = _write(_sync_calls(kit), tmp_path, rows)
    assert_same_analysis(path)
    found = sorted(
        (f.evidence["call"], f.evidence["events"], f.evidence["cores"])
        for f in analyze_streamed(path).findings
        if f.code == "SYN001"
    )
    assert found == [("AllocEventID", 1, [0]), ("SetFlag", 1, [0]), ("WaitFlag", 1, [0])]


def test_sync_calls_are_not_paired_past_the_kept_events_limit(kit, tmp_path, monkeypatch):
    # a SetFlag kept and its WaitFlag past the limit would look unconsumed
    monkeypatch.setattr(kept, "KEPT_LIMIT", 4)
    streamed = analyze_streamed(_write(_sync_calls(kit), tmp_path, 3))
    assert not [f for f in streamed.findings if f.code == "SYN001"]
    assert any("rules not run: SYN001" in note for note in streamed.warnings)


@pytest.mark.parametrize("rows", [1, 4, 1000])
def test_an_overflow_of_overlapping_blocks_is_located_at_its_peak(kit, tmp_path, rows):
    s = kit.Synthetic()
    s.alloc(0, 16 * KIB)
    s.alloc(32 * KIB, 96 * KIB)
    # the same 96 KiB again: 208 KiB live in the 192 KiB UB, yet no block ends
    # past capacity (the high water is 128 KiB), so UB001 points at the peak event
    peak_seq = s.alloc(32 * KIB, 96 * KIB, tag="again")
    s.free(0, 16 * KIB)
    s.free(32 * KIB, 96 * KIB)
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    (overflow,) = [f for f in analyze_streamed(path).findings if f.code == "UB001"]
    assert overflow.evidence["peak_live_bytes"] == 208 * KIB
    assert overflow.location.first_seq == overflow.evidence["peak_seq"] == peak_seq


@pytest.mark.parametrize("rows", [1, 4, 1000])
def test_a_high_water_gap_is_located_at_the_first_peak(kit, tmp_path, rows):
    s = kit.Synthetic()
    # a bump pool freed tile by tile: 16 KiB live at most, 64 KiB high water
    peak_seq = s.alloc(0, 16 * KIB)
    s.free(0, 16 * KIB)
    for tile in range(1, 4):
        s.alloc(tile * 16 * KIB, 16 * KIB)
        s.free(tile * 16 * KIB, 16 * KIB)
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    (gap,) = [f for f in analyze_streamed(path).findings if f.code == "FRG004"]
    assert gap.evidence["gap_bytes"] == 48 * KIB
    assert gap.location.first_seq == peak_seq


def test_the_note_says_the_analysis_was_streamed_and_names_no_rule_left_out():
    (note,) = analyze_streamed(SAMPLES[0]).warnings
    assert note.startswith("streamed analysis")
    assert "every trace rule run" in note
    for code in STREAMED_RULES:
        assert code not in note


def test_every_trace_rule_is_streamed():
    trace_rules = {code for code, rule in load_rules().items() if rule.input_kind == "trace"}
    assert STREAMED_RULES == trace_rules


def test_a_trace_streams_when_its_in_memory_analysis_would_not_fit(tmp_path):
    trace = SAMPLES[0]
    size = trace.stat().st_size
    # ~3 B per event on disk and ~256 B per event in memory: ~85x the file
    assert should_stream(trace, available=size * 100)
    assert not should_stream(trace, available=size * 200)


def test_analyze_stream_flag_says_what_it_skipped():
    result = run_ubscope("analyze", "--stream", str(SAMPLES[0]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "streamed analysis" in result.stdout
    plain = run_ubscope("analyze", str(SAMPLES[0]))
    assert "streamed analysis" not in plain.stdout


def test_analyze_streams_on_its_own_only_where_asked_to_decide(monkeypatch):
    # 1 KiB available: no trace's in-memory analysis fits in half of it
    monkeypatch.setattr(decide.psutil, "virtual_memory", lambda: SimpleNamespace(available=1024))
    assert "streamed analysis" in analyze_inputs(SAMPLES[0], stream=None).warnings[0]
    # views that need every event (report, TUI, export) keep the default
    assert not any("streamed" in note for note in analyze_path(SAMPLES[0]).warnings)


def test_a_truncated_trace_is_streamed_as_far_as_it_reads(tmp_path):
    sample = next(p for p in SAMPLES if p.stem == "int4_gemm_ub_overflow")
    whole = rebatch(sample, tmp_path / "whole.ubtrace", 7).read_bytes()
    cut = tmp_path / "cut.ubtrace"
    cut.write_bytes(whole[: len(whole) * 3 // 5])  # recording interrupted part way
    assert_same_analysis(cut)
    streamed = analyze_streamed(cut)
    assert streamed.trace is not None and 0 < streamed.trace.event_count
    assert any("trace is truncated" in note for note in streamed.warnings)


@pytest.mark.parametrize("rows", [1, 2, 1000])
def test_a_launch_cut_short_ends_at_the_latest_time_any_event_reaches(kit, tmp_path, rows):
    s = kit.Synthetic()  # the launch begins at 0
    # five copies of 'x' at 0 on core 0, off the GM boundary, each its 74 ns
    # issue then 10 us moving bytes; between them 1 ms of compute on core 1,
    # neither the first nor the last work, which no rule reports (not kept)
    dur = round(s.chip.gm_issue_ns * 1000) + 10_000_000
    for index in range(5):
        s.load(0x10040, 0, 16 * KIB, flags=int(Flag.GM_UNALIGNED), dur=dur)
        if index == 1:
            s.rec.compute(
                int(CoreKind.AIV), 1, int(Space.UB), 0, KIB, "add", 1000, "calc", 0, 10**9
            )
    events = s.seq()
    meta = s.trace().meta  # its kernel_end, in a batch of its own, is what the cut loses
    table, path = s.rec.table(), tmp_path / "cut.ubtrace"
    with TraceWriter(path, meta) as writer:
        for batch in [*table.slice(0, events).to_batches(rows), *table.slice(events).to_batches()]:
            writer.write(batch)
    path.write_bytes(path.read_bytes()[:-16])  # the end marker and the last batch's tail
    assert_same_analysis(path)
    streamed = analyze_streamed(path)
    assert streamed.trace is not None and streamed.trace.event_count == events
    # the launch has no kernel_end: it ends at 1 ms, where the compute ends (the
    # copies the streamed analysis keeps reach 10.074 us)
    assert streamed.metrics["modelled_time_ps"] == 10**9
    found = {f.code: f for f in streamed.findings}
    # aligning saves 30 % of 5 x 10 us on core 0: 15 us, 1.5 % of the 1 ms (an
    # info), not capped at the 10.07 us the kept copies alone reach
    aln003 = found["ALN003"]
    assert (aln003.evidence["saved_ps"], str(aln003.severity)) == (15_000_000, "info")
    assert aln003.estimated_gain == "~15.00 µs of modelled copy time"
    # the 16 KiB 'x' covers fits in L2, so only its first read is HBM traffic:
    # 16 KiB at 1.6 TB/s is a 10.24 ns roofline (the 1,000 FLOPs take 3 ps), and
    # reaching it would take 1 ms - 10.24 ns = 999.99 us off
    assert found["GM003"].estimated_gain == "~999.99 µs if the kernel reached the roofline"


def test_reported_events_past_the_limit_are_counted_not_kept(kit, tmp_path, monkeypatch):
    monkeypatch.setattr(kept, "KEPT_LIMIT", 3)
    s = kit.Synthetic()
    for index in range(5):  # five truncated copies (ALN002) at one call site
        s.load(0x1000 + index * 512, 0, 100, moved=96, flags=1)
    # 64 KiB refused with 96 KiB free in 32 KiB pieces: failed with enough free
    s.rec.alloc_fail(
        int(CoreKind.AIV),
        0,
        int(Space.UB),
        64 * KIB,
        64 * KIB,
        "big",
        "site",
        0,
        96 * KIB,
        32 * KIB,
    )
    path = _write(s, tmp_path, 2)
    streamed = analyze_streamed(path)
    (truncated,) = [f for f in streamed.findings if f.code == "ALN002"]
    # the first three kept, and the last: GM002 locates the reads at their last
    assert truncated.evidence["events"] == 4
    # one copy and the failed allocation are past the limit
    assert any("2 events to report past the 3" in note for note in streamed.warnings)
    # metrics count every event: the failed allocation was past the limit
    assert streamed.metrics["fragmentation"]["failed_allocs_with_enough_free"] == 1


def _six_blocks_then_teardown(kit: Any, reset: bool) -> tuple[Any, int, int]:
    """Six 32 KiB blocks fill a 192 KiB UB pool; B and D are freed (two 32 KiB
    holes of 64 KiB free: 1 - 32/64 = 50 % external fragmentation, judged) and
    taken again; then a teardown frees A, C, E (three 32 KiB holes: 1 - 32/96 =
    67 %, inside the teardown), then the rest; with ``reset`` a POOL_RESET
    closes it. Returns the trace and the seq of the 50 % and 67 % events."""
    s = kit.Synthetic()
    s.rec.pool_init(int(CoreKind.AIV), 0, int(Space.UB), 0, 192 * KIB, "pool", "init", 0)
    for block in range(6):
        s.alloc(block * 32 * KIB, 32 * KIB)
    s.free(32 * KIB, 32 * KIB)
    judged = s.free(96 * KIB, 32 * KIB)
    s.alloc(32 * KIB, 32 * KIB)
    s.alloc(96 * KIB, 32 * KIB)
    s.free(0, 32 * KIB)
    s.free(64 * KIB, 32 * KIB)  # 50 % again: not the first to reach it
    in_teardown = s.free(128 * KIB, 32 * KIB)
    for block in (1, 3, 5):
        s.free(block * 32 * KIB, 32 * KIB)
    if reset:
        s.rec.pool_reset(int(CoreKind.AIV), 0, int(Space.UB), 0, "pool", 0, 192 * KIB, 192 * KIB)
    return s, judged, in_teardown


@pytest.mark.parametrize("rows", [1, 2, 3, 5, 1000])
@pytest.mark.parametrize("reset", [True, False], ids=["teardown", "no-reset"])
def test_fragmentation_replays_across_batches_and_waits_for_a_teardown(kit, tmp_path, rows, reset):
    s, judged, in_teardown = _six_blocks_then_teardown(kit, reset)
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    streamed = analyze_streamed(path)
    # frees closed by a POOL_RESET (in a later batch, for small batches) are not
    # judged; without it they are, and the three holes are the worst
    worst, seq = (0.5, judged) if reset else (round(1 - 32 / 96, 6), in_teardown)
    assert streamed.metrics["fragmentation"]["max_external"] == worst
    (finding,) = [f for f in streamed.findings if f.code == "FRG002"]
    assert finding.location.first_seq == seq
    free = 64 * KIB if reset else 96 * KIB
    assert (finding.evidence["free_bytes"], finding.evidence["largest_free_bytes"]) == (
        free,
        32 * KIB,
    )


def test_fragmentation_replays_in_small_steps_as_in_one(monkeypatch, tmp_path):
    # a step of one or two events: the carried boundaries and coverage are all
    # that links them
    monkeypatch.setattr(streamed_fragmentation, "_STEP_CELLS", 4)
    for name in ("pool_demo_freelist_fragmentation", "sparse_matmul_fragmentation"):
        sample = next(p for p in SAMPLES if p.stem == name)
        assert_same_analysis(rebatch(sample, tmp_path / sample.name, 50))


@pytest.mark.parametrize("rows", [1, 7, 1000])
def test_rounding_waste_is_summed_over_every_batch(kit, tmp_path, rows):
    s = kit.Synthetic()
    first = s.alloc(0, 100, aligned=128)
    for index in range(1, 64):
        s.alloc(index * 128, 100, aligned=128, core=index % 2)
    s.alloc(64 * 128, 128)  # no waste
    last = s.seq() - 1
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    (waste,) = [f for f in analyze_streamed(path).findings if f.code == "FRG003"]
    # 64 allocations of 100 B rounded to 128 B: 64 x 28 = 1,792 B lost of
    # 65 x 128 = 8,320 B allocated (21.5 %, over the 10 % threshold)
    assert (waste.evidence["waste_bytes"], waste.evidence["allocated_bytes"]) == (1792, 8320)
    assert waste.evidence["cores"] == [0, 1]
    assert (waste.location.first_seq, waste.location.last_seq) == (first, last)


def _two_launches_of_reads(kit: Any) -> tuple[Any, int, int]:
    """Reads of tensor ``w`` (unit U = 64 KiB) by two cores over two launches.
    Launch 1: core 0 reads [0, 1U), again [0, 1U), core 1 [0.5U, 1.5U), core 0
    [1U, 2U). Launch 2: core 1 reads [0, 1U) twice; core 0 twice the same
    strided shape (4 bursts of 1/64 U, 1/16 U in all) at 4U. Returns the trace
    and the seq of the first and last read."""
    unit = 64 * KIB
    s = kit.Synthetic()
    first = s.load(0, 0, unit, tensor="w")
    s.load(0, 0, unit, tensor="w")
    s.load(unit // 2, 0, unit, tensor="w", core=1)
    s.load(unit, 0, unit, tensor="w")
    s.rec.kernel_end(s.kernel, 10_000, 10_000)
    s.rec.kernel_begin(s.kernel, 2, 20_000, "vector")
    s.load(0, 0, unit, tensor="w", core=1)
    s.load(0, 0, unit, tensor="w", core=1)
    for _ in range(2):
        last = s.seq()
        s.rec.copy(
            int(CoreKind.AIV), 0, int(Space.GM), 4 * unit, int(Space.UB), 0,
            unit // 16, unit // 16, unit // 64, 4, "w", "strided", 0, 1000, 0,
        )  # fmt: skip
    return s, first, last


@pytest.mark.parametrize("rows", [1, 3, 1000])
def test_distinct_gm_bytes_are_counted_per_launch_and_core_across_batches(kit, tmp_path, rows):
    s, first, last = _two_launches_of_reads(kit)
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    streamed = analyze_streamed(path)
    assert streamed.context is not None
    (w,) = streamed.context.traffic.query("tensor == 'w'").to_dict("records")
    unit = 64 * KIB
    # moved: 4U in launch 1; 2U + 2 x 1/16 U in launch 2
    assert w["bytes"] == 6 * unit + unit // 8
    # distinct per launch: [0, 2U) in launch 1; [0, 1U) and the shape once in launch 2
    assert w["distinct_bytes"] == 2 * unit + unit + unit // 16
    # again on one core within a launch: launch 1 core 0 moved 3U over [0, 2U)
    # (1U), core 1 none; launch 2 core 1 1U, core 0 the shape once (1/16 U)
    assert w["reloaded_bytes"] == unit + unit + unit // 16
    assert w["reloaded_on_one_core"] == unit + unit  # the busiest core of each launch
    # the run touched [0, 2U) and the shape: within L2, so HBM reads are those
    assert w["hbm_bytes"] == 2 * unit + unit // 16
    # read 6.125U for 6.125U - 2.0625U each core needed: 1.51x, over GM001's 1.5
    (reloads,) = [f for f in streamed.findings if f.code == "GM001"]
    assert (reloads.location.first_seq, reloads.location.last_seq) == (first, last)


def test_too_many_scattered_ranges_are_given_up_and_said(kit, tmp_path, monkeypatch):
    monkeypatch.setattr(ranges, "RANGE_LIMIT", 2)
    s, _, _ = _two_launches_of_reads(kit)
    streamed = analyze_streamed(_write(s, tmp_path, 2))
    assert streamed.context is not None
    assert streamed.context.traffic["distinct_bytes"].isna().all()
    assert streamed.context.roofline == {}
    assert not {f.code for f in streamed.findings} & set(RANGE_RULES)
    note = next(n for n in streamed.warnings if "scattered GM byte ranges" in n)
    assert all(code in note for code in RANGE_RULES)
    assert all(metric in note for metric in RANGE_METRICS)
    assert streamed.metrics["gm"]["redundant_read_ratio"] is None
    assert streamed.metrics["roofline"]["intensity"] is None


US = 1_000_000  # picoseconds


def _idle_blocks(kit: Any) -> Any:
    """Blocks whose use UB009-UB011 judge, each event in its own batch when
    written with rows=1 (the kernel ends at 10 µs):

    - 'early' (0, 4 KiB): allocated at 0, first loaded at 3 µs, freed at 4 µs:
      3 of 4 µs idle before first use (75 %, the default limits) -> UB009;
    - 'late' (4 KiB, 4 KiB): loaded inside it (not at its start) at 1 µs for
      1 ns, freed at 9 µs: 9 - 1.001 = 7.999 of 9 µs idle after last use -> UB010;
    - 'out' (12 KiB, 1 KiB): only read, by a store to GM at 0.5 µs, freed at
      0.6 µs: used, and idle under 1 µs -> no finding;
    - 'never' (8 KiB, 1 KiB): freed at 5 µs, never touched -> UB011;
    - 'kept' (16 KiB, 1 KiB): loaded at 1 µs, never freed: it lives until the
      kernel's end, 10 - 1.001 = 8.999 of 10 µs idle after last use -> UB010.
    """
    s = kit.Synthetic()
    s.alloc(0, 4 * KIB, "early", t=0)
    s.alloc(4 * KIB, 4 * KIB, "late", t=0)
    s.alloc(8 * KIB, 1 * KIB, "never", t=0)
    s.alloc(12 * KIB, 1 * KIB, "out", t=0)
    s.alloc(16 * KIB, 1 * KIB, "kept", t=0)
    store = (int(CoreKind.AIV), 0, int(Space.UB), 12 * KIB, int(Space.GM), 0x9000, 512, 512)
    s.rec.copy(*store, 512, 1, "y", "store", US // 2, 1000)
    s.free(12 * KIB, 1 * KIB, "out", t=6 * US // 10)
    s.load(0x2000, 4 * KIB + 512, 1 * KIB, t=1 * US, dur=1000)
    s.load(0x3000, 16 * KIB, 1 * KIB, t=1 * US, dur=1000)
    s.load(0x1000, 0, 4 * KIB, t=3 * US, dur=1000)
    s.free(0, 4 * KIB, "early", t=4 * US)
    s.free(8 * KIB, 1 * KIB, "never", t=5 * US)
    s.free(4 * KIB, 4 * KIB, "late", t=9 * US)
    s.rec.kernel_end(s.kernel, 10 * US, 10 * US)
    return s


def _write_ended(synthetic: Any, tmp_path: Path, rows: int) -> Path:
    """A hand-made trace whose kernel end is already recorded, in batches of ``rows``."""
    meta = synthetic.trace().meta  # trace() records a second end: not written
    table = synthetic.rec.table()
    return rebatch_table(table.slice(0, table.num_rows - 1), meta, tmp_path / "h.ubtrace", rows)


@pytest.mark.parametrize("rows", [1, 2, 1000])
def test_block_use_is_judged_across_batches(kit, tmp_path, rows):
    path = _write_ended(_idle_blocks(kit), tmp_path, rows)
    assert_same_analysis(path)
    found = {
        (f.code, f.message.split("'")[1], f.evidence.get("mean_idle_ps"))
        for f in analyze_streamed(path).findings
        if f.code in ("UB009", "UB010", "UB011")
    }
    assert found == {
        ("UB009", "early", 3 * US),
        ("UB010", "late", 9 * US - 1_001_000),
        ("UB010", "kept", 10 * US - 1_001_000),
        ("UB011", "never", None),
    }


def _read_blocks(kit: Any) -> tuple[Any, int, int]:
    """Four 1 KiB blocks at 0, 1, 2 and 3 KiB, allocated at 0 and freed at 1 µs:

    - 'table': only read, as the first source of an Add (at byte 256 of it);
    - 'out': only the Add's destination;
    - 'looked': only read, by a scalar GetValue (a compute flagged SCALAR_ACCESS with
      no destination, its source byte 8 of the block, 4 B, no FLOPs, no time);
    - 'never': untouched -> the one UB011.

    Returns the trace and the Add's and the GetValue's rows."""
    s = kit.Synthetic()
    names = ("table", "out", "looked", "never")
    for index, name in enumerate(names):
        s.alloc(index * KIB, KIB, name)
    add = s.seq()
    ub, none = int(Space.UB), int(Space.NONE)
    aiv = int(CoreKind.AIV)
    s.rec.compute(aiv, 0, ub, KIB, 2 * KIB, "Add", 256, "add", 100, 50, src_space=ub, src_addr=256)
    get = s.seq()
    s.rec.compute(
        aiv, 0, none, 0, 4, "GetValue", 0, "get", 200, 0, int(Flag.SCALAR_ACCESS), src_space=ub,
        src_addr=2 * KIB + 8,
    )  # fmt: skip
    for index, name in enumerate(names):
        s.free(index * KIB, KIB, name, t=US)
    return s, add, get


@pytest.mark.parametrize("rows", [1, 1000])
def test_blocks_only_read_by_computes_are_used(kit, tmp_path, rows):
    s, add, get = _read_blocks(kit)
    path = _write(s, tmp_path, rows)
    assert_same_analysis(path)
    whole = analyze_path(path)
    # one launch event precedes the first alloc, so a row is its seq
    assert whole.context.block_usage.last_row.tolist() == [add, add, get, -1]
    (unused,) = [f for f in analyze_streamed(path).findings if f.code == "UB011"]
    assert "'never'" in unused.message and unused.evidence["blocks"] == 1
    # the scalar read is no operation: the roofline counts the Add alone
    assert whole.context.roofline["compute_events"] == 1


def test_a_scalar_access_leaves_the_intensity_unknown(kit, tmp_path):
    # copies and one scalar write, no vector or cube work: as a trace of copies alone
    s = kit.Synthetic()
    s.alloc(0, KIB, "tile")
    s.load(0x1000, 0, KIB)
    ub, aiv = int(Space.UB), int(CoreKind.AIV)
    s.rec.compute(aiv, 0, ub, 0, 4, "SetValue", 0, "set", 2000, 0, int(Flag.SCALAR_ACCESS), 4)
    s.free(0, KIB, "tile", t=US)
    path = _write(s, tmp_path, 1)
    assert_same_analysis(path)
    assert analyze_path(path).metrics["roofline"]["bound"] is None


def _spare_after_a_higher_peak(block: Any) -> None:
    """A loop of 2 KiB tiles that uses both blocks of its queue, its pipe
    destroyed; then the one-round ping-pong loop of test_rules_ub (its queue's
    second block never used), its pipe destroyed too. The first allocation
    and the peak, whose blocks a streamed analysis keeps anyway, are the first
    loop's: the second queue's used first block is kept for the spare test only."""
    ping_pong_loop(2, destroy=True, tile_kib=2)(block)
    ping_pong_loop(1, destroy=True)(block)


@pytest.mark.parametrize("rows", [1, 3])
@pytest.mark.parametrize("body", [ping_pong_loop(1), _spare_after_a_higher_peak])
def test_a_spare_queue_buffer_is_told_across_batches(kit, tmp_path, rows, body):
    # the queue's first block is in an earlier batch than the spare one
    table, meta = kit.device_events(body)
    path = rebatch_table(table, meta, tmp_path / "pp.ubtrace", rows)
    assert_same_analysis(path)
    (spare,) = [f for f in analyze_streamed(path).findings if f.code == "UB011"]
    assert str(spare.severity) == "info" and spare.evidence["spare_queue_blocks"] is True


def test_blocks_past_the_usage_limit_are_said(kit, tmp_path, monkeypatch):
    monkeypatch.setattr(usage, "KEPT_LIMIT", 4)  # a quarter: one block recorded
    s = kit.Synthetic()
    for index, name in enumerate(("first", "second")):  # both never used: UB011
        s.alloc(index * KIB, 1 * KIB, name)
        s.free(index * KIB, 1 * KIB, name)
    streamed = analyze_streamed(_write(s, tmp_path, 1))
    (unused,) = [f for f in streamed.findings if f.code == "UB011"]
    assert "'first'" in unused.message
    assert any("more than 1 blocks to judge by their use" in note for note in streamed.warnings)


def _arrays(state: object, path: str, depth: int = 2) -> dict[str, np.ndarray]:
    """The numpy arrays among ``state``'s attributes and theirs, by dotted path."""
    found: dict[str, np.ndarray] = {}
    for name, value in getattr(state, "__dict__", {}).items():
        if isinstance(value, np.ndarray):
            found[f"{path}{name}"] = value
        elif depth > 1:
            found.update(_arrays(value, f"{path}{name}.", depth - 1))
    return found


def test_per_group_state_starts_as_untouched_zeros():
    """The streamed analysis keeps per-group state in arrays indexed by group id
    (GROUP_BOUND entries: 16 MiB each at 8 B); a trace has a few groups, so
    these arrays must start as zeros, which the OS maps only where a group is
    written. One filled with ones or -1 was 16 MiB of memory touched for
    nothing: the streamed analysis of 10 M events held 273 MiB at its peak with
    three of them, 230 MiB without (BENCHMARKS.md)."""
    sample = SAMPLES[0]
    stream = _Stream(sample, streamed_chip(sample, Config()), build_rules())
    per_group = {
        name: values
        for name, values in _arrays(stream, "", depth=3).items()
        if values.size >= GROUP_BOUND // 8
    }
    assert {"occupancy.peak", "occupancy.sketch.events", "fragmentation.sketch.events"} <= set(
        per_group
    )
    assert [name for name, values in per_group.items() if values.any()] == []
