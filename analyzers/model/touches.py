"""Which copy or compute touched each allocation block first and last."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ubscope.analyzers.model.arrays import (
    ADDR_BITS,
    ON_CHIP_CODES,
    lookup_codes,
    run_starts,
    stable_order,
)
from ubscope.analyzers.model.blocks import BlockModel
from ubscope.analyzers.model.cached import cached_property
from ubscope.analyzers.model.groups import Groups
from ubscope.probe.event_table import EventTable, any_of
from ubscope.probe.events import EventKind


@dataclass(frozen=True)
class BlockUsage:
    """First and last touch of each block (aligned with :class:`Blocks`); -1: never."""

    first_row: np.ndarray
    last_row: np.ndarray
    first_ps: np.ndarray  # start of the first touching event
    last_end_ps: np.ndarray  # end of the last touching event


class TouchModel:
    """Attributes every on-chip access of a copy or compute to the live block it falls in."""

    def __init__(self, table: EventTable, groups: Groups, blocks: BlockModel):
        self.table = table
        self.groups = groups
        self.block_model = blocks

    @cached_property
    def block_usage(self) -> BlockUsage:
        """First / last touch of every block (aligned with :attr:`blocks`) by COPY and
        COMPUTE events whose on-chip address falls inside it while it is live.

        A touch at a block's start address counts for the block allocated last at
        that address (if still live); other touches are matched to the live block
        containing them. (A touch at the start address of a freed block that lies
        inside another live block is not counted.)
        """
        blocks = self.block_model.blocks
        first = np.full(len(blocks), np.iinfo(np.int64).max, dtype=np.int64)
        last = np.full(len(blocks), -1, dtype=np.int64)
        touches = self.table.rows(EventKind.COPY, EventKind.COMPUTE)
        copies = touches[self.table.column("kind")[touches] == EventKind.COPY]
        for rows, space_column, addr_column in (
            (touches[any_of(self.table.column("space")[touches], ON_CHIP_CODES)], "space", "addr"),
            (
                copies[any_of(self.table.column("src_space")[copies], ON_CHIP_CODES)],
                "src_space",
                "src_addr",
            ),
        ):
            gid, addr = self.groups.gid(rows, space_column), self.table.column(addr_column)[rows]
            inside = self._usage_at_starts(gid, addr, rows, first, last)
            owner = self._attribute(gid[inside], addr[inside], rows[inside])
            hit = owner >= 0
            np.minimum.at(first, owner[hit], rows[inside][hit])
            np.maximum.at(last, owner[hit], rows[inside][hit])
        used = last >= 0
        first = np.where(used, first, -1)
        start, duration = self.table.column("start_ps"), self.table.column("dur_ps")
        safe_first, safe_last = np.where(used, first, 0), np.where(used, last, 0)
        return BlockUsage(
            first_row=first,
            last_row=last,
            first_ps=np.where(used, start[safe_first], -1),
            last_end_ps=np.where(used, start[safe_last] + duration[safe_last], -1),
        )

    def _usage_at_starts(
        self,
        gid: np.ndarray,
        addr: np.ndarray,
        rows: np.ndarray,
        first: np.ndarray,
        last: np.ndarray,
    ) -> np.ndarray:
        """Fold the touches (rows ascending) that sit exactly at a block start into
        ``first``/``last``: per block, the first and last such touch between its
        allocation and its free. Returns the indices of the other touches."""
        blocks = self.block_model.blocks
        distinct = self._block_starts
        codes = lookup_codes((gid.astype(np.int64) << ADDR_BITS) | addr, distinct)
        at_start = codes >= 0
        if not len(blocks) or not at_start.any():
            return np.flatnonzero(~at_start)
        codes, touch_rows = codes[at_start], rows[at_start]
        order = stable_order(codes, distinct.size)
        span = np.int64(len(self.table) + 1)
        touch_keys = codes[order] * span + touch_rows[order]
        touch_rows = touch_rows[order]
        block_codes = lookup_codes(
            (blocks.gid.astype(np.int64) << ADDR_BITS) | blocks.addr, distinct
        )
        # Blocks in (start, allocation) order, as the touch keys are: numpy's binary
        # search resumes from the previous key's position when the keys ascend, so
        # the searches sweep the touches once instead of missing the cache per block.
        by_start = stable_order(block_codes, distinct.size)
        sorted_codes = block_codes[by_start] * span
        until = np.where(blocks.free_row >= 0, blocks.free_row, span - 1)[by_start]
        low = np.searchsorted(touch_keys, sorted_codes + blocks.alloc_row[by_start], "right")
        high = np.searchsorted(touch_keys, sorted_codes + until, "left")
        hit = np.flatnonzero(high > low)
        touched = by_start[hit]  # each block once: plain assignment, no ufunc.at
        first[touched] = np.minimum(first[touched], touch_rows[low[hit]])
        last[touched] = np.maximum(last[touched], touch_rows[high[hit] - 1])
        return np.flatnonzero(~at_start)

    def _owner_check(self, block: np.ndarray, addr: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Whether each candidate block (-1: none) is live at ``rows`` and holds ``addr``."""
        blocks = self.block_model.blocks
        safe = np.maximum(block, 0)
        free_row = blocks.free_row[safe]
        return (
            (block >= 0)
            & (blocks.alloc_row[safe] < rows)
            & ((free_row < 0) | (free_row > rows))
            & (addr >= blocks.addr[safe])
            & (addr < blocks.end[safe])
        )

    @cached_property
    def _block_starts(self) -> np.ndarray:
        """Sorted distinct (group, start address) keys of all blocks."""
        blocks = self.block_model.blocks
        return np.unique((blocks.gid.astype(np.int64) << ADDR_BITS) | blocks.addr)

    def _attribute(
        self, gid: np.ndarray, addr: np.ndarray, rows: np.ndarray, max_steps: int = 8
    ) -> np.ndarray:
        """Index of the live block containing each (group, address) at each row, or -1.

        For touches inside a block (not at its start): tried against the latest
        block allocated at the nearest start at or below the address, then at the
        next lower start, up to ``max_steps`` starts back.
        """
        blocks = self.block_model.blocks
        owner = np.full(rows.size, -1, dtype=np.int64)
        if not len(blocks) or not rows.size:
            return owner
        start_key = (blocks.gid.astype(np.int64) << ADDR_BITS) | blocks.addr
        order = np.argsort(start_key, kind="stable")
        sorted_keys = start_key[order]
        distinct = run_starts(sorted_keys)
        distinct_keys = sorted_keys[distinct]
        start_rank = np.repeat(np.arange(distinct.size), np.diff(np.append(distinct, order.size)))
        span = np.int64(len(self.table) + 1)
        combined = start_rank * span + blocks.alloc_row[order]
        touch_key = (gid.astype(np.int64) << ADDR_BITS) | addr
        candidate = np.searchsorted(distinct_keys, touch_key, "right") - 1
        pending = np.arange(rows.size)
        for _ in range(max_steps):
            pending = pending[candidate[pending] >= 0]
            same_group = (distinct_keys[candidate[pending]] >> ADDR_BITS) == gid[pending]
            pending = pending[same_group]
            cand = candidate[pending]
            if not pending.size:
                break
            slot = np.searchsorted(combined, cand * span + rows[pending], "left") - 1
            valid = (slot >= 0) & (start_rank[np.maximum(slot, 0)] == cand)
            block = np.where(valid, order[np.maximum(slot, 0)], -1)
            found = self._owner_check(block, addr[pending], rows[pending])
            owner[pending[found]] = block[found]
            pending = pending[~found]
            candidate[pending] -= 1
        return owner
