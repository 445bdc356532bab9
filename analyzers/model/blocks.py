"""Allocation blocks: each ALLOC paired with the FREE that ends it, and their lifetimes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ubscope.analyzers.model.arrays import (
    ADDR_BITS,
    CORE_KIND_LABELS,
    SPACE_LABELS,
    dense_codes,
    group_parts,
    pair_fifo,
    stable_order,
)
from ubscope.analyzers.model.cached import cached_property
from ubscope.analyzers.model.groups import Groups
from ubscope.probe.event_table import EventTable
from ubscope.probe.events import EventKind


@dataclass(frozen=True)
class Blocks:
    """Allocation blocks as parallel arrays in program order (one per ALLOC)."""

    gid: np.ndarray
    addr: np.ndarray
    end: np.ndarray
    size: np.ndarray
    aligned: np.ndarray
    alloc_row: np.ndarray
    free_row: np.ndarray  # -1: never freed
    name: np.ndarray  # string codes of the name column
    tag: np.ndarray

    def __len__(self) -> int:
        return int(self.gid.size)


@dataclass(frozen=True)
class BlockLives:
    """When each block's life began and ended (aligned with :class:`Blocks`)."""

    t_alloc_ps: np.ndarray
    t_end_ps: np.ndarray  # its free, or the trace's modelled end; never before t_alloc_ps
    freed: np.ndarray  # whether a free ended it


@dataclass(frozen=True)
class RoundingWaste:
    """The bytes lost to rounding up the allocations of one core kind and memory."""

    core_kind: str
    space: str
    waste_bytes: int  # aligned minus requested sizes, summed
    allocated_bytes: int  # aligned sizes, summed
    cores: list[int]  # the cores that allocated, ascending
    rows: np.ndarray  # the first and the last of these allocations


class BlockModel:
    """The allocation blocks of one trace (a free ends the oldest live block at its address)."""

    def __init__(self, table: EventTable, groups: Groups):
        self.table = table
        self.groups = groups

    @cached_property
    def blocks(self) -> Blocks:
        allocs, frees = self.table.allocs(), self.table.frees()
        alloc_gid, free_gid = self.groups.gid(allocs.rows), self.groups.gid(frees.rows)
        free_row = pair_fifo(
            (alloc_gid.astype(np.int64) << ADDR_BITS) | allocs.address,
            (free_gid.astype(np.int64) << ADDR_BITS) | frees.address,
            allocs.rows,
            frees.rows,
        )
        return Blocks(
            gid=alloc_gid,
            addr=allocs.address,
            end=allocs.address + allocs.aligned_size,
            size=allocs.size,
            aligned=allocs.aligned_size,
            alloc_row=allocs.rows,
            free_row=free_row,
            name=allocs.name,
            tag=allocs.tag,
        )

    def lives(self, modelled_end_ps: int) -> BlockLives:
        """Each block's allocation and end time: a block never freed lives until
        ``modelled_end_ps``, the trace's end."""
        blocks = self.blocks
        start = self.table.column("start_ps")
        t_alloc = start[blocks.alloc_row]
        freed = blocks.free_row >= 0
        t_end = np.where(freed, start[np.where(freed, blocks.free_row, 0)], modelled_end_ps)
        return BlockLives(t_alloc, np.maximum(t_end, t_alloc), freed)

    def overlapped(self, block: int) -> int | None:
        """The earliest block live when ``block`` was allocated that it overlaps."""
        blocks = self.blocks
        row = blocks.alloc_row[block]
        candidates = np.flatnonzero(
            (blocks.gid == blocks.gid[block])
            & (blocks.alloc_row < row)
            & ((blocks.free_row < 0) | (blocks.free_row > row))
            & (blocks.addr < blocks.end[block])
            & (blocks.end > blocks.addr[block])
        )
        return int(candidates[0]) if candidates.size else None

    def never_freed(self) -> np.ndarray:
        """The blocks no free ended (indices into :attr:`blocks`, ascending)."""
        return np.flatnonzero(self.blocks.free_row < 0)

    def regrown(self) -> np.ndarray:
        """The blocks allocated again under the same buffer name and call site at
        a higher address of their core and space while the previous one was still
        live, with a copy or compute of that core and no pool reset of that core
        and space in between: a pool's new round stacked on the last (UB006).
        Indices into :attr:`blocks`, ascending."""
        blocks = self.blocks
        if len(blocks) < 2:
            return np.zeros(0, dtype=np.int64)
        key = (
            (blocks.gid.astype(np.int64) << 42)
            | (blocks.name.astype(np.int64) << 21)
            | blocks.tag.astype(np.int64)
        )
        codes, count = dense_codes(key)
        order = stable_order(codes, count)  # per (group, name, tag), program order inside
        prev, nxt = order[:-1], order[1:]
        same = codes[prev] == codes[nxt]
        prev, nxt = prev[same], nxt[same]
        next_row = blocks.alloc_row[nxt]
        grows = (blocks.addr[nxt] > blocks.addr[prev]) & (
            (blocks.free_row[prev] < 0) | (blocks.free_row[prev] > next_row)
        )
        prev, nxt = prev[grows], nxt[grows]
        # cheap filter first: any copy/compute at all between the two allocations
        touches = self.table.rows(EventKind.COPY, EventKind.COMPUTE)
        between = np.searchsorted(touches, blocks.alloc_row[nxt]) - np.searchsorted(
            touches, blocks.alloc_row[prev] + 1
        )
        prev, nxt = prev[between > 0], nxt[between > 0]
        if not nxt.size:
            return nxt
        resets = self._count_between(self.table.rows(EventKind.POOL_RESET), prev, nxt)
        used = self._count_between(touches, prev, nxt, per_core=True)
        return np.sort(nxt[(resets == 0) & (used > 0)])

    def _count_between(
        self, rows: np.ndarray, prev: np.ndarray, nxt: np.ndarray, per_core: bool = False
    ) -> np.ndarray:
        """How many of ``rows`` fall strictly between each prev / next block's
        allocation on the blocks' core and space (``per_core``: on their core)."""
        blocks = self.blocks
        divisor = 8 if per_core else 1  # a group id is core * 8 + space
        keys = blocks.gid.astype(np.int64) // divisor
        event_keys = self.groups.gid(rows).astype(np.int64) // divisor
        span = np.int64(len(self.table) + 1)
        sorted_keys = np.sort(event_keys * span + rows)
        low = np.searchsorted(sorted_keys, keys[prev] * span + blocks.alloc_row[prev], "right")
        high = np.searchsorted(sorted_keys, keys[nxt] * span + blocks.alloc_row[nxt], "left")
        return high - low

    def rounding_waste(self) -> list[RoundingWaste]:
        """Per core kind and memory that allocated (in code order), the bytes lost
        to rounding up the requested sizes."""
        blocks = self.blocks
        kind, core, space = group_parts(blocks.gid)
        key = kind * 8 + space
        out = []
        for value in np.unique(key).tolist():
            mine = np.flatnonzero(key == value)
            out.append(
                RoundingWaste(
                    CORE_KIND_LABELS[value // 8],
                    SPACE_LABELS[value % 8],
                    int((blocks.aligned[mine] - blocks.size[mine]).sum()),
                    int(blocks.aligned[mine].sum()),
                    np.unique(core[mine]).tolist(),
                    blocks.alloc_row[mine[[0, -1]]],
                )
            )
        return out

    @cached_property
    def lifetimes(self) -> pd.DataFrame:
        """One row per allocation block: core_kind, core, space, addr, end, size,
        aligned_size, name, tag, alloc_seq, free_seq (-1 = never freed),
        t_alloc_ps, t_free_ps (-1 = never)."""
        blocks = self.blocks
        allocs = self.table.allocs()
        seq, start = self.table.column("seq"), self.table.column("start_ps")
        freed = blocks.free_row >= 0
        free_rows = np.where(freed, blocks.free_row, 0)
        t_alloc = start[allocs.rows]
        return pd.DataFrame(
            {
                "core_kind": pd.Categorical.from_codes(
                    allocs.core_kind, pd.Index(CORE_KIND_LABELS)
                ),
                "core": allocs.core.astype(np.int64),
                "space": pd.Categorical.from_codes(allocs.space, pd.Index(SPACE_LABELS)),
                "addr": blocks.addr,
                "end": blocks.end,
                "size": blocks.size,
                "aligned_size": blocks.aligned,
                "name": self._strings("name", blocks.name),
                "tag": self._strings("tag", blocks.tag),
                "alloc_seq": seq[allocs.rows],
                "free_seq": np.where(freed, seq[free_rows], -1),
                "t_alloc_ps": t_alloc,
                "t_free_ps": np.where(freed, np.maximum(start[free_rows], t_alloc), -1),
            }
        )

    def _strings(self, column: str, codes: np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(codes, categories=self.table.events[column].cat.categories)
