"""The tabs of a profile, in the order of their number keys."""

from __future__ import annotations

from ubscope.tui.views.base import View
from ubscope.tui.views.compare import CompareView
from ubscope.tui.views.events import EventsView
from ubscope.tui.views.findings import FindingsView
from ubscope.tui.views.memory_map import MemoryMapView
from ubscope.tui.views.overview import OverviewView
from ubscope.tui.views.timeline import TimelineView
from ubscope.tui.views.traffic import TrafficView
from ubscope.tui.views.vendor import VendorView

VIEWS: tuple[type[View], ...] = (
    OverviewView,
    FindingsView,
    TimelineView,
    MemoryMapView,
    TrafficView,
    EventsView,
    VendorView,
    CompareView,
)

__all__ = ["VIEWS", "View"]
