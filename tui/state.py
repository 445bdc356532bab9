"""What the views of one profile share: the analysis, the selected core and
space, the time cursor and the finding last jumped to."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers import (
    Analysis,
    Finding,
    OccupancySeries,
    Place,
    PlaceBlocks,
    TraceContext,
    finding_rows,
    places,
)


class ProfileState:
    """Selection and cursor of one profile; views read it when shown.

    The cursor is a time (``t_ps``) plus a step of the selected place's
    occupancy series (``step``): the timeline moves the time column by column,
    the memory map moves the step event by event, and each keeps the other
    in agreement.
    """

    def __init__(self, analysis: Analysis, compare: Analysis | None = None):
        self.analysis = analysis
        self.compare = compare
        self.ctx = analysis.context
        self.places: list[Place] = places(self.ctx) if self.ctx is not None else []
        self.place_index = self._busiest_place()
        self.t_ps = 0
        self.step = -1
        self.finding: Finding | None = None
        self.finding_events = np.zeros(0, dtype=np.int64)
        self.event_position: int | None = None
        self.version = 0
        self._series: dict[tuple, OccupancySeries] = {}
        self._blocks: dict[tuple, PlaceBlocks] = {}
        if self.place is not None:
            self.set_step(self.peak_step())  # start where memory is fullest

    def _busiest_place(self) -> int:
        """Start on the place with the highest peak relative to its capacity."""
        if not self.places or self.ctx is None:
            return 0
        peaks = self.ctx.peaks
        if not len(peaks):
            return 0
        share = peaks["peak_live_bytes"].to_numpy() / np.maximum(peaks["capacity"].to_numpy(), 1)
        best = peaks.iloc[int(np.argmax(share))]
        key = (str(best["core_kind"]), int(best["core"]), str(best["space"]))
        return next((i for i, p in enumerate(self.places) if p.key == key), 0)

    # -- places -------------------------------------------------------------
    @property
    def place(self) -> Place | None:
        return self.places[self.place_index] if self.places else None

    def series(
        self, place: Place | None = None, ctx: TraceContext | None = None
    ) -> OccupancySeries:
        place = place or self.place
        ctx = ctx or self.ctx
        assert place is not None and ctx is not None
        key = (id(ctx), place.key)
        if key not in self._series:
            self._series[key] = OccupancySeries.of(ctx, place)
        return self._series[key]

    def blocks(self) -> PlaceBlocks:
        place = self.place
        assert place is not None and self.ctx is not None
        if place.key not in self._blocks:
            self._blocks[place.key] = PlaceBlocks.of(self.ctx, place, self.series(place))
        return self._blocks[place.key]

    def cycle_place(self, attribute: str, direction: int) -> None:
        """Next core (same space) or next space (same core)."""
        place = self.place
        if place is None:
            return
        if attribute == "core":
            options = [i for i, p in enumerate(self.places) if p.space == place.space]
        else:
            options = [
                i
                for i, p in enumerate(self.places)
                if (p.core_kind, p.core) == (place.core_kind, place.core)
            ]
        position = options.index(self.place_index)
        self.select_place(options[(position + direction) % len(options)])

    def select_place(self, index: int) -> None:
        self.place_index = index
        self.set_time(self.t_ps)

    # -- cursor ---------------------------------------------------------------
    @property
    def end_ps(self) -> int:
        """The end of the last launch (or of the last event, without launches)."""
        if self.ctx is None:
            return 0
        launches = self.ctx.launches
        end = int(launches["end_ps"].max()) if len(launches) else int(self.ctx.modelled_end_ps)
        return max(end, self.series().end_ps if self.place else 0, 1)

    def set_time(self, t_ps: float) -> None:
        self.t_ps = int(min(max(t_ps, 0), self.end_ps))
        self.step = self.series().step_at(self.t_ps) if self.place else -1
        self.version += 1

    def set_step(self, step: int) -> None:
        if self.place is None:
            return
        series = self.series()
        self.step = min(max(step, -1), len(series) - 1)
        self.t_ps = int(series.t_ps[self.step]) if self.step >= 0 else 0
        self.version += 1

    def peak_step(self) -> int:
        series = self.series()
        return int(np.argmax(series.live)) if len(series) else -1

    # -- findings --------------------------------------------------------------
    def choose_finding(self, finding: Finding) -> bool:
        """Point every view at a finding's events; False when it names none."""
        self.finding = finding
        ctx = self.ctx
        self.finding_events = (
            finding_rows(ctx, finding) if ctx is not None else np.zeros(0, dtype=np.int64)
        )
        loc = finding.location
        key = (loc.core_kind, loc.core, loc.space)
        for index, place in enumerate(self.places):
            if place.key == key:
                self.place_index = index
                break
        if ctx is None or not len(self.finding_events):
            self.version += 1
            return False
        first = int(self.finding_events[0])
        self.event_position = first
        if self.place is not None:
            # the allocator's state at that event: the last step at or before it
            # in program order (the series is in program order)
            seq = int(ctx.column("seq")[first])
            self.set_step(int(np.searchsorted(self.series().seq, seq, side="right")) - 1)
        else:
            self.set_time(int(ctx.column("start_ps")[first]))
        return True
