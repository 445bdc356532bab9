"""The series the views draw agree with the analyzers' context and with brute force."""

from __future__ import annotations

import numpy as np
import pytest

from ubscope.analyzers import (
    OccupancySeries,
    PlaceBlocks,
    analyze_path,
    filter_rows,
    parse_event_filter,
    places,
)


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
    events = analyze_path(pool_demo_traces("pool_no_reset")).context.events
    flt = parse_event_filter("kind=copy,alloc core=aiv2 space=UB tag=copyin")
    expected = np.flatnonzero(
        events["kind"].isin(["copy", "alloc"])
        & (events["core_kind"] == "aiv")
        & (events["core"] == 2)
        & (events["space"] == "UB")
        & (events["tag"] == "copyin")
    )
    assert filter_rows(events, flt).tolist() == expected.tolist()
    flagged = filter_rows(events, parse_event_filter("flag=redzone addr=0x30000-0x40000"))
    assert len(flagged) and (events["addr"].to_numpy()[flagged] < 0x40000).all()
    assert filter_rows(events, parse_event_filter("")) is None


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
