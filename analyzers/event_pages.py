"""The events of a trace too big for memory, for a view listing them a screen at
a time: each page (one batch of the file, read by
:class:`ubscope.probe.trace_pages.TracePages`) gets its own
:class:`TraceContext`, so a page's kind-specific fields decode as the whole
trace's do."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.event_filter import EventFilter, filter_rows
from ubscope.probe.chip import ChipProfile
from ubscope.probe.trace_pages import TracePages

# positions a filter over the pages keeps at most (32 MB of them)
FILTER_LIMIT = 4_000_000


class EventPages:
    """Event positions over the whole trace (its sequence numbers, contiguous
    from 0) mapped to pages read from disk on demand; a view keeps the few
    pages it shows."""

    def __init__(self, path: str | os.PathLike[str], chip: ChipProfile):
        self.pages = TracePages(path)
        self.chip = chip

    @property
    def count(self) -> int:
        """Events in the file's readable batches."""
        return self.pages.event_count

    def context(self, page: int) -> TraceContext:
        """The analysis context of one page's events, read from disk."""
        return TraceContext(self.pages.page(page), self.chip)

    def split(self, positions: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """For each page ``positions`` touch: its index, the rows within it, and
        where those positions stand in ``positions``."""
        positions = np.asarray(positions, dtype=np.int64)
        first_events = self.pages.first_events
        page_of = np.searchsorted(first_events, positions, side="right") - 1
        for page in np.unique(page_of).tolist():
            where = np.flatnonzero(page_of == page)
            yield page, positions[where] - first_events[page], where

    def locate(self, position: int) -> tuple[int, int]:
        """The page holding event ``position`` and its row there."""
        page = self.pages.page_of_event(position)
        return page, position - int(self.pages.first_events[page])

    def filter(
        self, flt: EventFilter, on_page: Callable[[int], None] | None = None
    ) -> tuple[np.ndarray | None, bool]:
        """Positions of the events ``flt`` keeps (None: all of them), reading
        each page once, at most :data:`FILTER_LIMIT` of them, and whether more
        matched. ``on_page`` is told each page's index once it is done."""
        if flt.empty:
            return None, False
        found: list[np.ndarray] = []
        room = FILTER_LIMIT
        for page in range(self.pages.page_count):
            rows = filter_rows(self.pages.page(page).table, flt)
            assert rows is not None  # a non-empty filter gives positions
            found.append(rows[:room] + self.pages.first_events[page])
            room -= found[-1].size
            if rows.size > found[-1].size:
                return np.concatenate(found), True
            if on_page is not None:
                on_page(page)
        return (np.concatenate(found) if found else np.zeros(0, dtype=np.int64)), False
