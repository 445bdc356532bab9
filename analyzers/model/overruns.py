"""Writes that run past the end of the block they start in (UB014): a copy or
compute whose on-chip destination starts inside a live block and ends past its
end, short of the space's capacity (the bytes past it are UB002's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ubscope.analyzers.model.arrays import ADDR_BITS, ON_CHIP_CODES
from ubscope.analyzers.model.blocks import BlockModel
from ubscope.analyzers.model.cached import cached_property
from ubscope.analyzers.model.groups import Groups
from ubscope.analyzers.model.touches import Spans, live_holders
from ubscope.probe.event_table import EventTable, any_of
from ubscope.probe.events import EventKind

# enclosing blocks a write is judged against after the one it starts in
# (blocks inside live blocks are UB004's; a chain of them is not followed far)
ENCLOSING_STEPS = 4


class Writes(NamedTuple):
    """On-chip destinations of copies and computes: group, first byte, end (at
    most the space's capacity) and row, rows ascending."""

    gid: np.ndarray
    addr: np.ndarray
    end: np.ndarray
    rows: np.ndarray


def destination_writes(
    gid: np.ndarray,
    space: np.ndarray,
    addr: np.ndarray,
    nbytes: np.ndarray,
    rows: np.ndarray,
    capacity_by_space: np.ndarray,
) -> Writes:
    """The writes of copy and compute ``rows`` (``nbytes``: the bytes a copy moved
    or a compute wrote, from ``addr``) that land on chip, cut at the capacity."""
    on_chip = any_of(space, ON_CHIP_CODES)
    end = np.minimum(addr + nbytes, capacity_by_space[space])
    return Writes(gid[on_chip], addr[on_chip], end[on_chip], rows[on_chip])


def find_overruns(
    spans: Spans, writes: Writes, row_count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(index into ``writes``, span written, span live at its end or -1) of
    each write that starts inside a span live at its row and ends past that
    span's end, ascending.

    A span live at the end of the one a write starts in that also holds the
    write's first byte encloses it (a block inside a larger live one, which
    UB004 reports): the write is judged against the enclosing span instead, so
    a write through a view of a larger live allocation is no overrun."""
    index = _reaching_a_block_end(spans, writes)
    if not index.size:
        return index, index, index
    holders = live_holders(spans, row_count)
    block = holders(writes.gid[index], writes.addr[index], writes.rows[index])
    over = (block >= 0) & (spans.end[np.maximum(block, 0)] < writes.end[index])
    index, block = index[over], block[over]
    for _ in range(ENCLOSING_STEPS):
        neighbour = holders(writes.gid[index], spans.end[block], writes.rows[index])
        safe = np.maximum(neighbour, 0)
        encloses = (neighbour >= 0) & (spans.addr[safe] <= writes.addr[index])
        if not encloses.any():
            return index, block, neighbour
        block = np.where(encloses, neighbour, block)
        still = spans.end[block] < writes.end[index]
        index, block = index[still], block[still]
    return index, block, holders(writes.gid[index], spans.end[block], writes.rows[index])


def _reaching_a_block_end(spans: Spans, writes: Writes) -> np.ndarray:
    """The writes (indices, ascending) that end past the nearest end of any
    span of their group above their first byte: only those can run past the
    span they start in, whose end is at least that one. Most writes stop at or
    before it, and this one search over the distinct ends is far cheaper than
    finding the live block of every write."""
    ends = np.unique((spans.gid.astype(np.int64) << ADDR_BITS) | spans.end)
    if not ends.size:
        return np.zeros(0, dtype=np.int64)
    gid = writes.gid.astype(np.int64)
    above = np.searchsorted(ends, (gid << ADDR_BITS) | writes.addr, "right")
    nearest = ends[np.minimum(above, ends.size - 1)]
    return np.flatnonzero(
        (above < ends.size)
        & ((nearest >> ADDR_BITS) == gid)
        & (writes.end > (nearest & ((1 << ADDR_BITS) - 1)))
    )


@dataclass(frozen=True)
class Overruns:
    """Writes past the end of their block, in program order."""

    rows: np.ndarray  # the copy or compute
    block_row: np.ndarray  # ALLOC row of the block it started in
    past_start: np.ndarray  # that block's end: the first byte written past it
    past_end: np.ndarray  # the end of the write, at most the space's capacity
    neighbour_row: np.ndarray  # ALLOC row of the block live at past_start; -1: none

    def __len__(self) -> int:
        return int(self.rows.size)


class OverrunModel:
    """The copies and computes of one trace that write past their block."""

    def __init__(self, table: EventTable, groups: Groups, blocks: BlockModel):
        self.table = table
        self.groups = groups
        self.block_model = blocks

    @cached_property
    def overruns(self) -> Overruns:
        table, blocks = self.table, self.block_model.blocks
        rows = table.rows(EventKind.COPY, EventKind.COMPUTE)
        writes = destination_writes(
            self.groups.gid(rows),
            table.column("space")[rows],
            table.column("addr")[rows],
            table.footprint()[rows],
            rows,
            self.groups.capacity_by_space,
        )
        spans = Spans(blocks.gid, blocks.addr, blocks.end, blocks.alloc_row, blocks.free_row)
        index, block, neighbour = find_overruns(spans, writes, len(table))
        return Overruns(
            rows=writes.rows[index],
            block_row=blocks.alloc_row[block],
            past_start=blocks.end[block],
            past_end=writes.end[index],
            neighbour_row=np.where(neighbour >= 0, blocks.alloc_row[np.maximum(neighbour, 0)], -1),
        )
