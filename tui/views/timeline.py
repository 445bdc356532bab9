"""Timeline: live bytes of one core's space over modelled time, with the
capacity and reserved-scratch lines and a cursor."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from ubscope.analyzers import block_event
from ubscope.probe.units import format_bytes, format_time_ps
from ubscope.tui.state import ProfileState
from ubscope.tui.text import bytes_of
from ubscope.tui.views.base import View
from ubscope.tui.widgets.occupancy_chart import ChartData, OccupancyChart

PLACE_BINDINGS: list[BindingType] = [
    Binding("c", "place('core', 1)", "core"),
    Binding("C", "place('core', -1)", "core-", show=False),
    Binding("s", "place('space', 1)", "space"),
    Binding("S", "place('space', -1)", "space-", show=False),
    Binding("p", "peak", "peak"),
]


def event_summary(state: ProfileState, step: int) -> Text:
    """``seq 26 alloc x_tile 20.0 KiB @copyin`` for the event of an occupancy step."""
    if step < 0 or state.ctx is None:
        return Text("before the first allocation")
    seq = int(state.series().seq[step])
    event = block_event(state.ctx, seq)
    if event is None:
        return Text(f"seq {seq}")
    text = Text(f"seq {seq} {event.kind} ")
    text.append(event.name)
    text.append(f" {format_bytes(event.aligned_size)} at {event.address:#x}")
    if event.tag:
        text.append(" @")
        text.append(event.tag)
    return text


class PlaceKeys:
    """Core/space switching and jump-to-peak, shared by Timeline and Memory map."""

    state: ProfileState
    state_changed: Callable[[], None]  # the View's

    def action_place(self, attribute: str, direction: int) -> None:
        self.state.cycle_place(attribute, direction)
        self.state_changed()

    def action_peak(self) -> None:
        self.state.set_step(self.state.peak_step())
        self.state_changed()


class TimelineView(PlaceKeys, View):
    title = "Timeline"
    short = "Tim"
    help = (
        "Live bytes of one core's memory over modelled time (the highest value in each "
        "column). ─ is capacity, ┄ the start of the UB scratch that built-in APIs use; the "
        "area turns amber above it and red past capacity. ←→ move the cursor a column, "
        "[ ] to the previous/next allocation or free, + - zoom around the cursor, "
        "c/C next/previous core, s/S next space, p the peak."
    )
    BINDINGS = [
        Binding("left", "move(-1)", "cursor", key_display="←→"),
        Binding("right", "move(1)", "cursor", show=False),
        Binding("left_square_bracket", "step(-1)", "event", key_display="[ ]"),
        Binding("right_square_bracket", "step(1)", "next event", show=False),
        Binding("home", "edge(0)", "start", show=False),
        Binding("end", "edge(1)", "end", show=False),
        Binding("plus,equals_sign", "zoom(1)", "zoom", key_display="+ -"),
        Binding("minus", "zoom(-1)", "zoom out", show=False),
        *PLACE_BINDINGS,
    ]

    def __init__(self, state: ProfileState) -> None:
        super().__init__(state)
        self.zoom = 0

    def compose(self) -> ComposeResult:
        yield Static(id="timeline-status")
        yield OccupancyChart(id="timeline-chart")

    @property
    def chart(self) -> OccupancyChart:
        return self.query_one(OccupancyChart)

    def window(self) -> tuple[float, float]:
        end = self.state.end_ps
        span = max(end / (2**self.zoom), self.chart.plot_width)
        start = min(max(self.state.t_ps - span / 2, 0), max(end - span, 0))
        return (start, start + span) if self.zoom else (0, end)

    def on_resize(self) -> None:
        if self.state.place is not None:
            self.sync()

    def sync(self) -> None:
        state, status = self.state, self.query_one("#timeline-status", Static)
        place = state.place
        if place is None:
            status.update(Text("no on-chip allocations in this trace"))
            return
        series = state.series()
        t0, t1 = self.window()
        chip = state.analysis.chip
        scratch = chip.ub_safe_budget if place.space == "UB" else None
        columns = series.columns(t0, t1, self.chart.plot_width)
        self.chart.show(
            ChartData(
                columns,
                t0,
                t1,
                place.capacity,
                scratch,
                max(place.capacity, series.peak),
                state.t_ps,
            )
        )
        text = Text()
        text.append(place.label, style="bold")
        text.append(f"  t {format_time_ps(state.t_ps)}  live ")
        text.append(bytes_of(series.live_at_step(state.step), place.capacity))
        text.append(f"  peak {format_bytes(series.peak)}")
        if self.zoom:
            text.append(f"  zoom x{2**self.zoom}")
        text.append("\n")
        text.append_text(event_summary(state, state.step))
        status.update(text)

    def action_move(self, columns: int) -> None:
        t0, t1 = self.window()
        width = self.chart.plot_width
        bucket = (t1 - t0) / width
        column = self.chart.column_of(self.state.t_ps) + columns
        if column < 0 or column >= width:
            target = self.state.t_ps + columns * bucket
        else:
            target = t0 + (column + 1) * bucket - 1
        self.state.set_time(target)
        self.state_changed()

    def action_step(self, direction: int) -> None:
        self.state.set_step(self.state.step + direction)
        self.state_changed()

    def action_edge(self, end: int) -> None:
        self.state.set_time(self.state.end_ps if end else 0)
        self.state_changed()

    def action_zoom(self, direction: int) -> None:
        self.zoom = min(max(self.zoom + direction, 0), 40)
        self.sync()
