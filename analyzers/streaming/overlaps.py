"""Allocations that overlap a live block (UB004), found batch by batch.

The fragmentation replay gives the ALLOC events after which two live blocks of
a core and space share bytes. UB004 reports them per core kind and space and
names, for the first of each, the earliest live block it overlaps: that block
is looked up among the blocks live just before it (the carried ones and the
batch's own), and its ALLOC event is taken from the batch or from the events
of the blocks still live (:class:`OpenAllocations`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ubscope.analyzers.model.arrays import CORE_SPAN
from ubscope.analyzers.streaming.kept import OpenAllocations
from ubscope.analyzers.streaming.occupancy import RunningOccupancy

_EMPTY = np.zeros(0, dtype=np.int64)


class RunningOverlaps:
    """The overlapping allocations of the batches seen so far (their seq, up to
    ``limit``: past the kept-events limit their events are not kept anyway)
    and the block the first of each core kind and space overlaps."""

    def __init__(self, limit: int):
        self.limit = limit
        self._seq: list[np.ndarray] = []
        self._count = 0
        self._kind_spaces: set[int] = set()
        self.overlapped: dict[int, int] = {}  # ALLOC seq -> the ALLOC seq of the block it overlaps
        self.events: list[pa.RecordBatch] = []  # the overlapped blocks' ALLOC events

    def add(
        self,
        batch: pa.RecordBatch,
        rows: np.ndarray,
        gid: np.ndarray,
        columns: dict[str, np.ndarray],
        occupancy: RunningOccupancy,
        open_allocations: OpenAllocations,
    ) -> None:
        """``rows``: the batch's overlapping ALLOC rows; call before the
        batch's blocks that ended are dropped from ``open_allocations``."""
        if not rows.size:
            return
        seq = columns["seq"]
        if self._count < self.limit:
            self._seq.append(seq[rows])
            self._count += rows.size
        kind_space = gid[rows] // (8 * CORE_SPAN) * 8 + gid[rows] % 8
        for row, key in zip(rows.tolist(), kind_space.tolist(), strict=True):
            if key in self._kind_spaces:
                continue
            self._kind_spaces.add(key)
            group, start, end, alloc_seq = occupancy.live_before(row)
            low, high = columns["addr"][row], columns["addr"][row] + columns["aligned_size"][row]
            hit = (group == gid[row]) & (start < high) & (end > low)
            if not hit.any():
                continue
            partner = int(alloc_seq[hit].min())
            self.overlapped[int(seq[row])] = partner
            in_batch = partner - int(seq[0])
            if in_batch >= 0:
                self.events.append(batch.slice(in_batch, 1))
            else:
                self.events.extend(open_allocations.events(np.array([partner])))

    def seq(self) -> np.ndarray:
        """The seq of the overlapping ALLOC events, ascending."""
        return np.concatenate([_EMPTY, *self._seq])
