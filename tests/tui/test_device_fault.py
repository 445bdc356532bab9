"""The TUI marks a run that wrote past on-chip capacity: its header says it would
fault on the device and the Overview says why its numerics mean nothing; a run
inside capacity is not marked."""

from __future__ import annotations

from ubscope.tui.app import UbscopeApp

from .helpers import screen_text, wait_for_views


async def test_header_and_overview_mark_a_run_that_would_fault(analyses):
    assert analyses["no_reset"].device_fault is not None
    app = UbscopeApp(analysis=analyses["no_reset"])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_views(pilot, app)
        text = screen_text(app)
    header = text.splitlines()[0]
    assert header.startswith(" ubscope ") and "⚠ would fault on the device" in header
    overview = " ".join(text.split())
    assert "would fault on the device: aiv0 wrote " in overview
    assert "(its output is not meaningful, even where it matches the reference)" in overview


async def test_a_run_inside_capacity_is_not_marked(analyses):
    assert analyses["tpipe"].device_fault is None
    app = UbscopeApp(analysis=analyses["tpipe"])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_views(pilot, app)
        text = screen_text(app)
    assert "fault" not in text
