"""Events: the raw events in a virtual table, with a filter and go-to-sequence."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from ubscope.analyzers import (
    FILTER_HELP,
    EventFilter,
    EventPages,
    event_fields,
    filter_rows,
    parse_event_filter,
)
from ubscope.probe.errors import UbscopeError
from ubscope.probe.units import format_time_ps
from ubscope.tui.views.base import View
from ubscope.tui.widgets.event_table import FLAG_BITS, EventTable, PagedColumns


class EventsView(View):
    title = "Events"
    short = "Evt"
    help = (
        "Every event in sequence order; only the rows on screen are ever formatted, so "
        "millions of events scroll instantly. / filters with key=value terms ("
        + FILTER_HELP
        + "), g goes to a sequence number, n/N jump to the next/previous event of the "
        "finding chosen with Enter in Findings (marked ◆), x clears the filter. A "
        "streamed analysis (a trace bigger than memory) reads the events from disk a "
        "page at a time; a filter then reads every page once."
    )
    BINDINGS = [
        Binding("slash", "focus_input('#events-filter')", "filter"),
        Binding("g", "focus_input('#events-goto')", "go to seq"),
        Binding("n", "marked(1)", "next ◆"),
        Binding("N", "marked(-1)", "prev ◆", show=False),
        Binding("x", "clear_filter", "clear"),
        Binding("escape", "back_to_table", "table", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Horizontal(id="events-inputs"):
            yield Input(placeholder="/ filter: " + FILTER_HELP, id="events-filter")
            yield Input(placeholder="g seq", id="events-goto", restrict=r"[0-9]*")
        yield EventTable(id="events-table")
        yield Static(id="events-detail")

    @property
    def table(self) -> EventTable:
        return self.query_one(EventTable)

    def focus_target(self) -> Widget:
        return self.table

    paged = False  # listing a trace from disk, page by page
    filter_cut = False  # the filter kept its first FILTER_LIMIT events of more

    def on_mount(self) -> None:
        analysis = self.state.analysis
        if analysis.streamed and analysis.trace is not None:
            # the analysis kept only some events: list every one from the file
            try:
                self.table.load_pages(EventPages(analysis.trace.path, analysis.chip))
                self.paged = True
                return
            except UbscopeError as exc:
                self.notify(f"listing the kept events only: {exc}", timeout=5)
        if self.state.ctx is not None:
            self.table.load(self.state.ctx)

    def _positions(self, rows: np.ndarray) -> np.ndarray:
        """Positions in the table of rows of the analysis' events: a paged table
        lists every event, so a kept event stands at its sequence number."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.paged and self.state.ctx is not None:
            return self.state.ctx.column("seq")[rows].astype(np.int64)
        return rows

    def sync(self) -> None:
        table = self.table
        table.set_marked(self._positions(self.state.finding_events))
        if self.state.event_position is not None:
            # after the layout, so the jump can centre the row in the real height
            position = int(self._positions(np.array([self.state.event_position]))[0])
            self.call_after_refresh(table.go_to_position, position)
            self.state.event_position = None
        self._describe(table.position(table.cursor) if table.row_count else None)

    @on(Input.Submitted, "#events-filter")
    def _apply_filter(self, event: Input.Submitted) -> None:
        try:
            flt = parse_event_filter(event.value)
        except ValueError as exc:
            self.query_one("#events-detail", Static).update(Text(str(exc)))
            return
        if isinstance(self.table.columns, PagedColumns):
            self._filter_pages(self.table.columns.pages, flt)
            return
        assert self.state.ctx is not None
        self.table.set_rows(filter_rows(self.state.ctx.table, flt))
        self.table.focus()

    @work(thread=True, exclusive=True, group="events-filter")
    def _filter_pages(self, pages: EventPages, flt: EventFilter) -> None:
        """Filter a trace read from disk page by page, off the UI thread."""
        detail = self.query_one("#events-detail", Static)

        def done_page(page: int) -> None:
            shown = Text(f"filtering on disk: page {page + 1:,} of {pages.pages.page_count:,}")
            self.app.call_from_thread(detail.update, shown)

        try:
            rows, more = pages.filter(flt, done_page)
        except UbscopeError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            return
        if not get_current_worker().is_cancelled:  # a newer filter replaced this one
            self.app.call_from_thread(self._filtered, rows, more)

    def _filtered(self, rows: np.ndarray | None, more: bool) -> None:
        self.filter_cut = more
        self.table.set_rows(rows)
        self.table.focus()

    @on(Input.Submitted, "#events-goto")
    def _go_to(self, event: Input.Submitted) -> None:
        columns = self.table.columns
        row = columns.position_of_seq(int(event.value)) if event.value and columns else None
        if row is not None:
            self.table.go_to_position(row)
        elif event.value:
            self.notify(f"no event has sequence number {event.value}", timeout=3)
        event.input.value = ""
        self.table.focus()

    @on(EventTable.Highlighted)
    def _highlighted(self, event: EventTable.Highlighted) -> None:
        self._describe(event.seq)

    def _describe(self, position: int | None) -> None:
        detail = self.query_one("#events-detail", Static)
        table = self.table
        shown = f"{table.row_count:,} of {table.columns.count if table.columns else 0:,} events"
        trace = self.state.analysis.trace
        if self.paged:
            shown += " read from disk (streamed)"
            if self.filter_cut:
                shown += ", the first the filter keeps"
        elif self.state.analysis.streamed and trace is not None:
            # the file could not be paged: the events the findings and peaks point at
            shown += f" kept of {trace.event_count:,} (streamed)"
        if position is None or table.columns is None:
            detail.update(Text(f"{shown}  ·  no event matches the filter"))
            return
        ctx, local = table.columns.locate(position)
        row = ctx.events.iloc[local]
        text = Text(f"{shown}  ·  ")
        text.append(
            f"seq {row['seq']} {row['kind']} t {format_time_ps(row['start_ps'])} "
            f"dur {format_time_ps(row['dur_ps'])} "
        )
        for column in ("name", "tensor", "tag"):
            if str(row[column]):
                text.append(f"{column}=")
                text.append(str(row[column]))
                text.append(" ")
        text.append(" ".join(field.text for field in event_fields(ctx, local)))
        if row["src_space"] != "NONE":
            text.append(f" src={row['src_space']}:{int(row['src_addr']):#x}")
        if row["burst_count"]:
            text.append(f" bursts={row['burst_count']}x{row['burst_len']}")
        flags = [name for bit, name in FLAG_BITS if int(row["flags"]) & bit]
        if flags:
            text.append(" flags=" + ",".join(flags))
        detail.update(text)

    def action_focus_input(self, selector: str) -> None:
        self.query_one(selector, Input).focus()

    def action_back_to_table(self) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        self.query_one("#events-filter", Input).value = ""
        self.filter_cut = False
        self.table.set_rows(None)

    def action_marked(self, direction: int) -> None:
        marked = self.state.finding_events
        if not len(marked):
            self.notify("no finding chosen: press Enter on one in Findings (2)", timeout=3)
            return
        here = self.table.position(self.table.cursor)
        if direction > 0:
            index = int(np.searchsorted(marked, here, side="right"))
        else:
            index = int(np.searchsorted(marked, here, side="left")) - 1
        self.table.go_to_position(int(marked[index % len(marked)]))
