"""The tabs of a profile, in the order of their number keys.

``TABS`` names them (title, short title) without importing them: the profile
screen shows the tab bar and the trace's metadata before the analysis, and the
view modules bring in the analysis package. ``views()`` imports the classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ubscope.tui.views.base import View

TABS: tuple[tuple[str, str], ...] = (
    ("Overview", "Ovw"),
    ("Findings", "Fnd"),
    ("Timeline", "Tim"),
    ("Memory map", "Map"),
    ("Traffic", "GM"),
    ("Events", "Evt"),
    ("Vendor", "Vnd"),
    ("Compare", "Cmp"),
)


def views() -> tuple[type[View], ...]:
    """The view classes, in the order of ``TABS``."""
    from ubscope.tui.views.compare import CompareView
    from ubscope.tui.views.events import EventsView
    from ubscope.tui.views.findings import FindingsView
    from ubscope.tui.views.memory_map import MemoryMapView
    from ubscope.tui.views.overview import OverviewView
    from ubscope.tui.views.timeline import TimelineView
    from ubscope.tui.views.traffic import TrafficView
    from ubscope.tui.views.vendor import VendorView

    return (
        OverviewView,
        FindingsView,
        TimelineView,
        MemoryMapView,
        TrafficView,
        EventsView,
        VendorView,
        CompareView,
    )


def __getattr__(name: str) -> Any:
    # VIEWS and View on use: importing this package must stay light
    if name == "VIEWS":
        return views()
    if name == "View":
        from ubscope.tui.views.base import View

        return View
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TABS", "VIEWS", "View", "views"]
