"""Memory map: one core's UB (or L1/L0) at the cursor, block by block."""

from __future__ import annotations

import numpy as np
import pandas as pd
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from ubscope.probe.units import format_bytes, format_time_ps, plural
from ubscope.tui.state import ProfileState
from ubscope.tui.text import bytes_of, percent
from ubscope.tui.views.base import View
from ubscope.tui.views.timeline import PLACE_BINDINGS, PlaceKeys, event_summary
from ubscope.tui.widgets.address_map import AddressMap, MapLayout


class MemoryMapView(PlaceKeys, View):
    title = "Memory map"
    short = "Map"
    help = (
        "The address space of one core's memory at the cursor: live allocations coloured "
        "by call-site tag (t: by buffer name; neighbours alternate █/▓), ▒ padding up to the aligned size, · "
        "free, ░ amber the UB scratch, ░ red the red zone past capacity. ←→ step one "
        "allocation or free, PgUp/PgDn ten, Home/End, c/C core, s/S space, p the peak."
    )
    BINDINGS = [
        Binding("left", "step(-1)", "event", key_display="←→"),
        Binding("right", "step(1)", "next event", show=False),
        Binding("pageup", "step(-10)", "-10", show=False),
        Binding("pagedown", "step(10)", "+10", show=False),
        Binding("home", "edge(0)", "first", show=False),
        Binding("end", "edge(1)", "last", show=False),
        Binding("t", "toggle_colour", "tag/name"),
        *PLACE_BINDINGS,
    ]

    def __init__(self, state: ProfileState) -> None:
        super().__init__(state)
        self._fragmentation: dict[tuple, pd.DataFrame] = {}
        self.colour_by = "tag"

    def compose(self) -> ComposeResult:
        yield Static(id="map-status")
        yield AddressMap(id="map-cells")

    def sync(self) -> None:
        state, status = self.state, self.query_one("#map-status", Static)
        place = state.place
        if place is None:
            status.update(Text("no on-chip allocations in this trace"))
            return
        blocks = state.blocks()
        live = blocks.by_address() if state.analysis.streamed else blocks.live_at(state.step)
        chip = state.analysis.chip
        labels = blocks.labels(self.colour_by)
        colour = {label: index for index, label in enumerate(sorted(set(labels)))}
        live_tags = [labels[i] for i in live]
        legend_bytes: dict[str, int] = {}
        for tag, nbytes in zip(live_tags, blocks.aligned_size[live].tolist(), strict=True):
            legend_bytes[tag] = legend_bytes.get(tag, 0) + nbytes
        layout = MapLayout(
            addr=blocks.addr[live],
            end=blocks.end[live],
            size=blocks.size[live],
            colour=np.array([colour[t] for t in live_tags], dtype=np.int64),
            extent=max(place.capacity, blocks.high_water),
            capacity=place.capacity,
            alignment=int(chip.alignment.get(place.space, 32)),
            scratch_start=chip.ub_safe_budget if place.space == "UB" else None,
            legend=[(tag, colour[tag], n) for tag, n in legend_bytes.items()],
        )
        self.query_one(AddressMap).show(layout)
        status.update(self._status(live, layout))

    def _status(self, live: np.ndarray, layout: MapLayout) -> Text:
        state = self.state
        place = state.place
        assert place is not None
        series = state.series()
        used = int(state.blocks().aligned_size[live].sum())
        text = Text()
        text.append(place.label, style="bold")
        streamed = state.analysis.streamed
        if streamed:
            text.append(f"  at its peak  {plural(len(live), 'block')} ")
        else:
            text.append(
                f"  step {state.step + 1}/{len(series)}  t {format_time_ps(state.t_ps)}  "
                f"{plural(len(live), 'block')} "
            )
        text.append(bytes_of(used, place.capacity))
        fragmentation = None if streamed else self._fragmentation_at(state.step)
        if fragmentation is not None:
            free, largest, external = fragmentation
            text.append(
                f"\nfree {format_bytes(free)}, largest block {format_bytes(largest)}, "
                f"external fragmentation {percent(external)}"
            )
        beyond = int(np.maximum(layout.end - place.capacity, 0).max()) if len(live) else 0
        if beyond:
            text.append(f"  {format_bytes(beyond)} past capacity", style="bold")
        text.append("\n")
        if streamed:
            text.append("streamed analysis: the map keeps each place's peak only")
        else:
            text.append_text(event_summary(state, state.step))
        return text

    def _fragmentation_at(self, step: int) -> tuple[int, int, float] | None:
        place = self.state.place
        if place is None or step < 0 or self.state.ctx is None:
            return None
        frame = self._fragmentation.get(place.key)
        if frame is None:
            frame = self._fragmentation[place.key] = self.state.ctx.fragmentation(*place.key)
        if step >= len(frame):
            return None
        row = frame.iloc[step]
        return int(row["free_bytes"]), int(row["largest_free"]), float(row["external"])

    def action_step(self, delta: int) -> None:
        self.state.set_step(self.state.step + delta)
        self.state_changed()

    def action_toggle_colour(self) -> None:
        self.colour_by = "name" if self.colour_by == "tag" else "tag"
        self.sync()

    def action_edge(self, end: int) -> None:
        self.state.set_step(len(self.state.series()) - 1 if end else 0)
        self.state_changed()
