"""Coverage of one group's address range over time: free bytes, the largest free
block and overlaps, replayed exactly over the group's elementary intervals.

Free space is measured inside the allocator's own pool (its ``pool_init`` extent;
the whole space where the trace records none), so a small pool is judged on its
own bytes. The frees of a pool or pipe teardown (TPipe ``Reset``/destruction, a
bump pool's ``Reset``: one FREE per block, then the POOL_RESET) are replayed one
at a time but happen at once, so no fragmentation is judged inside them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ubscope.analyzers.model.arrays import GROUP_BOUND, small_codes, stable_order
from ubscope.analyzers.model.blocks import BlockModel
from ubscope.analyzers.model.cached import cached_property
from ubscope.analyzers.model.groups import Groups, display_times, gid_of
from ubscope.analyzers.model.occupancy import OccupancyModel
from ubscope.probe.event_table import EventTable
from ubscope.probe.events import EventKind

# The exact replay costs (distinct block boundaries x events) of a group; past
# these it samples the state instead (see FragmentationModel._replay_sampled).
_MAX_INTERVALS = 512
_MAX_REPLAY_CELLS = 50_000_000
_MAX_SAMPLES = 2048

# Fragmentation is judged only while this share of the capacity is free (the
# default of FRG002's threshold, and what the metrics summary uses).
DEFAULT_MIN_FREE_FRACTION = 0.1


@dataclass(frozen=True)
class Coverage:
    """One group's on-chip state after each of its ALLOC/FREE events."""

    rows: np.ndarray  # event rows, program order
    live_bytes: np.ndarray
    free_bytes: np.ndarray  # inside the pool's extent
    largest_free: np.ndarray
    max_cover: np.ndarray  # most live blocks covering one byte (2+ = overlap)
    teardown: np.ndarray  # the event is a free of a pool or pipe teardown


@dataclass(frozen=True)
class WorstFragmentation:
    """A group's worst judged external fragmentation and the first event that
    reached it, with its free bytes and largest free block then."""

    external: float
    row: int  # -1: the group has no ALLOC/FREE
    free_bytes: int
    largest_free: int


def external_fragmentation(free_bytes: np.ndarray, largest_free: np.ndarray) -> np.ndarray:
    """1 - largest free block / total free bytes (0 where nothing is free)."""
    free = np.asarray(free_bytes, dtype=np.float64)
    return np.where(free > 0, 1.0 - np.asarray(largest_free) / np.maximum(free, 1.0), 0.0)


# Boundaries are made distinct by counting rather than by hashing when they are
# below this (a table of at most this many entries, 8 MiB) and the table is at
# most _COUNTED_PER_VALUE entries per value: a group's block edges are on-chip
# addresses, a few hundred KiB at most, and repeat across its events. Counting
# 150 k edges below 256 Ki took 0.75 ms against hashing's 4.6 ms; 1,400 edges
# 0.51 ms against 0.08 ms (the table's cost).
_COUNTED_BOUNDS = 1 << 20
_COUNTED_PER_VALUE = 16


def interval_bounds(*parts: np.ndarray | list[int]) -> np.ndarray:
    """The ascending distinct values of ``parts``: the boundaries of a group's
    elementary address intervals (its blocks' starts and ends, and the edges
    of its space and pool)."""
    values = np.concatenate([np.asarray(part, dtype=np.int64) for part in parts])
    table = min(_COUNTED_BOUNDS, _COUNTED_PER_VALUE * values.size)
    if values.size and values.min() >= 0 and values.max() < table:
        return np.flatnonzero(np.bincount(values))
    return np.unique(values)


def replay_intervals(
    bounds: np.ndarray,
    addr: np.ndarray,
    end: np.ndarray,
    sign: np.ndarray,
    carried: np.ndarray,
    extent: tuple[int, int],
    capacity: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Free bytes inside ``extent``, the largest free block and the most blocks
    covering one byte after each of a group's events (program order), and the
    coverage of each interval after the last one. ``bounds`` are the ascending
    elementary interval boundaries, holding every block's ``addr`` and ``end``;
    ``sign`` is +1 for a block taken, -1 released, 0 neither; ``carried`` the
    coverage of each interval before the first event (both paths: the whole
    trace in memory, each batch of a streamed one)."""
    first = np.searchsorted(bounds, addr)
    last = np.searchsorted(bounds, end)
    low, high = extent[0], min(extent[1], capacity)
    count = addr.size
    free = np.zeros(count, dtype=np.int64)
    largest = np.zeros(count, dtype=np.int64)
    run = np.zeros(count, dtype=np.int64)
    max_cover = np.zeros(count, dtype=np.int32)
    last_cover = carried.astype(np.int32)
    # One pass per elementary address interval (few per group), each over all
    # the events: coverage is the running sum of the signed blocks spanning the
    # interval; free runs extend across uncovered intervals of the pool. The
    # passes write into the same few arrays: this loop is the replay's cost.
    spans, ends_after = np.empty(count, dtype=bool), np.empty(count, dtype=bool)
    signed, cover = np.empty(count, dtype=np.int32), np.empty(count, dtype=np.int32)
    covered = np.empty(count, dtype=bool)
    for index in range(bounds.size - 1):
        np.less_equal(first, index, out=spans)
        np.greater(last, index, out=ends_after)
        spans &= ends_after
        np.multiply(sign, spans, out=signed)
        np.cumsum(signed, out=cover)
        if carried[index]:
            cover += carried[index]
        np.maximum(max_cover, cover, out=max_cover)
        if count:
            last_cover[index] = cover[-1]
        if bounds[index] < low or bounds[index + 1] > high:
            run[:] = 0
            continue
        width = int(bounds[index + 1] - bounds[index])
        np.greater(cover, 0, out=covered)
        run += width
        run[covered] = 0
        np.add(free, width, out=free, where=~covered)
        np.maximum(largest, run, out=largest)
    return free, largest, max_cover, last_cover


class FragmentationModel:
    """Per group, computed on first use: the coverage replay and what follows from it."""

    def __init__(
        self, table: EventTable, groups: Groups, occupancy: OccupancyModel, blocks: BlockModel
    ):
        self.table = table
        self.groups = groups
        self.occupancy = occupancy
        self.block_model = blocks
        self._coverage: dict[int, Coverage] = {}
        # one replay per group, also when several threads ask (TraceContext.prepare)
        self._coverage_lock = threading.Lock()

    def coverage(self, gid: int) -> Coverage:
        """Free bytes, largest free block and overlap depth of one group after each
        ALLOC/FREE, replayed exactly over the group's elementary address intervals."""
        cached = self._coverage.get(gid)
        if cached is None:
            with self._coverage_lock:
                cached = self._coverage.get(gid)
                if cached is None:
                    cached = self._coverage[gid] = self._replay(gid)
        return cached

    def _capacity(self, gid: int) -> int:
        return int(self.groups.capacity_by_space[gid % 8])

    def overlapping_allocs(self) -> np.ndarray:
        """Rows of the ALLOC events after which two live blocks of their core and
        space share bytes, ascending."""
        kind = self.table.column("kind")
        hits = [np.zeros(0, dtype=np.int64)]
        for gid in self.occupancy.group_ids.tolist():
            cover = self.coverage(int(gid))
            hits.append(cover.rows[(kind[cover.rows] == EventKind.ALLOC) & (cover.max_cover >= 2)])
        return np.sort(np.concatenate(hits))

    def extent(self, gid: int) -> tuple[int, int]:
        """[start, end) of the memory a group's allocator hands out: the span of
        its recorded pools (all of them, if several), else the whole capacity."""
        pools = self.table.pool_inits()
        mine = self.groups.gid(pools.rows) == gid
        if not mine.any():
            return 0, self._capacity(gid)
        return int(pools.base[mine].min()), int((pools.base + pools.size)[mine].max())

    @cached_property
    def teardown_rows(self) -> np.ndarray:
        """Rows of the FREE events that belong to a teardown: on each core, the
        run of frees that a POOL_RESET closes."""
        table = self.table
        rows = table.rows(EventKind.ALLOC, EventKind.FREE, EventKind.POOL_RESET)
        core = self.groups.gid(rows) // 8
        # by core, in program order within each (rows ascend): a stable radix sort
        codes, distinct = small_codes(core, GROUP_BOUND // 8)
        order = stable_order(codes, distinct.size)
        core, kind = core[order], table.column("kind")[rows[order]]
        count = rows.size
        is_free = kind == EventKind.FREE
        # the first event at or after each position that is not a free
        position = np.arange(count, dtype=table.row_dtype)
        after = np.minimum.accumulate(np.where(is_free, count, position)[::-1])[::-1]
        closing = np.minimum(after, max(count - 1, 0))
        closed = (
            is_free
            & (after < count)
            & (kind[closing] == EventKind.POOL_RESET)
            & (core[closing] == core)
        )
        # back in program order by marking them, not by sorting their rows
        marked = np.zeros(count, dtype=bool)
        marked[order[closed]] = True
        return rows[marked]

    @cached_property
    def _in_teardown(self) -> np.ndarray:
        """Whether each live-bytes event (``occupancy.live.rows``) is in a teardown:
        one mask for every group, not a search per group."""
        marked = np.zeros(len(self.table), dtype=bool)
        marked[self.teardown_rows] = True
        return marked[self.occupancy.live.rows]

    def _replay(self, gid: int) -> Coverage:
        live = self.occupancy.live
        part = self.occupancy.group_slice(gid)
        rows = live.rows[part]
        capacity = self._capacity(gid)
        low, high = self.extent(gid)
        teardown = self._in_teardown[part]
        addr = self.table.column("addr")[rows]
        end = live.end[part]
        bounds = interval_bounds([0, capacity, low, high], addr, end)
        if bounds.size > _MAX_INTERVALS and bounds.size * rows.size > _MAX_REPLAY_CELLS:
            return self._replay_sampled(gid, rows, (low, high), teardown)
        sign = np.sign(live.delta[part]).astype(np.int32)
        nothing_before = np.zeros(bounds.size - 1, dtype=np.int32)
        free, largest, max_cover, _ = replay_intervals(
            bounds, addr, end, sign, nothing_before, (low, high), capacity
        )
        return Coverage(rows, live.live[part], free, largest, max_cover, teardown)

    def _replay_sampled(
        self, gid: int, rows: np.ndarray, extent: tuple[int, int], teardown: np.ndarray
    ) -> Coverage:
        """The replay for groups with very many distinct block boundaries: the state
        is rebuilt from the live blocks at up to ``_MAX_SAMPLES`` evenly spaced
        events and held until the next sample (overlaps between samples can be missed)."""
        blocks = self.block_model.blocks
        mine = np.flatnonzero(blocks.gid == gid)
        alloc, free_row = blocks.alloc_row[mine], blocks.free_row[mine]
        start, end = blocks.addr[mine], blocks.end[mine]
        low, high = extent[0], min(extent[1], self._capacity(gid))
        picks = np.unique(np.linspace(0, rows.size - 1, min(rows.size, _MAX_SAMPLES)).astype(int))
        free = np.zeros(picks.size, dtype=np.int64)
        largest = np.zeros(picks.size, dtype=np.int64)
        cover = np.zeros(picks.size, dtype=np.int32)
        for slot, row in enumerate(rows[picks]):
            live = (alloc <= row) & ((free_row < 0) | (free_row > row))
            order = np.argsort(start[live], kind="stable")
            lo, hi = start[live][order], end[live][order]
            reach = np.maximum.accumulate(hi) if hi.size else hi
            cover[slot] = 2 if hi.size > 1 and (lo[1:] < reach[:-1]).any() else min(hi.size, 1)
            edges = np.clip(np.concatenate([[low], reach]), low, high)
            starts = np.clip(np.concatenate([lo, [high]]), low, high)
            gaps = np.maximum(starts - np.maximum.accumulate(edges), 0)
            free[slot], largest[slot] = gaps.sum(), gaps.max(initial=0)
        held = np.searchsorted(picks, np.arange(rows.size), "right") - 1
        live_bytes = self.occupancy.live.live[self.occupancy.group_slice(gid)]
        return Coverage(rows, live_bytes, free[held], largest[held], cover[held], teardown)

    def fragmentation(self, core_kind: str, core: int, space: str) -> pd.DataFrame:
        """[t_ps, seq, free_bytes, largest_free, external] after every ALLOC/FREE of
        one core's space (below capacity); external = 1 - largest / free (0 if none free)."""
        cover = self.coverage(gid_of(core_kind, core, space))
        return pd.DataFrame(
            {
                "t_ps": display_times(self.table, cover.rows),
                "seq": self.table.column("seq")[cover.rows],
                "free_bytes": cover.free_bytes,
                "largest_free": cover.largest_free,
                "external": external_fragmentation(cover.free_bytes, cover.largest_free),
            }
        )

    def worst_fragmentation(self, gid: int, min_free_fraction: float) -> WorstFragmentation:
        """Worst external fragmentation of a group over time and where it happened,
        counting only states with at least ``min_free_fraction`` of the pool free
        (so a nearly full pool does not count as fragmented) and none inside a
        teardown (0 at the group's first event when none is judged worse)."""
        cover = self.coverage(gid)
        low, high = self.extent(gid)
        judged = (cover.free_bytes >= min_free_fraction * (high - low)) & ~cover.teardown
        external = external_fragmentation(cover.free_bytes, cover.largest_free)
        external = np.where(judged, external, 0.0)
        if not external.size:
            return WorstFragmentation(0.0, -1, 0, 0)
        worst = int(np.argmax(external))
        return WorstFragmentation(
            float(external[worst]),
            int(cover.rows[worst]),
            int(cover.free_bytes[worst]),
            int(cover.largest_free[worst]),
        )
