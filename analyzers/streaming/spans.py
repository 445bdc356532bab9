"""The blocks a batch's copies and computes are attributed to: those live
before it, carried from batch to batch, then the batch's own allocations, as
:class:`~ubscope.analyzers.model.touches.Spans` (what both the usage rules'
and UB014's running states attribute touches by)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ubscope.analyzers.model.arrays import ADDR_BITS
from ubscope.analyzers.model.touches import Spans
from ubscope.analyzers.streaming.occupancy import NEVER, RunningOccupancy

EMPTY = np.zeros(0, dtype=np.int64)


class LiveBlocks(NamedTuple):
    """Blocks still live after a batch: ALLOC seq, group and address range."""

    seq: np.ndarray
    gid: np.ndarray
    addr: np.ndarray
    end: np.ndarray


NO_BLOCKS = LiveBlocks(EMPTY, EMPTY, EMPTY, EMPTY)


class BatchSpans(NamedTuple):
    """The carried blocks, then the batch's own: as spans (opened at row -1
    when carried, closed at the batch row of the free that ended them or -1),
    their ALLOC seq, and the batch rows of the batch's own ALLOCs."""

    spans: Spans
    seq: np.ndarray
    alloc_rows: np.ndarray

    def still_live(self) -> LiveBlocks:
        """The blocks no free of the batch ended, to carry into the next."""
        spans, live = self.spans, self.spans.free_row < 0
        return LiveBlocks(self.seq[live], spans.gid[live], spans.addr[live], spans.end[live])


def batch_spans(carried: LiveBlocks, occupancy: RunningOccupancy) -> BatchSpans:
    """``carried`` and the last batch's own blocks, after ``occupancy`` paired them."""
    keys, sizes, alloc_rows = occupancy.batch_allocations()
    held_seq, closing = occupancy.batch_blocks()
    held_before = held_seq.size - keys.size
    closed_at = np.r_[
        _closing(carried.seq, held_seq[:held_before], closing[:held_before]),
        closing[held_before:],
    ]
    addr = keys & ((1 << ADDR_BITS) - 1)
    spans = Spans(
        np.r_[carried.gid, keys >> ADDR_BITS],
        np.r_[carried.addr, addr],
        np.r_[carried.end, addr + sizes],
        np.r_[np.full(carried.seq.size, -1), alloc_rows],
        np.where(closed_at == NEVER, -1, closed_at),
    )
    return BatchSpans(spans, np.r_[carried.seq, held_seq[held_before:]], alloc_rows)


def _closing(live_seq: np.ndarray, carried_seq: np.ndarray, closing: np.ndarray) -> np.ndarray:
    """The batch row of the free that ended each live block, or NEVER, from the
    closings of the blocks the occupancy carried into the batch (ALLOC seq
    ascending, as ``live_seq``): a block a free before it took is not among
    them and stays live for good."""
    if not live_seq.size or not carried_seq.size:
        return np.full(live_seq.size, NEVER, dtype=np.int64)
    at = np.minimum(np.searchsorted(carried_seq, live_seq), carried_seq.size - 1)
    return np.where(carried_seq[at] == live_seq, closing[at], NEVER)
