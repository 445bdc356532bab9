"""The TUI on a streamed analysis (a trace bigger than memory, or --stream):
overview, timeline and traffic from one pass, the memory map at each place's
peak and the events findings point at."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from textual.widgets import Input

from tests.helpers.rebatch import rebatch
from ubscope.analyzers import EventPages, analyze_path, event_pages
from ubscope.analyzers.streaming import decide, ranges
from ubscope.tui.app import UbscopeApp
from ubscope.tui.loading import TraceRequest
from ubscope.tui.views import VIEWS
from ubscope.tui.views.overview import roofline_summary
from ubscope.tui.widgets.event_table import COLUMNS, EventColumns, EventTable, PagedColumns

from .helpers import screen_text, wait_for_views


def _key_of(title: str) -> str:
    return str(1 + [view.title for view in VIEWS].index(title))


async def test_a_streamed_analysis_opens_in_every_view(trace_dir):
    path = trace_dir / "no_reset.ubtrace"
    whole, streamed = analyze_path(path), analyze_path(path, stream=True)
    assert whole.trace is not None
    app = UbscopeApp(analysis=streamed)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_views(pilot, app)
        screens = {"Overview": screen_text(app)}
        for title in ("Memory map", "Traffic", "Events", "Timeline"):
            await pilot.press(_key_of(title))
            await pilot.pause()
            screens[title] = screen_text(app)
    overview, memory_map, traffic = screens["Overview"], screens["Memory map"], screens["Traffic"]
    events, timeline = screens["Events"], screens["Timeline"]
    # every event of the trace counted, the note saying what was left out
    assert f"{whole.trace.event_count:,} events" in overview
    assert "streamed analysis" in overview
    # pool_no_reset overflows UB: the same peak as the whole analysis finds
    peak = whole.metrics["peak_bytes"]["UB"] // 1024
    assert f"{peak}.0 KiB / 192.0 KiB" in overview
    # the memory map holds the blocks live at the place's peak: the place the
    # TUI opens on (the fullest, aiv0 UB) and, in the whole analysis, its blocks
    # allocated at or before its peak event and not freed by then
    assert whole.context is not None
    peak = whole.context.peaks.iloc[0]
    frame = whole.context.lifetimes
    at_peak = frame[
        (frame["core"] == peak["core"]).to_numpy()
        & (frame["space"] == "UB").to_numpy()
        & (frame["alloc_seq"] <= peak["peak_seq"]).to_numpy()
        & ((frame["free_seq"] < 0) | (frame["free_seq"] > peak["peak_seq"])).to_numpy()
    ]
    assert len(at_peak) > 1
    assert f"aiv{peak['core']} UB  at its peak  {len(at_peak)} blocks" in memory_map
    assert "streamed analysis: the map keeps each place's peak only" in memory_map
    # the distinct GM bytes and the roofline, as the whole analysis has them
    assert "—" not in traffic
    assert whole.context is not None
    assert roofline_summary(whole.context.roofline).plain[:40] in traffic
    count = whole.trace.event_count
    assert f"{count:,} of {count:,} events read from disk (streamed)" in events
    assert "UB" in timeline and "peak" in timeline.lower()


async def test_byte_ranges_given_up_show_as_unknown(trace_dir, monkeypatch):
    monkeypatch.setattr(ranges, "RANGE_LIMIT", 1)
    streamed = analyze_path(trace_dir / "no_reset.ubtrace", stream=True)
    app = UbscopeApp(analysis=streamed)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_views(pilot, app)
        await pilot.press(_key_of("Traffic"))
        await pilot.pause()
        traffic = screen_text(app)
    assert "—" in traffic  # distinct bytes unknown, not 0
    assert "roofline not computed" in traffic


def test_the_tui_streams_a_trace_too_big_for_memory(trace_dir, monkeypatch):
    # 1 KiB available: no trace's in-memory analysis fits in half of it
    monkeypatch.setattr(decide.psutil, "virtual_memory", lambda: SimpleNamespace(available=1024))
    analysis, _ = TraceRequest(trace_dir / "no_reset.ubtrace").analyze()
    assert analysis.streamed
    forced, _ = TraceRequest(trace_dir / "markup.ubtrace", stream=True).analyze()
    assert forced.streamed


def test_paged_rows_read_as_the_loaded_trace_shows_them(trace_dir, tmp_path):
    # batches of 7 events: a screen of rows spans pages, and pages leave the cache
    path = rebatch(trace_dir / "no_reset.ubtrace", tmp_path / "paged.ubtrace", 7)
    whole = analyze_path(path)
    assert whole.context is not None
    loaded = EventColumns(whole.context)
    paged = PagedColumns(EventPages(path, whole.chip))
    assert paged.count == loaded.count == whole.context.events.shape[0]
    for rows in (np.arange(loaded.count), np.array([5, 6, 7, 8, 100, 3])):
        for column in COLUMNS:
            assert column.values(paged, rows) == column.values(loaded, rows), column.title
    assert paged.position_of_seq(loaded.count - 1) == loaded.count - 1
    assert paged.position_of_seq(loaded.count) is None


async def test_the_events_of_a_streamed_trace_page_from_disk(trace_dir, tmp_path):
    path = rebatch(trace_dir / "no_reset.ubtrace", tmp_path / "paged.ubtrace", 7)
    streamed = analyze_path(path, stream=True)
    assert streamed.trace is not None
    last = streamed.trace.event_count - 1
    app = UbscopeApp(analysis=streamed)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_views(pilot, app)
        await pilot.press(_key_of("Events"))
        await pilot.press("end")
        await pilot.pause()
        at_end = screen_text(app)
        await pilot.press("g", *"123", "enter")
        await pilot.pause()
        at_123 = screen_text(app)
    assert f"seq {last} kernel_end" in at_end
    assert "seq 123 " in at_123


async def test_a_filter_reads_every_page_of_a_streamed_trace(trace_dir, tmp_path, monkeypatch):
    path = rebatch(trace_dir / "no_reset.ubtrace", tmp_path / "paged.ubtrace", 7)
    whole = analyze_path(path)
    assert whole.context is not None
    # the oracle: the loaded trace's allocations on core aiv1, by their position
    events = whole.context.events
    expected = np.flatnonzero(((events["kind"] == "alloc") & (events["core"] == 1)).to_numpy())
    assert 0 < expected.size < len(events)
    app = UbscopeApp(analysis=analyze_path(path, stream=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_views(pilot, app)
        await pilot.press(_key_of("Events"), "slash", *"kind=alloc core=aiv1", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one(EventTable)
        assert table.rows is not None and table.rows.tolist() == expected.tolist()
        assert f"{expected.size:,} of {len(events):,} events" in screen_text(app)
        # past the limit, the first matches are kept and the view says so
        monkeypatch.setattr(event_pages, "FILTER_LIMIT", 3)
        field = app.screen.query_one("#events-filter", Input)
        field.value = "kind=alloc core=aiv1"
        field.focus()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.rows is not None and table.rows.tolist() == expected[:3].tolist()
        assert (
            f"3 of {len(events)} events read from disk (streamed), the first the filter keeps"
            in (" ".join(screen_text(app).split()))
        )
