"""Live on-chip bytes per core and space, replayed batch by batch.

The state is one slot per group (live bytes, peak and where it was first
reached, high water) plus the blocks still live, so memory follows what is
allocated at once, not the trace's length. Allocations and frees pair first in
first out per (group, address) as :class:`BlockModel` pairs them over the whole
trace: the live blocks carry over to the next batch as openings, and frees
that found no allocation to pair with carry over as closings that come first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from ubscope.analyzers.model.arrays import (
    ADDR_BITS,
    CORE_SPAN,
    GROUP_BOUND,
    ON_CHIP_CODES,
    SPACE_LABELS,
    pair_fifo,
    run_starts,
    runs,
    split_group,
)
from ubscope.analyzers.streaming.sketch import SeriesSketch
from ubscope.probe.events import EventKind

_EMPTY = np.zeros(0, dtype=np.int64)
NEVER = np.iinfo(np.int64).max  # the closing row of a block no free ends
# (core kind, space) keys of the rounding-waste sums: kind code * 8 + space code
_KIND_SPACES = 4 * 8


class BatchLive(NamedTuple):
    """What one batch's ALLOC/FREE events did."""

    rows: np.ndarray  # the batch's ALLOC/FREE rows, in program order
    delta: np.ndarray  # bytes each took (> 0) or released (<= 0)
    peaked: np.ndarray  # groups that reached a new peak
    peak_rows: np.ndarray  # the batch rows where they first did
    bounding_allocs: dict[tuple[str, int], int]  # ("first" | "last", kind-space key) -> batch row
    left_open: np.ndarray  # the batch's ALLOC rows whose block is still live after it
    ended_seq: np.ndarray  # seq of the ALLOCs of earlier batches whose block it ended


class BatchPoints(NamedTuple):
    """A batch's ALLOC/FREE events by group (program order within one): the
    group, display time and live bytes after each, as
    :meth:`OccupancyModel.occupancy` gives them for the whole trace."""

    gid: np.ndarray
    t_ps: np.ndarray
    live_bytes: np.ndarray

    @classmethod
    def joined(cls, parts: Sequence[BatchPoints]) -> BatchPoints:
        """The points of consecutive batches as one batch's."""
        if len(parts) == 1:
            return parts[0]
        gid, t_ps, live_bytes = (np.concatenate(column) for column in zip(*parts, strict=True))
        order = np.argsort(gid, kind="stable")  # program order within each group
        return cls(gid[order], t_ps[order], live_bytes[order])

    def places(self) -> Iterator[tuple[str, int, str, np.ndarray, np.ndarray]]:
        """Per on-chip core and space, in group order: core kind, core, space
        and the display times and live bytes of its events in the batch."""
        for start, end in runs(self.gid):
            gid = int(self.gid[start])
            if gid % 8 in ON_CHIP_CODES:
                core_kind, core, space = split_group(gid)
                yield core_kind, core, space, self.t_ps[start:end], self.live_bytes[start:end]


NO_POINTS = BatchPoints(_EMPTY, _EMPTY, _EMPTY)


class _BatchBlocks(NamedTuple):
    """The blocks one batch paired: the carried ones, then the batch's own."""

    keys: np.ndarray
    sizes: np.ndarray
    seq: np.ndarray  # their ALLOC's seq
    carried: int  # how many were live before the batch
    rows: np.ndarray  # the batch's ALLOC/FREE rows
    allocs: np.ndarray  # positions in ``rows`` of the batch's ALLOCs
    closer: np.ndarray  # position in ``rows`` of the FREE that ended each block, or -1
    taken_early: int  # how many parts of the blocks taken early held before the batch


class RunningOccupancy:
    """Peaks, high water and allocated bytes of the batches seen so far."""

    def __init__(self, capacity_by_space: np.ndarray):
        self.capacity_by_space = capacity_by_space
        self.live = np.zeros(GROUP_BOUND, dtype=np.int64)
        # zeros, not a -1 sentinel: the pages of the groups a trace never has
        # stay untouched (16 MiB each); the sketch's event counts say which groups
        # had an ALLOC/FREE
        self.peak = np.zeros(GROUP_BOUND, dtype=np.int64)
        self.peak_seq = np.zeros(GROUP_BOUND, dtype=np.int64)
        self.peak_t_ps = np.zeros(GROUP_BOUND, dtype=np.int64)
        self.high_water = np.zeros(GROUP_BOUND, dtype=np.int64)
        self.allocated = np.zeros(len(SPACE_LABELS), dtype=np.int64)  # aligned bytes per space
        self.internal_waste = 0
        # per core kind and space (FRG003): rounding waste, aligned bytes and the
        # seq of the first and last allocation; the groups that allocated
        self.waste_by_kind_space = np.zeros(_KIND_SPACES, dtype=np.int64)
        self.allocated_by_kind_space = np.zeros(_KIND_SPACES, dtype=np.int64)
        self.first_alloc_seq = np.full(_KIND_SPACES, -1, dtype=np.int64)
        self.last_alloc_seq = np.full(_KIND_SPACES, -1, dtype=np.int64)
        self.allocating = np.zeros(GROUP_BOUND, dtype=bool)
        # live blocks, in program order: key, aligned size and their ALLOC's seq
        self._open_keys, self._open_sizes, self._open_seq = _EMPTY, _EMPTY, _EMPTY
        # blocks a free before them took (live for good, as in memory): key,
        # aligned size and their ALLOC's seq
        self._taken_early: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        # the last batch's blocks, for :meth:`live_before`: key, aligned size,
        # seq, and the batch rows that opened and closed them
        self._batch_blocks: _BatchBlocks | None = None
        self._unpaired_frees = _EMPTY  # keys of frees still waiting for their allocation
        self.sketch = SeriesSketch("live_bytes", ("live_bytes",))  # what the charts draw
        self.batch_points = NO_POINTS  # the last batch's

    def add(self, kind: np.ndarray, gid: np.ndarray, columns: dict[str, np.ndarray]) -> BatchLive:
        """One batch: its kind codes, group ids and int64 columns addr,
        aligned_size, size, seq and start_ps."""
        rows = np.flatnonzero((kind == EventKind.ALLOC) | (kind == EventKind.FREE))
        if not rows.size:
            self._batch_blocks = None  # nothing opened or closed in this batch
            self.batch_points = NO_POINTS
            return BatchLive(_EMPTY, _EMPTY, _EMPTY, _EMPTY, {}, _EMPTY, _EMPTY)
        gid = gid[rows]
        addr, aligned = columns["addr"][rows], columns["aligned_size"][rows]
        allocs = np.flatnonzero(kind[rows] == EventKind.ALLOC)
        frees = np.flatnonzero(kind[rows] == EventKind.FREE)
        key = (gid.astype(np.int64) << ADDR_BITS) | addr
        seq = columns["seq"][rows]
        delta, left_open, ended_seq = self._pair(key, aligned, allocs, frees, seq[allocs], rows)
        peaked, at = self._replay(gid, delta, seq, columns["start_ps"][rows])
        ends = addr[allocs] + aligned[allocs]
        np.maximum.at(self.high_water, gid[allocs], ends)
        self.allocated += np.bincount(
            gid[allocs] % 8, weights=aligned[allocs], minlength=self.allocated.size
        ).astype(np.int64)
        waste = aligned[allocs] - columns["size"][rows][allocs]
        self.internal_waste += int(waste.sum())
        bounding = self._count_waste(gid[allocs], aligned[allocs], waste, seq[allocs])
        return BatchLive(
            rows,
            delta,
            peaked,
            rows[at],
            {name: int(rows[allocs[i]]) for name, i in bounding.items()},
            rows[allocs[left_open]],
            ended_seq,
        )

    def _count_waste(
        self, gid: np.ndarray, aligned: np.ndarray, waste: np.ndarray, seq: np.ndarray
    ) -> dict[tuple[str, int], int]:
        """Adds a batch's allocations to the rounding-waste sums; returns the
        positions among them of the first allocation of each kind and space key
        (if it is the trace's first) and of the last."""
        self.allocating[gid] = True
        key = gid // (8 * CORE_SPAN) * 8 + gid % 8
        self.waste_by_kind_space += np.bincount(key, weights=waste, minlength=_KIND_SPACES).astype(
            np.int64
        )
        self.allocated_by_kind_space += np.bincount(
            key, weights=aligned, minlength=_KIND_SPACES
        ).astype(np.int64)
        bounding: dict[tuple[str, int], int] = {}
        for value in np.unique(key).tolist():
            mine = np.flatnonzero(key == value)
            if self.first_alloc_seq[value] < 0:
                self.first_alloc_seq[value] = seq[mine[0]]
                bounding["first", value] = int(mine[0])
            self.last_alloc_seq[value] = seq[mine[-1]]
            bounding["last", value] = int(mine[-1])
        return bounding

    def _pair(
        self,
        key: np.ndarray,
        aligned: np.ndarray,
        allocs: np.ndarray,
        frees: np.ndarray,
        alloc_seq: np.ndarray,
        rows: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bytes each event took (> 0) or released (<= 0); which of the batch's
        allocations stay live after it (positions among ``allocs``); the seq of
        earlier allocations it ended. Updates the carried state."""
        carried, waiting = self._open_keys.size, self._unpaired_frees.size
        open_keys = np.r_[self._open_keys, key[allocs]]
        open_sizes = np.r_[self._open_sizes, aligned[allocs]]
        open_seq = np.r_[self._open_seq, alloc_seq]
        close_keys = np.r_[self._unpaired_frees, key[frees]]
        # carried blocks opened before this batch; waiting frees closed before them
        open_rows = np.r_[np.arange(-carried, 0), allocs]
        close_rows = np.r_[np.full(waiting, -carried - 1), frees]
        closer = pair_fifo(open_keys, close_keys, open_rows, close_rows)
        delta = np.zeros(key.size, dtype=np.int64)
        delta[allocs] = aligned[allocs]
        closed = closer >= 0
        delta[closer[closed]] = -open_sizes[closed]
        # the n-th free of a key takes the n-th allocation (even one it cannot
        # end, which then stays live for good): the rest carry over
        codes, distinct = pd.factorize(np.r_[open_keys, close_keys])
        open_codes, close_codes = codes[: open_keys.size], codes[open_keys.size :]
        opened = np.bincount(open_codes, minlength=distinct.size)
        freed = np.bincount(close_codes, minlength=distinct.size)
        order = np.argsort(open_codes, kind="stable")
        rank = np.empty(open_codes.size, dtype=np.int64)
        rank[order] = np.arange(order.size) - (np.cumsum(opened) - opened)[open_codes[order]]
        still_open = rank >= freed[open_codes]
        taken_early = ~still_open & ~closed
        # kept as they are: only a batch with overlapping blocks asks (live_before)
        self._batch_blocks = _BatchBlocks(
            open_keys, open_sizes, open_seq, carried, rows, allocs, closer, len(self._taken_early)
        )
        if taken_early.any():
            self._taken_early.append(
                (open_keys[taken_early], open_sizes[taken_early], open_seq[taken_early])
            )
        self._open_keys, self._open_sizes = open_keys[still_open], open_sizes[still_open]
        self._open_seq = open_seq[still_open]
        excess = np.maximum(freed - opened, 0)
        self._unpaired_frees = np.repeat(np.asarray(distinct, dtype=np.int64), excess)
        live_after = (still_open | taken_early)[carried:]
        return delta, np.flatnonzero(live_after), open_seq[:carried][closed[:carried]]

    def never_freed_seq(self) -> np.ndarray:
        """The seq of the ALLOC of each block no free ended, so far."""
        return np.sort(np.concatenate([self._open_seq, *(p[2] for p in self._taken_early)]))

    def live_before(self, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(group id, start, end, ALLOC seq) of the blocks live just before row
        ``row`` of the last batch added: allocated before it and not freed by then."""
        return self._live(lambda group: np.full(group.size, row, dtype=np.int64), at_row=False)

    def live_at(
        self, groups: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(group id, start, end, ALLOC seq) of the blocks of each of ``groups``
        live just after its row in ``rows`` of the last batch added: allocated
        at or before it and not freed by then."""
        order = np.argsort(groups)
        groups, rows = groups[order], rows[order]

        def row_of(group: np.ndarray) -> np.ndarray:
            at = np.minimum(np.searchsorted(groups, group), groups.size - 1)
            return np.where(groups[at] == group, rows[at], -1)

        return self._live(row_of, at_row=True)

    def _live(
        self, row_of: Callable[[np.ndarray], np.ndarray], at_row: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        batch = self._batch_blocks
        if batch is None:
            return _EMPTY, _EMPTY, _EMPTY, _EMPTY
        earlier = self._taken_early[: batch.taken_early]
        keys = np.concatenate([batch.keys, *(part[0] for part in earlier)])
        sizes = np.concatenate([batch.sizes, *(part[1] for part in earlier)])
        seq = np.concatenate([batch.seq, *(part[2] for part in earlier)])
        # carried and taken-early blocks opened before the batch; taken early
        # ones are live for good
        opened = np.r_[np.full(batch.carried, -1), batch.rows[batch.allocs]]
        closed = self.batch_blocks()[1]
        for_good = keys.size - opened.size
        opened, closed = (
            np.r_[opened, np.full(for_good, -1)],
            np.r_[closed, np.full(for_good, NEVER)],
        )
        group = keys >> ADDR_BITS
        row = row_of(group)
        live = (opened <= row if at_row else opened < row) & (closed > row) & (row >= 0)
        start = keys[live] & ((1 << ADDR_BITS) - 1)
        return group[live], start, start + sizes[live], seq[live]

    def batch_blocks(self) -> tuple[np.ndarray, np.ndarray]:
        """(ALLOC seq, batch row of the FREE that ended it, or NEVER) of the
        blocks the last batch added held: those carried into it, then its own
        allocations in order."""
        batch = self._batch_blocks
        if batch is None:
            return _EMPTY, _EMPTY
        return batch.seq, np.where(batch.closer >= 0, batch.rows[batch.closer], NEVER)

    def batch_allocations(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(group and address key, aligned size, batch row) of the last batch's
        own allocations, in order: the blocks after the carried ones in
        :meth:`batch_blocks`."""
        batch = self._batch_blocks
        if batch is None:
            return _EMPTY, _EMPTY, _EMPTY
        return batch.keys[batch.carried :], batch.sizes[batch.carried :], batch.rows[batch.allocs]

    def _replay(
        self, gid: np.ndarray, delta: np.ndarray, seq: np.ndarray, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(gid, kind="stable")
        gid, delta = gid[order], delta[order]
        starts = run_starts(gid)
        lengths = np.diff(np.r_[starts, gid.size])
        total = np.cumsum(delta)
        before = np.repeat(np.r_[0, total][starts], lengths)
        groups = gid[starts]
        live = total - before + np.repeat(self.live[groups], lengths)
        first_seen = self.sketch.events[groups] == 0
        shown = self.sketch.add(gid, seq[order], t[order], live_bytes=live)
        self.batch_points = BatchPoints(gid, shown, live)
        peak = np.maximum.reduceat(live, starts)
        at_peak = np.flatnonzero(live == np.repeat(peak, lengths))
        group_of = np.searchsorted(starts, at_peak, "right") - 1
        first = order[at_peak[np.r_[True, group_of[1:] != group_of[:-1]]]]
        # the first event to reach a group's peak: a later batch must exceed it
        higher = (peak > self.peak[groups]) | first_seen
        self.peak[groups[higher]] = peak[higher]
        self.peak_seq[groups[higher]] = seq[first[higher]]
        self.peak_t_ps[groups[higher]] = t[first[higher]]
        self.live[groups] = live[np.r_[starts[1:], gid.size] - 1]
        return groups[higher], first[higher]

    def group_ids(self) -> np.ndarray:
        """Groups with ALLOC/FREE events, on-chip only, ascending."""
        gids = np.flatnonzero(self.sketch.events)
        return gids[np.isin(gids % 8, ON_CHIP_CODES)]

    def peaks(self) -> pd.DataFrame:
        """The frame :attr:`OccupancyModel.peaks` gives for the whole trace."""
        gids = self.group_ids()
        split = [split_group(int(g)) for g in gids]
        return pd.DataFrame(
            {
                "core_kind": [s[0] for s in split],
                "core": [s[1] for s in split],
                "space": [s[2] for s in split],
                "capacity": self.capacity_by_space[gids % 8],
                "peak_live_bytes": self.peak[gids],
                "peak_seq": self.peak_seq[gids],
                "peak_t_ps": self.peak_t_ps[gids],
                "high_water": self.high_water[gids],
            }
        )
