"""Opening traces from the command line's request: background analysis, the
folder picker, and errors that appear only while analysing."""

from __future__ import annotations

import shutil
import threading

from ubscope.probe.read_progress import report_read
from ubscope.probe.trace import find_traces
from ubscope.tui.app import UbscopeApp
from ubscope.tui.loading import TraceRequest
from ubscope.tui.profile import ProfileScreen
from ubscope.tui.screens import PickerScreen

from .helpers import screen_text, wait_for_views


async def test_request_shows_metadata_then_the_analysis(trace_dir):
    app = UbscopeApp(
        request=TraceRequest(
            trace_dir / "fragmentation.ubtrace", compare=trace_dir / "tpipe.ubtrace"
        )
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ProfileScreen)
        assert "freelist_fragmentation" in screen_text(app)  # from the metadata at once
        await wait_for_views(pilot, app)
        assert app.screen.state.compare is not None
        await pilot.press("8")
        assert "tpipe.ubtrace" in screen_text(app)


async def test_vendor_error_while_analysing_exits_2(trace_dir, tmp_path):
    bad = tmp_path / "advisor.json"
    bad.write_text("this is not JSON")
    app = UbscopeApp(
        request=TraceRequest(trace_dir / "tpipe.ubtrace", vendor=(("msadvisor", bad),))
    )
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            await pilot.pause(0.02)
            if app.error is not None:
                break
    assert app.return_code == 2
    assert "advisor.json" in str(app.error)


async def test_folder_picker_lists_opens_and_goes_back(trace_dir, tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    for name in ("tpipe", "no_reset"):
        shutil.copy(trace_dir / f"{name}.ubtrace", folder)
    (folder / "zz_foreign.ubtrace").write_bytes(b"not a trace at all")
    entries = find_traces(folder)
    assert [e.path.name for e in entries] == [
        "no_reset.ubtrace",
        "tpipe.ubtrace",
        "zz_foreign.ubtrace",
    ]
    assert entries[2].meta is None and "not a ubscope trace" in entries[2].problem
    app = UbscopeApp(request=TraceRequest(folder), folder=str(folder), entries=entries)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        text = screen_text(app)
        assert "pool_no_reset" in text and "(unreadable)" in text
        await pilot.press("down", "down", "enter")  # the foreign file: stays on the list
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("up", "up", "enter")
        await wait_for_views(pilot, app)
        assert "no_reset.ubtrace" in screen_text(app)
        await pilot.press("backspace")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)


async def test_the_screen_counts_the_events_read_while_analysing(trace_dir, monkeypatch):
    """A big trace takes a while: the pending screen says how far the read got
    (here a read that stops a quarter of the way into 10 M events)."""
    release = threading.Event()
    analyze = TraceRequest.analyze

    def read_a_quarter_then_wait(self):
        report_read(2_500_000, 10_000_000)
        release.wait(10)
        return analyze(self)

    monkeypatch.setattr(TraceRequest, "analyze", read_a_quarter_then_wait)
    app = UbscopeApp(request=TraceRequest(trace_dir / "tpipe.ubtrace"))
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if "read 2.5 M of 10.0 M events (25%)" in screen_text(app):
                break
        assert "read 2.5 M of 10.0 M events (25%)" in screen_text(app)
        release.set()
        await wait_for_views(pilot, app)
