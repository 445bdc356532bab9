"""Which copy or compute touched each allocation block first and last."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ubscope.analyzers.model.arrays import (
    ADDR_BITS,
    ON_CHIP_CODES,
    lookup_codes,
    run_starts,
    selection,
    stable_order,
)
from ubscope.analyzers.model.blocks import BlockModel
from ubscope.analyzers.model.cached import cached_property
from ubscope.analyzers.model.groups import Groups
from ubscope.analyzers.model.traffic import segmented_cummax
from ubscope.probe.event_table import EventTable, any_of
from ubscope.probe.events import EventKind, Flag


@dataclass(frozen=True)
class BlockUsage:
    """First and last touch of each block (aligned with :class:`Blocks`); -1: never."""

    first_row: np.ndarray
    last_row: np.ndarray
    first_ps: np.ndarray  # start of the first touching event
    last_end_ps: np.ndarray  # end of the last touching event


class Spans(NamedTuple):
    """Blocks as touches are attributed to them: group, address range and the
    rows that opened and closed them (alloc_row -1: before the rows looked at;
    free_row -1: not closed in them). Blocks at one start address come in
    allocation order."""

    gid: np.ndarray
    addr: np.ndarray
    end: np.ndarray
    alloc_row: np.ndarray
    free_row: np.ndarray


class Touches(NamedTuple):
    """On-chip accesses of copies or computes: group, address and row (ascending)."""

    gid: np.ndarray
    addr: np.ndarray
    rows: np.ndarray


class LaterSource(NamedTuple):
    """A compute's source operand after its first, in the same space: the flag
    an event carries when it holds one, and where its address is (the field of
    :class:`~ubscope.probe.event_table.Computes`, and the raw column)."""

    flag: Flag
    field: str
    column: str


LATER_SOURCES = (
    LaterSource(Flag.SECOND_SOURCE, "second_src_address", "arg2"),
    LaterSource(Flag.THIRD_SOURCE, "third_src_address", "burst_len"),
)


def holding(flags: np.ndarray, source: LaterSource) -> np.ndarray:
    """Which computes, by their ``flags``, hold the address of ``source``."""
    return (flags & int(source.flag)) != 0


def first_last_touches(
    spans: Spans, touch_sets: Iterable[Touches], row_count: int
) -> tuple[np.ndarray, np.ndarray]:
    """The first and last row (-1: none) among ``touch_sets`` that falls inside
    each span while it is live, over rows ``0..row_count-1``.

    A touch at a block's start address counts for every block live at that
    start; other touches are matched to the live block containing them, tried
    against the latest block allocated at the nearest start at or below the
    address, then at the next lower starts. (A touch at the start address of a
    freed block that lies inside another live block is not counted.)
    """
    first = np.full(spans.gid.size, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(spans.gid.size, -1, dtype=np.int64)
    if spans.gid.size:
        attribution = _Attribution(spans, row_count)
        for touches in touch_sets:
            inside = attribution.at_starts(touches, first, last)
            owner = attribution.owners(
                touches.gid[inside], touches.addr[inside], touches.rows[inside]
            )
            hit = owner >= 0
            np.minimum.at(first, owner[hit], touches.rows[inside][hit])
            np.maximum.at(last, owner[hit], touches.rows[inside][hit])
    return np.where(last >= 0, first, -1), last


def live_holders(spans: Spans, row_count: int) -> Callable[..., np.ndarray]:
    """``holders(gid, addr, rows)``: the index of the span live at each row that
    holds each (group, address), or -1, found as touches are attributed (the
    latest block at the nearest start at or below the address, then older or
    lower ones, up to 8 starts back)."""
    return _Attribution(spans, row_count).owners


class _Starts(NamedTuple):
    """The blocks by start address, then allocation (what :meth:`_Attribution.owners`
    searches): their order, the distinct start keys, each block's start rank,
    its rank and allocation row as one key, and the running latest row the
    blocks at its start so far are live until."""

    order: np.ndarray
    distinct_keys: np.ndarray
    start_rank: np.ndarray
    combined: np.ndarray
    reach: np.ndarray


class _Attribution:
    def __init__(self, spans: Spans, row_count: int):
        self.spans = spans
        # row keys: alloc_row -1 and free_row row_count sort within one start's range
        self.span = np.int64(row_count + 1)
        self.start_key = (spans.gid.astype(np.int64) << ADDR_BITS) | spans.addr
        self.distinct = np.unique(self.start_key)
        # Blocks in (start, allocation) order, as the touch keys are: numpy's binary
        # search resumes from the previous key's position when the keys ascend, so
        # the searches sweep the touches once instead of missing the cache per
        # block. The same for every set of touches: computed once.
        block_codes = lookup_codes(self.start_key, self.distinct)
        self.by_start = stable_order(block_codes, self.distinct.size)
        sorted_codes = block_codes[self.by_start] * self.span
        self.opened = sorted_codes + spans.alloc_row[self.by_start]
        until = np.where(spans.free_row >= 0, spans.free_row, self.span - 1)[self.by_start]
        self.closed = sorted_codes + until

    def at_starts(self, touches: Touches, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Fold the touches that sit exactly at a block start into
        ``first``/``last``: per block, the first and last such touch between its
        allocation and its free. Returns the indices of the other touches."""
        distinct = self.distinct
        codes = lookup_codes((touches.gid.astype(np.int64) << ADDR_BITS) | touches.addr, distinct)
        at_start = codes >= 0
        if not at_start.any():
            return np.flatnonzero(~at_start)
        pick = selection(at_start)
        codes, touch_rows = pick(codes), pick(touches.rows)
        order = stable_order(codes, distinct.size)
        touch_keys = codes[order] * self.span + touch_rows[order]
        touch_rows = touch_rows[order]
        low = np.searchsorted(touch_keys, self.opened, "right")
        high = np.searchsorted(touch_keys, self.closed, "left")
        hit = np.flatnonzero(high > low)
        touched = self.by_start[hit]  # each block once: plain assignment, no ufunc.at
        first[touched] = np.minimum(first[touched], touch_rows[low[hit]])
        last[touched] = np.maximum(last[touched], touch_rows[high[hit] - 1])
        return np.flatnonzero(~at_start)

    def _owner_check(self, block: np.ndarray, addr: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Whether each candidate block (-1: none) is live at ``rows`` and holds ``addr``."""
        spans = self.spans
        safe = np.maximum(block, 0)
        free_row = spans.free_row[safe]
        return (
            (block >= 0)
            & (spans.alloc_row[safe] < rows)
            & ((free_row < 0) | (free_row > rows))
            & (addr >= spans.addr[safe])
            & (addr < spans.end[safe])
        )

    @cached_property
    def _starts(self) -> _Starts:
        order = np.argsort(self.start_key, kind="stable")
        sorted_keys = self.start_key[order]
        distinct = run_starts(sorted_keys)
        start_rank = np.repeat(np.arange(distinct.size), np.diff(np.append(distinct, order.size)))
        # per block (in start, allocation order): the latest row a block at its
        # start allocated no later than it is live until (a block no free ends:
        # past every row), so an older block still live behind a newer one
        # that ended at the same start is tried, and no other
        until = np.where(self.spans.free_row < 0, self.span, self.spans.free_row)[order]
        return _Starts(
            order,
            sorted_keys[distinct],
            start_rank,
            start_rank * self.span + self.spans.alloc_row[order],
            segmented_cummax(until, np.r_[True, start_rank[1:] != start_rank[:-1]]),
        )

    def owners(
        self, gid: np.ndarray, addr: np.ndarray, rows: np.ndarray, max_steps: int = 8
    ) -> np.ndarray:
        """Index of the live block containing each (group, address) at each row,
        or -1, for touches inside a block (not at its start), up to ``max_steps``
        starts back."""
        owner = np.full(rows.size, -1, dtype=np.int64)
        if not rows.size:
            return owner
        order, distinct_keys, start_rank, combined, reach = self._starts
        span = self.span
        touch_key = (gid.astype(np.int64) << ADDR_BITS) | addr
        candidate = np.searchsorted(distinct_keys, touch_key, "right") - 1
        slot = np.full(rows.size, -1, dtype=np.int64)  # -1: the latest at the candidate start
        pending = np.arange(rows.size)
        for _ in range(max_steps):
            pending = pending[candidate[pending] >= 0]
            same_group = (distinct_keys[candidate[pending]] >> ADDR_BITS) == gid[pending]
            pending = pending[same_group]
            cand = candidate[pending]
            if not pending.size:
                break
            latest = np.searchsorted(combined, cand * span + rows[pending], "left") - 1
            at = np.where(slot[pending] >= 0, slot[pending], latest)
            safe = np.maximum(at, 0)
            valid = (at >= 0) & (start_rank[safe] == cand)
            block = np.where(valid, order[safe], -1)
            found = self._owner_check(block, addr[pending], rows[pending])
            owner[pending[found]] = block[found]
            pending, at, valid = pending[~found], at[~found], valid[~found]
            earlier = np.maximum(at - 1, 0)
            behind = (
                valid
                & (at >= 1)
                & (start_rank[earlier] == candidate[pending])
                & (reach[earlier] > rows[pending])
            )
            slot[pending] = np.where(behind, earlier, -1)
            candidate[pending] -= (~behind).astype(np.int64)
        return owner


class TouchModel:
    """Attributes every on-chip access of a copy or compute to the live block it falls in."""

    def __init__(self, table: EventTable, groups: Groups, blocks: BlockModel):
        self.table = table
        self.groups = groups
        self.block_model = blocks

    @cached_property
    def block_usage(self) -> BlockUsage:
        """First / last touch of every block (aligned with :attr:`blocks`) by COPY and
        COMPUTE events whose on-chip destination or source address falls inside it
        while it is live (:func:`first_last_touches`)."""
        blocks = self.block_model.blocks
        spans = Spans(blocks.gid, blocks.addr, blocks.end, blocks.alloc_row, blocks.free_row)
        first, last = first_last_touches(spans, self.touch_sets(), len(self.table))
        used = last >= 0
        start, duration = self.table.column("start_ps"), self.table.column("dur_ps")
        safe_first, safe_last = np.where(used, first, 0), np.where(used, last, 0)
        return BlockUsage(
            first_row=first,
            last_row=last,
            first_ps=np.where(used, start[safe_first], -1),
            last_end_ps=np.where(used, start[safe_last] + duration[safe_last], -1),
        )

    def touch_sets(self) -> Iterable[Touches]:
        """The on-chip destinations of copies and computes, then their on-chip
        sources (a compute's first source operand, or a scalar read), then
        computes' second and third sources."""
        table = self.table
        touches = table.rows(EventKind.COPY, EventKind.COMPUTE)
        for rows, space_column, addr_column in (
            (touches[any_of(table.column("space")[touches], ON_CHIP_CODES)], "space", "addr"),
            (
                touches[any_of(table.column("src_space")[touches], ON_CHIP_CODES)],
                "src_space",
                "src_addr",
            ),
        ):
            yield Touches(
                self.groups.gid(rows, space_column), table.column(addr_column)[rows], rows
            )
        computes = table.computes()
        flags = table.column("flags")[computes.rows]
        for source in LATER_SOURCES:
            rows = computes.rows[holding(flags, source)]
            yield Touches(self.groups.gid(rows, "src_space"), computes.at(source.field, rows), rows)
