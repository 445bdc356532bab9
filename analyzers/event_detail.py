"""What the kind-specific numbers of one event mean, for the Events view.

Every event row has ``size``, ``aligned_size``, ``arg`` and ``arg2`` columns
whose meaning depends on its kind; the typed event layer decodes them. Here
each kind's numbers are listed under the names the layer gives them (with a
short label for display), so a view
shows ``flops=4096`` or ``free=8192`` rather than raw columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.model.touches import LATER_SOURCES
from ubscope.probe.event_table import EventTable
from ubscope.probe.events import EventKind


@dataclass(frozen=True)
class EventField:
    """One kind-specific number of an event."""

    name: str  # the typed layer's field name (``aligned_size``, ``flops`` ...)
    label: str  # short display name (``aligned``, ``flops`` ...)
    value: int
    is_bytes: bool  # a byte count or address extent, worth showing as KiB/MiB
    is_address: bool = False  # a byte address, worth showing in hex

    @property
    def text(self) -> str:
        """``label=value``, an address in hex."""
        return f"{self.label}={self.value:#x}" if self.is_address else f"{self.label}={self.value}"


_KV_PAGE_FIELDS = (
    EventTable.kv_page_events,
    (
        ("page", "page", False),
        ("page_bytes", "page_bytes", True),
        ("sequence", "sequence", False),
        ("tokens", "tokens", False),
    ),
)
# Per kind: the typed accessor and its numeric fields, byte counts marked.
_FIELDS: dict[EventKind, tuple[Callable[[EventTable], Any], tuple[tuple[str, str, bool], ...]]] = {
    EventKind.KERNEL_BEGIN: (EventTable.launches, (("block_dim", "blocks", False),)),
    EventKind.ALLOC: (
        EventTable.allocs,
        (
            ("size", "size", True),
            ("aligned_size", "aligned", True),
            ("queue_block", "queue", False),
        ),
    ),
    EventKind.FREE: (EventTable.frees, (("size", "size", True), ("aligned_size", "aligned", True))),
    EventKind.ALLOC_FAIL: (
        EventTable.alloc_failures,
        (
            ("size", "size", True),
            ("aligned_size", "aligned", True),
            ("total_free", "free", True),
            ("largest_free", "largest", True),
        ),
    ),
    EventKind.POOL_RESET: (
        EventTable.pool_resets,
        (("released_bytes", "released", True), ("high_water", "high_water", True)),
    ),
    EventKind.POOL_INIT: (EventTable.pool_inits, (("size", "size", True),)),
    EventKind.COPY: (
        EventTable.copies,
        (("requested_bytes", "asked", True), ("bytes", "moved", True)),
    ),
    EventKind.COMPUTE: (
        EventTable.computes,
        (
            ("bytes_accessed", "accessed", True),
            ("bytes_written", "written", True),
            ("flops", "flops", False),
        ),
    ),
    EventKind.KV_PAGE_ALLOC: _KV_PAGE_FIELDS,
    EventKind.KV_PAGE_FREE: _KV_PAGE_FIELDS,
    EventKind.HOST_SAMPLE: (EventTable.host_samples, (("rss_bytes", "rss", True),)),
    EventKind.MARK: (EventTable.marks, (("value", "value", False),)),
    EventKind.QUEUE_INIT: (
        EventTable.queue_inits,
        (
            ("num", "num", False),
            ("block_bytes", "block", True),
            ("total_bytes", "total", True),
            ("position", "position", False),
        ),
    ),
    EventKind.REDZONE_WRITE: (
        EventTable.redzone_writes,
        (("bytes", "bytes", True), ("past_capacity", "past", True)),
    ),
}


def event_fields(ctx: TraceContext, row: int) -> list[EventField]:
    """The kind-specific numbers of the event at position ``row`` (none for a
    kernel end)."""
    spec = _FIELDS.get(EventKind(int(ctx.column("kind")[row])))
    if spec is None:
        return []
    accessor, fields = spec
    events = accessor(ctx.table)
    at = int(np.searchsorted(events.rows, row))
    shown = [
        EventField(name, label, int(getattr(events, name)[at]), is_bytes)
        for name, label, is_bytes in fields
    ]
    flags = int(ctx.column("flags")[row])
    for number, source in enumerate(LATER_SOURCES, start=2):
        if flags & source.flag:
            address = int(getattr(events, source.field)[at])
            shown.append(EventField(source.field, f"src{number}", address, False, is_address=True))
    return shown
