"""Snapshots of the main screens at 80x24 (update with --snapshot-update after
checking the new pictures in the report pytest-textual-snapshot writes)."""

from __future__ import annotations

import pytest

from ubscope.tui.app import UbscopeApp

from .helpers import wait_for_views

SCREENS = {
    "overview": ("no_reset", None, []),
    "findings": ("no_reset", None, ["2", "down"]),
    "timeline": ("fragmentation", None, ["3", "left", "left"]),
    "memory_map": ("fragmentation", None, ["4", "t"]),
    "traffic": ("fragmentation", None, ["5"]),
    "events": ("no_reset", None, ["6", "g", "2", "6", "enter"]),
    "compare": ("no_reset", "tpipe", ["8"]),
}


@pytest.mark.parametrize("screen", list(SCREENS))
def test_main_screens(snap_compare, analyses, screen):
    label, baseline, keys = SCREENS[screen]
    app = UbscopeApp(analysis=analyses[label], compare=analyses[baseline] if baseline else None)

    async def ready(pilot):
        await wait_for_views(pilot, app)
        await pilot.press(*keys)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)
