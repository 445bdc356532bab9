"""A virtual table over the events DataFrame: only the rows on screen are formatted.

The table holds the columns every event kind shares as numpy arrays and an
optional array of row positions (the current filter). Drawing a screen formats
the visible window straight from those arrays, plus each event's kind-specific
numbers as the analysis layer names them, so ten million events cost nothing
until they scroll into view; no widget or Python object exists per event.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ubscope.analyzers import (
    EventPages,
    TraceContext,
    event_fields,
    row_of_seq,
)
from ubscope.probe.events import LAYOUT_FLAGS, Flag, category_codes
from ubscope.probe.units import format_time_ps
from ubscope.tui.text import short_bytes

# pages of a trace read from disk kept decoded: a screen of events spans at most two
CACHED_PAGES = 4
FLAG_BITS = [
    (int(f), f.name.lower()) for f in Flag if f.name and f is not Flag.NONE and not f & LAYOUT_FLAGS
]


# The columns that mean the same for every event kind.
SHARED_COLUMNS = (
    "seq",
    "start_ps",
    "kind",
    "core_kind",
    "core",
    "space",
    "src_space",
    "addr",
    "name",
    "tensor",
    "tag",
    "flags",
)


class EventColumns:
    """The shared event columns as arrays (categorical columns as codes +
    labels), and each event's kind-specific numbers on demand."""

    def __init__(self, ctx: TraceContext):
        frame = ctx.events
        self.ctx = ctx
        self.count = len(frame)
        self.arrays: dict[str, np.ndarray] = {}
        self.labels: dict[str, list[str]] = {}
        for name in SHARED_COLUMNS:
            column = frame[name]
            if isinstance(column.dtype, pd.CategoricalDtype):
                self.arrays[name] = category_codes(column)
                self.labels[name] = [str(c) for c in column.cat.categories]
            else:
                self.arrays[name] = column.to_numpy()

    def text(self, name: str, rows: np.ndarray) -> list[str]:
        labels = self.labels[name]
        return [labels[c] if c >= 0 else "" for c in self.arrays[name][rows].tolist()]

    def ints(self, name: str, rows: np.ndarray) -> list[int]:
        return self.arrays[name][rows].tolist()

    def details(self, rows: np.ndarray) -> list[str]:
        """Each event's kind-specific numbers, named as the analysis layer names them."""
        return [
            " ".join(
                f"{field.label}={short_bytes(field.value)}" if field.is_bytes else field.text
                for field in event_fields(self.ctx, row)
            )
            for row in rows.tolist()
        ]

    def locate(self, position: int) -> tuple[TraceContext, int]:
        """The context holding event ``position`` and its row there."""
        return self.ctx, position

    def position_of_seq(self, seq: int) -> int | None:
        return row_of_seq(self.ctx, seq)


class PagedColumns:
    """The same columns over a trace read from disk a page at a time
    (:class:`EventPages`): a trace bigger than memory, listed a screen at a time."""

    def __init__(self, pages: EventPages):
        self.pages = pages
        self.count = pages.count
        self._columns: OrderedDict[int, EventColumns] = OrderedDict()

    def _page(self, page: int) -> EventColumns:
        if page in self._columns:
            self._columns.move_to_end(page)
        else:
            self._columns[page] = EventColumns(self.pages.context(page))
            if len(self._columns) > CACHED_PAGES:
                self._columns.popitem(last=False)
        return self._columns[page]

    def _each(self, rows: np.ndarray, values: Callable[[EventColumns, np.ndarray], list]) -> list:
        out: list = [None] * len(rows)
        for page, local, where in self.pages.split(rows):
            for index, value in zip(where.tolist(), values(self._page(page), local), strict=True):
                out[index] = value
        return out

    def text(self, name: str, rows: np.ndarray) -> list[str]:
        return self._each(rows, lambda columns, local: columns.text(name, local))

    def ints(self, name: str, rows: np.ndarray) -> list[int]:
        return self._each(rows, lambda columns, local: columns.ints(name, local))

    def details(self, rows: np.ndarray) -> list[str]:
        return self._each(rows, EventColumns.details)

    def locate(self, position: int) -> tuple[TraceContext, int]:
        page, row = self.pages.locate(position)
        return self._page(page).ctx, row

    def position_of_seq(self, seq: int) -> int | None:
        # sequence numbers run from 0 without gaps (the reader checks): a
        # position is its event's sequence number
        return seq if 0 <= seq < self.count else None


def _core(cols: EventColumns | PagedColumns, rows: np.ndarray) -> list[str]:
    kinds, cores = cols.text("core_kind", rows), cols.ints("core", rows)
    return ["-" if core < 0 else f"{kind}{core}" for kind, core in zip(kinds, cores, strict=True)]


def _space(cols: EventColumns | PagedColumns, rows: np.ndarray) -> list[str]:
    dst, src = cols.text("space", rows), cols.text("src_space", rows)
    return [
        (f"{s}→{d}" if s != "NONE" else d) if d != "NONE" else "-"
        for d, s in zip(dst, src, strict=True)
    ]


def _flags(cols: EventColumns | PagedColumns, rows: np.ndarray) -> list[str]:
    return [
        ",".join(name for bit, name in FLAG_BITS if value & bit) or "-"
        for value in cols.ints("flags", rows)
    ]


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    values: Callable[[EventColumns | PagedColumns, np.ndarray], list[str]]
    right: bool = False


COLUMNS = (
    Column("seq", 9, lambda c, r: [str(v) for v in c.ints("seq", r)], right=True),
    Column("time", 10, lambda c, r: [format_time_ps(v) for v in c.ints("start_ps", r)], True),
    Column("kind", 13, lambda c, r: c.text("kind", r)),
    Column("core", 7, _core),
    Column("space", 8, _space),
    Column("addr", 10, lambda c, r: [f"{v:#x}" for v in c.ints("addr", r)], right=True),
    Column("detail", 34, lambda c, r: c.details(r)),
    Column("name", 16, lambda c, r: c.text("name", r)),
    Column("tensor", 10, lambda c, r: c.text("tensor", r)),
    Column("tag", 12, lambda c, r: c.text("tag", r)),
    Column("flags", 24, _flags),
)
MARK_WIDTH = 2  # "◆ " for events of the selected finding


class EventTable(ScrollView, can_focus=True):
    """Events, one line each, with a header and a row cursor."""

    BINDINGS = [
        Binding("up", "move(-1)", "up", show=False),
        Binding("down", "move(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "jump(0)", "first", show=False),
        Binding("end", "jump(-1)", "last", show=False),
    ]
    COMPONENT_CLASSES = {
        "event-table--header",
        "event-table--cursor",
        "event-table--marked",
        "event-table--flagged",
    }

    class Highlighted(Message):
        """The cursor is on event ``seq`` (None: the table is empty)."""

        def __init__(self, seq: int | None) -> None:
            super().__init__()
            self.seq = seq

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns: EventColumns | PagedColumns | None = None
        self.rows: np.ndarray | None = None  # positions kept by the filter; None = all
        self.marked = np.zeros(0, dtype=np.int64)
        self.cursor = 0
        self._cache: dict[int, Strip] = {}
        self.line_width = MARK_WIDTH + sum(c.width + 1 for c in COLUMNS)

    # -- data ---------------------------------------------------------------
    def load(self, ctx: TraceContext) -> None:
        self.columns = EventColumns(ctx)
        self.set_rows(None)

    def load_pages(self, pages: EventPages) -> None:
        """List a trace read from disk page by page instead of a loaded one."""
        self.columns = PagedColumns(pages)
        self.set_rows(None)

    @property
    def row_count(self) -> int:
        if self.columns is None:
            return 0
        return self.columns.count if self.rows is None else len(self.rows)

    def position(self, index: int) -> int:
        """The event position shown at table row ``index``."""
        return index if self.rows is None else int(self.rows[index])

    def set_rows(self, rows: np.ndarray | None) -> None:
        """Show only the events at ``rows`` (None: all), keeping the cursor on
        the same event or the next one kept."""
        current = self.position(self.cursor) if self.row_count else 0
        self.rows = rows
        self._cache.clear()
        self.virtual_size = Size(self.line_width, self.row_count + 1)
        self.go_to_position(current)

    def set_marked(self, positions: np.ndarray) -> None:
        self.marked = positions
        self._cache.clear()
        self.refresh()

    def go_to_position(self, position: int) -> None:
        """Put the cursor on event ``position`` or, if filtered out, the next one kept."""
        index = position if self.rows is None else int(np.searchsorted(self.rows, position))
        self.set_cursor(index, center=True)

    # -- cursor ---------------------------------------------------------------
    @property
    def page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def set_cursor(self, index: int, center: bool = False) -> None:
        """Move the cursor, scrolling just enough (or, for jumps, to the middle)."""
        count = self.row_count
        self.cursor = min(max(index, 0), max(count - 1, 0))
        top = int(self.scroll_y)
        outside = not top <= self.cursor < top + self.page_rows
        if center and outside:
            top = max(self.cursor - self.page_rows // 2, 0)
        elif self.cursor < top:
            top = self.cursor
        elif self.cursor >= top + self.page_rows:
            top = self.cursor - self.page_rows + 1
        self.scroll_to(y=top, animate=False, immediate=True)
        self.refresh()
        self.post_message(self.Highlighted(self.position(self.cursor) if count else None))

    def action_move(self, delta: int) -> None:
        self.set_cursor(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.set_cursor(self.cursor + direction * self.page_rows)

    def action_jump(self, index: int) -> None:
        self.set_cursor(index if index >= 0 else self.row_count - 1)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.set_cursor(int(self.scroll_y) + event.y - 1)

    def on_resize(self) -> None:
        self.set_cursor(self.cursor)

    # -- drawing --------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x = int(self.scroll_x)
        if y == 0:
            header = self._header()
            return header.crop(scroll_x, scroll_x + width).adjust_cell_length(width)
        index = int(self.scroll_y) + y - 1
        if index >= self.row_count:
            return Strip.blank(width)
        strip = self._cache.get(index)
        if strip is None:
            self._format_page(int(self.scroll_y))
            strip = self._cache[index]
        if index == self.cursor:
            strip = strip.apply_style(self.get_component_rich_style("event-table--cursor"))
        return strip.crop(scroll_x, scroll_x + width).adjust_cell_length(width)

    def _header(self) -> Strip:
        style = self.get_component_rich_style("event-table--header")
        text = " " * MARK_WIDTH + " ".join(_cell(c.title, c.width, c.right) for c in COLUMNS)
        return Strip([Segment(text + " ", style)]).adjust_cell_length(self.line_width)

    def _format_page(self, top: int) -> None:
        """Format the rows on screen (and as many again below) in one pass."""
        assert self.columns is not None
        if len(self._cache) > 4096:
            self._cache.clear()
        stop = min(self.row_count, top + 2 * self.page_rows + 1)
        indices = np.arange(top, stop)
        positions = indices if self.rows is None else self.rows[indices]
        texts = [column.values(self.columns, positions) for column in COLUMNS]
        marked = np.isin(positions, self.marked) if len(self.marked) else None
        flagged = (np.asarray(self.columns.ints("flags", positions)) & ~int(LAYOUT_FLAGS)) != 0
        plain = Style()
        mark_style = self.get_component_rich_style("event-table--marked", partial=True)
        flag_style = self.get_component_rich_style("event-table--flagged", partial=True)
        for offset, index in enumerate(indices.tolist()):
            is_marked = marked is not None and bool(marked[offset])
            line = ("◆ " if is_marked else "  ") + " ".join(
                _cell(texts[c][offset], column.width, column.right)
                for c, column in enumerate(COLUMNS)
            )
            style = plain
            if flagged[offset]:
                style += flag_style
            if is_marked:
                style += mark_style
            self._cache[index] = Strip([Segment(line + " ", style)]).adjust_cell_length(
                self.line_width
            )


def _cell(text: str, width: int, right: bool) -> str:
    """``text`` in exactly ``width`` terminal cells (wide characters counted)."""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    padding = " " * (width - cell_len(text))
    return padding + text if right else text + padding
