"""The series the views draw agree with the analyzers' context and with brute force."""

from __future__ import annotations

import numpy as np
import pytest

from ubscope.analyzers import (
    BlockEvent,
    OccupancySeries,
    PlaceBlocks,
    analyze_path,
    block_event,
    event_fields,
    failed_allocations,
    filter_rows,
    parse_event_filter,
    places,
    redzone_writes,
    row_of_seq,
)
from ubscope.probe.events import CoreKind, Space

AIV, UB = int(CoreKind.AIV), int(Space.UB)


def test_bucket_maxima_match_brute_force():
    rng = np.random.default_rng(7)
    t = np.sort(rng.integers(0, 10_000, 300))
    live = rng.integers(0, 1 << 16, 300)
    series = OccupancySeries(t, np.arange(300), live)
    for t0, t1, width in ((0, 10_000, 37), (2_500, 3_100, 80), (9_000, 12_000, 5)):
        columns = series.columns(t0, t1, width)
        edges = t0 + (t1 - t0) * np.arange(width + 1) / width
        for index in range(width):
            holding = series.live_at_step(series.step_at(edges[index]))
            inside = live[(t >= edges[index]) & (t < edges[index + 1])]
            assert columns[index] == max([holding, *inside.tolist()])


@pytest.mark.parametrize("label", ["freelist_fragmentation", "pool_no_reset", "healthy_tpipe"])
def test_live_blocks_sum_to_the_occupancy_at_every_step(pool_demo_traces, label):
    ctx = analyze_path(pool_demo_traces(label)).context
    for place in places(ctx):
        series = OccupancySeries.of(ctx, place)
        blocks = PlaceBlocks.of(ctx, place, series)
        live_sums = [int(blocks.aligned_size[blocks.live_at(s)].sum()) for s in range(len(series))]
        assert live_sums == series.live.tolist()


def test_event_filter_matches_pandas(pool_demo_traces):
    table = analyze_path(pool_demo_traces("pool_no_reset")).context.table
    events = table.events
    flt = parse_event_filter("kind=copy,alloc core=aiv2 space=UB tag=copyin")
    expected = np.flatnonzero(
        events["kind"].isin(["copy", "alloc"])
        & (events["core_kind"] == "aiv")
        & (events["core"] == 2)
        & (events["space"] == "UB")
        & (events["tag"] == "copyin")
    )
    assert filter_rows(table, flt).tolist() == expected.tolist()
    flagged = filter_rows(table, parse_event_filter("flag=redzone addr=0x30000-0x40000"))
    assert len(flagged) and (events["addr"].to_numpy()[flagged] < 0x40000).all()
    assert filter_rows(table, parse_event_filter("")) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("kind=bogus", "unknown kind"),
        ("space=XB", "unknown space"),
        ("core=gpu1", "core 'gpu1'"),
        ("addr=0x200-0x100", "end must be above"),
        ("color=red", "unknown key"),
        ("kind", "expected key=value"),
        ("flag=shiny", "unknown flag"),
    ],
)
def test_bad_event_filters_say_why(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_event_filter(text)


def test_block_events_and_event_fields_say_what_each_number_means(kit):
    syn = kit.Synthetic()
    alloc = syn.alloc(0x100, 1000, name="x", tag="copyin", t=10, aligned=1024)
    copy = syn.load(0x0, 0x100, 1000, moved=992, t=20)
    free = syn.free(0x100, 1000, name="x", t=30)
    syn.rec.alloc_fail(AIV, 0, UB, 4000, 4096, "y", "copyin", 40, 3072, 2048)
    syn.rec.redzone_write(AIV, 1, UB, 0x2F000, 8192, 4096, "copyout", 50)
    mul = syn.seq()
    syn.rec.compute(AIV, 0, UB, 0x400, 96, "Mul", 8, "k", 60, 5, 0, 32, UB, 0x100, 0x200)
    exp = syn.seq()
    syn.rec.compute(AIV, 0, UB, 0x400, 64, "Exp", 8, "k", 70, 5, 0, 32, UB, 0x100)
    select = syn.seq()
    syn.rec.compute(
        AIV, 0, UB, 0x400, 128, "Select", 8, "k", 80, 5, 0, 32, UB, 0x100, 0x200, 0x300
    )  # fmt: skip
    ctx = kit.context(syn.trace())

    assert block_event(ctx, alloc) == BlockEvent(alloc, "alloc", "x", "copyin", 1024, 0x100)
    assert block_event(ctx, free) == BlockEvent(free, "free", "x", "site", 1000, 0x100)
    assert block_event(ctx, copy) is None
    assert row_of_seq(ctx, 10**6) is None

    def fields(seq):
        return {f.label: f.value for f in event_fields(ctx, row_of_seq(ctx, seq))}

    assert fields(alloc) == {"size": 1000, "aligned": 1024, "queue": 0}
    assert fields(copy) == {"asked": 1000, "moved": 992}
    assert fields(free + 1) == {"size": 4000, "aligned": 4096, "free": 3072, "largest": 2048}
    # a second source is named where the op has one (Mul), not as 0 where it has none
    assert fields(mul) == {"accessed": 96, "written": 32, "flops": 8, "src2": 0x200}
    (src2,) = [f for f in event_fields(ctx, row_of_seq(ctx, mul)) if f.label == "src2"]
    assert src2.text == "src2=0x200"
    assert fields(exp) == {"accessed": 96 - 32, "written": 32, "flops": 8}
    assert fields(select) == {
        "accessed": 128, "written": 32, "flops": 8, "src2": 0x200, "src3": 0x300
    }  # fmt: skip

    failed = failed_allocations(ctx)
    assert failed[["core_kind", "core", "space", "t_ps"]].values.tolist() == [["aiv", 0, "UB", 40]]
    assert failed[
        ["aligned_size", "total_free", "largest_free", "enough_free"]
    ].values.tolist() == [[4096, 3072, 2048, False]]
    writes = redzone_writes(ctx)
    assert writes[["core", "t_ps", "addr", "end"]].values.tolist() == [[1, 50, 0x2F000, 0x31000]]
