"""The TUI on a streamed analysis (a trace bigger than memory, or --stream):
overview, timeline and traffic from one pass, the events findings point at,
and a reason where a view needs every block."""

from __future__ import annotations

from types import SimpleNamespace

from ubscope.analyzers import analyze_path
from ubscope.analyzers.streaming import decide
from ubscope.tui.app import UbscopeApp
from ubscope.tui.loading import TraceRequest
from ubscope.tui.views import VIEWS

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
    assert "no memory map for a streamed analysis" in memory_map
    assert "—" in traffic  # distinct bytes unknown, not 0
    assert "roofline not computed" in traffic
    assert f"kept of {whole.trace.event_count:,} (streamed)" in events
    assert "UB" in timeline and "peak" in timeline.lower()


def test_the_tui_streams_a_trace_too_big_for_memory(trace_dir, monkeypatch):
    # 1 KiB available: no trace's in-memory analysis fits in half of it
    monkeypatch.setattr(decide.psutil, "virtual_memory", lambda: SimpleNamespace(available=1024))
    analysis, _ = TraceRequest(trace_dir / "no_reset.ubtrace").analyze()
    assert analysis.streamed
    forced, _ = TraceRequest(trace_dir / "markup.ubtrace", stream=True).analyze()
    assert forced.streamed
