"""External fragmentation per core and space, replayed batch by batch.

The in-memory replay (:class:`FragmentationModel`) follows the coverage of each
elementary address interval of a group over all its events
(:func:`replay_intervals`). Here the same replay runs per batch: each group
carries from batch to batch the interval boundaries still in use and how many
live blocks cover each interval; a boundary between two intervals of equal
coverage is dropped after each step, so the state stays within about twice the
group's live blocks. Each event then replays as over the whole trace: the same
free bytes and largest free block after it.

The rules and the summary need the worst judged state per group (for FRG002's
and the summary's minimum free fractions), not the series: each group keeps the
first event that reached its worst, with the event itself (for the finding's
location). A free belongs to a teardown when the next ALLOC/FREE/POOL_RESET of
its core is a POOL_RESET, so the frees that end a batch on a core wait for that
core's next event: each group keeps the best of its waiting frees, judged or
dropped when the batch that decides arrives (judged at the end of the trace).

The pool extent is the span of the ``pool_init`` events seen so far, so a pool
recorded after its first allocations is judged from its record on (the
in-memory replay applies it to the whole trace).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ubscope.analyzers.model.arrays import run_starts
from ubscope.analyzers.model.fragmentation import (
    external_fragmentation,
    interval_bounds,
    replay_intervals,
)
from ubscope.analyzers.streaming.sketch import SeriesSketch
from ubscope.probe.events import EventKind

# cells (intervals x events) of one replay step: a step's intervals are its own
# blocks' edges and the carried ones, so many boundaries cost no more than needed
_STEP_CELLS = 1 << 21


@dataclass
class _Candidate:
    external: float
    seq: int
    free_bytes: int
    largest_free: int
    event: pa.RecordBatch  # the event, one row


@dataclass
class _Group:
    bounds: np.ndarray  # interval boundaries in use, ascending (first 0)
    cover: np.ndarray  # live blocks covering each interval after the last event
    low: int  # extent of the group's pools (the whole space while none is recorded)
    high: int
    pooled: bool = False


class RunningFragmentation:
    """The worst external fragmentation per group and minimum free fraction of
    the batches seen so far."""

    def __init__(self, capacity_by_space: np.ndarray, fractions: tuple[float, ...]):
        self.capacity_by_space = capacity_by_space
        self.fractions = fractions
        self._groups: dict[int, _Group] = {}
        # per fraction: the worst decided event and the best waiting free per group
        self._worst: list[dict[int, _Candidate]] = [{} for _ in fractions]
        self._waiting: list[dict[int, _Candidate]] = [{} for _ in fractions]
        self._waiting_cores: set[int] = set()
        # what the fragmentation charts draw
        self.sketch = SeriesSketch("external", ("free_bytes", "largest_free", "external"))

    def add(
        self,
        batch: pa.RecordBatch,
        kind: np.ndarray,
        gid: np.ndarray,
        columns: dict[str, np.ndarray],
        rows: np.ndarray,
        delta: np.ndarray,
    ) -> np.ndarray:
        """One batch: its kind codes, group ids and int64 columns (addr, size,
        seq, start_ps), and its ALLOC/FREE rows in program order with the bytes each took
        (> 0) or released (<= 0). Returns the rows of the ALLOC events after
        which two live blocks of a group share bytes (UB004), ascending."""
        pools = np.flatnonzero(kind == EventKind.POOL_INIT)
        for row in pools.tolist():
            self._add_pool(int(gid[row]), int(columns["addr"][row]), int(columns["size"][row]))
        teardown, waiting = self._teardowns(kind, gid)
        if not rows.size:
            return rows
        group_of = gid[rows]
        order = np.argsort(group_of, kind="stable")
        starts = run_starts(group_of[order])
        # each group's states, in group order: the sketch takes them at once
        states: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        overlapping = [rows[:0]]
        for start, stop in zip(
            starts.tolist(), np.r_[starts[1:], order.size].tolist(), strict=True
        ):
            mine = order[start:stop]
            events = rows[mine]
            group = int(group_of[mine[0]])
            free, largest, max_cover = self._replay(group, columns["addr"][events], delta[mine])
            states.append((free, largest, external_fragmentation(free, largest)))
            overlapping.append(events[(kind[events] == EventKind.ALLOC) & (max_cover >= 2)])
            self._judge(
                batch, group, events, columns["seq"][events], *states[-1], teardown, waiting
            )
        free, largest, external = (np.concatenate(parts) for parts in zip(*states, strict=True))
        events = rows[order]
        self.sketch.add(
            group_of[order],
            columns["seq"][events],
            columns["start_ps"][events],
            free_bytes=free,
            largest_free=largest,
            external=external,
        )
        return np.sort(np.concatenate(overlapping))

    def _judge(
        self,
        batch: pa.RecordBatch,
        group: int,
        events: np.ndarray,
        seq: np.ndarray,
        free: np.ndarray,
        largest: np.ndarray,
        external: np.ndarray,
        teardown: np.ndarray,
        waiting: np.ndarray,
    ) -> None:
        """Update a group's worst and best waiting states with its events of a
        batch (batch rows ``events``) for each fraction."""
        extent = self._groups[group].high - self._groups[group].low
        for index, fraction in enumerate(self.fractions):
            judged = free >= fraction * extent
            if group not in self._worst[index]:
                # nothing judged worse than 0: the group's first event, as argmax
                self._worst[index][group] = self._candidate(
                    batch, events, seq, free, largest, np.zeros(events.size), 0
                )
            for table, mask in (
                (self._worst, judged & ~teardown[events] & ~waiting[events]),
                (self._waiting, judged & waiting[events]),
            ):
                if not mask.any():
                    continue
                shown = np.where(mask, external, -1.0)
                at = int(np.argmax(shown))
                held = table[index].get(group)
                if held is None or shown[at] > held.external:
                    table[index][group] = self._candidate(
                        batch, events, seq, free, largest, shown, at
                    )

    def finish(self) -> None:
        """The end of the trace: frees still waiting were no teardown's."""
        for core in list(self._waiting_cores):
            self._decide(core, teardown=False)

    def worst(self, gid: int, fraction: float) -> tuple[float, int, int, int] | None:
        """A group's worst state for one of the fractions: external
        fragmentation, seq of the first event that reached it, free bytes and
        largest free block then (None: the group had no ALLOC/FREE)."""
        held = self._worst[self.fractions.index(fraction)].get(gid)
        if held is None:
            return None
        return held.external, held.seq, held.free_bytes, held.largest_free

    def events(self) -> list[pa.RecordBatch]:
        """The events of every group's worst states, to keep."""
        return [held.event for table in self._worst for held in table.values()]

    @staticmethod
    def _candidate(
        batch: pa.RecordBatch,
        events: np.ndarray,
        seq: np.ndarray,
        free: np.ndarray,
        largest: np.ndarray,
        external: np.ndarray,
        at: int,
    ) -> _Candidate:
        return _Candidate(
            float(external[at]),
            int(seq[at]),
            int(free[at]),
            int(largest[at]),
            batch.take(pa.array([int(events[at])])),
        )

    def _capacity(self, gid: int) -> int:
        return int(self.capacity_by_space[gid % 8])

    def _group(self, gid: int) -> _Group:
        state = self._groups.get(gid)
        if state is None:
            capacity = self._capacity(gid)
            state = self._groups[gid] = _Group(
                np.array([0, capacity], dtype=np.int64), np.zeros(1, dtype=np.int64), 0, capacity
            )
        return state

    def _add_pool(self, gid: int, base: int, size: int) -> None:
        state = self._group(gid)
        if state.pooled:
            state.low, state.high = min(state.low, base), max(state.high, base + size)
        else:
            state.low, state.high, state.pooled = base, base + size, True

    def _teardowns(self, kind: np.ndarray, gid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per batch row, whether it is a free of a teardown, and whether it is a
        free whose core has no later ALLOC/FREE/POOL_RESET in the batch (so
        undecided); decides the frees waiting from earlier batches."""
        teardown = np.zeros(kind.size, dtype=bool)
        waiting = np.zeros(kind.size, dtype=bool)
        rows = np.flatnonzero(
            (kind == EventKind.ALLOC) | (kind == EventKind.FREE) | (kind == EventKind.POOL_RESET)
        )
        if not rows.size:
            return teardown, waiting
        core = gid[rows] // 8
        order = np.argsort(core, kind="stable")
        rows, core = rows[order], core[order]
        kinds = kind[rows]
        count = rows.size
        is_free = kinds == EventKind.FREE
        # the first position at or after each one that is not a free
        after = np.minimum.accumulate(np.where(is_free, count, np.arange(count))[::-1])[::-1]
        closing = np.minimum(after, count - 1)
        closed = (after < count) & (core[closing] == core)
        teardown[rows] = is_free & closed & (kinds[closing] == EventKind.POOL_RESET)
        waiting[rows] = is_free & ~closed
        starts = run_starts(core)
        for start in starts.tolist():
            this_core = int(core[start])
            if this_core in self._waiting_cores and closed[start]:
                self._decide(
                    this_core, teardown=bool(kinds[closing[start]] == EventKind.POOL_RESET)
                )
        ends = np.r_[starts[1:], count] - 1
        self._waiting_cores.update(int(c) for c in core[ends[waiting[rows[ends]]]])
        return teardown, waiting

    def _decide(self, core: int, teardown: bool) -> None:
        """The frees waiting on ``core`` were (not) a teardown's."""
        self._waiting_cores.discard(core)
        for index, waiting in enumerate(self._waiting):
            for group in [g for g in waiting if g // 8 == core]:
                held = waiting.pop(group)
                worst = self._worst[index].get(group)
                if not teardown and (worst is None or held.external > worst.external):
                    self._worst[index][group] = held

    def _replay(
        self, gid: int, addr: np.ndarray, delta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Free bytes inside the extent, the largest free block and the most
        blocks covering one byte after each of a group's events in this batch;
        carries the coverage on."""
        state = self._group(gid)
        bounds = self._bounds(state, gid, addr, delta)
        # the boundaries of the whole batch bound those of each step
        step = max(1, _STEP_CELLS // bounds.size)
        if step >= addr.size:
            return self._step(state, gid, addr, delta, bounds)
        free = np.zeros(addr.size, dtype=np.int64)
        largest = np.zeros(addr.size, dtype=np.int64)
        max_cover = np.zeros(addr.size, dtype=np.int32)
        for start in range(0, addr.size, step):
            part = slice(start, start + step)
            free[part], largest[part], max_cover[part] = self._step(
                state,
                gid,
                addr[part],
                delta[part],
                self._bounds(state, gid, addr[part], delta[part]),
            )
        return free, largest, max_cover

    def _bounds(self, state: _Group, gid: int, addr: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """The interval boundaries of a replay step: the carried ones, the space's
        and the pool's edges and the step's blocks' edges."""
        edges = [0, self._capacity(gid), state.low, state.high]
        return interval_bounds(state.bounds, edges, addr, addr + np.abs(delta))

    def _step(
        self, state: _Group, gid: int, addr: np.ndarray, delta: np.ndarray, bounds: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # each new interval starts inside one carried interval (or past the last)
        inside_old = np.searchsorted(state.bounds, bounds[:-1], "right") - 1
        carried = np.r_[state.cover, 0][np.minimum(inside_old, state.cover.size)]
        free, largest, max_cover, last_cover = replay_intervals(
            bounds,
            addr,
            addr + np.abs(delta),
            np.sign(delta).astype(np.int32),
            carried.astype(np.int32),
            (state.low, state.high),
            self._capacity(gid),
        )
        keep = np.r_[True, last_cover[1:] != last_cover[:-1], True]
        state.bounds, state.cover = bounds[keep], last_cover[keep[:-1]]
        return free, largest, max_cover
