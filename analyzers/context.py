"""TraceContext: the derived, columnar views of one trace that rules and views share.

Everything is computed lazily, once, with numpy over the event columns (no
Python object per event). On-chip state is replayed in *program order* (event
sequence), which is the order the allocators saw: the cost model stamps a free
with the time its data was last used, so modelled times are not monotonic in
the allocator's order. Series that views plot carry ``t_ps`` made
non-decreasing (the running maximum of the events' modelled times).

Groups: one on-chip memory of one core is a *group*, encoded as one integer
``gid = ((core_kind * 65536) + core + 1) * 8 + space``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ubscope.analyzers.findings import Finding, Location
from ubscope.probe.chip import ChipProfile
from ubscope.probe.events import (
    ON_CHIP_SPACES,
    CoreKind,
    EventKind,
    Flag,
    Space,
    enum_labels,
)
from ubscope.probe.trace import Trace
from ubscope.probe.validate import checked_chip

T = TypeVar("T")
KIND_LABELS = enum_labels(EventKind)
CORE_KIND_LABELS = enum_labels(CoreKind)
SPACE_LABELS = enum_labels(Space)
ON_CHIP_CODES = np.array([int(s) for s in ON_CHIP_SPACES])
_CORE_SPAN = 65536
_GROUP_BOUND = 4 * _CORE_SPAN * 8  # group ids are below this
# The exact replay costs (distinct block boundaries x events) of a group; past
# these it samples the state instead (see TraceContext._replay_sampled).
_MAX_INTERVALS = 512
_MAX_REPLAY_CELLS = 50_000_000
_MAX_SAMPLES = 2048
_ADDR_BITS = 40  # on-chip addresses stay far below 1 TiB


def group_id(core_kind: np.ndarray, core: np.ndarray, space: np.ndarray) -> np.ndarray:
    """The integer id of each row's (core kind, core, space) group (int32)."""
    wrapped = (core.astype(np.int32) + 1) & (_CORE_SPAN - 1)  # core -1 (host) -> 0
    return (core_kind.astype(np.int32) * _CORE_SPAN + wrapped) * 8 + space.astype(np.int32)


def group_parts(gid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(core kind code, core index, space code) arrays of group ids."""
    return gid // (8 * _CORE_SPAN), (gid // 8) % _CORE_SPAN - 1, gid % 8


def split_group(gid: int) -> tuple[str, int, str]:
    """(core kind label, core index, space label) of a group id."""
    kind, core, space = group_parts(np.array([gid]))
    return CORE_KIND_LABELS[int(kind[0])], int(core[0]), SPACE_LABELS[int(space[0])]


def run_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Start positions of the runs of equal values in a sorted array."""
    if sorted_keys.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])


def dense_codes(keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Each key's rank among the distinct keys (in key order), and how many there are."""
    codes, uniques = pd.factorize(keys, sort=True)
    return codes, len(uniques)


def lookup_codes(keys: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """Each key's index in the sorted array ``distinct``, or -1 where it is absent
    (a binary search in a small, cache-resident array)."""
    if not distinct.size:
        return np.full(keys.size, -1, dtype=np.int64)
    codes = np.searchsorted(distinct, keys)
    clipped = np.minimum(codes, distinct.size - 1)
    return np.where(distinct[clipped] == keys, clipped, -1)


def small_codes(values: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes (in value order) of non-negative integers below ``bound``, and the
    distinct values, with a lookup table instead of a sort."""
    present = np.bincount(values, minlength=bound) > 0
    lookup = np.cumsum(present) - 1
    return lookup[values], np.flatnonzero(present)


def stable_order(codes: np.ndarray, count: int) -> np.ndarray:
    """Stable sorting order of dense codes (a radix sort when they fit 16 bits)."""
    small = codes.astype(np.uint16) if count <= 1 << 16 else codes
    return np.argsort(small, kind="stable")


def pair_fifo(open_keys: np.ndarray, close_keys: np.ndarray, open_rows: np.ndarray,
              close_rows: np.ndarray) -> np.ndarray:  # fmt: skip
    """For each opening event, the row of the closing event that ends it (or -1).

    Events pair first-in first-out per key (the n-th free of an address ends the
    n-th allocation there); a close that would precede its open is ignored.
    Rows must be in program order within each input.
    """
    closed = np.full(open_keys.size, -1, dtype=np.int64)
    if open_keys.size == 0 or close_keys.size == 0:
        return closed
    distinct = np.unique(open_keys)
    count = distinct.size
    open_codes = np.searchsorted(distinct, open_keys)
    close_codes = lookup_codes(close_keys, distinct)
    known = close_codes >= 0
    close_codes, close_rows = close_codes[known], close_rows[known]
    open_count = np.bincount(open_codes, minlength=count)
    close_count = np.bincount(close_codes, minlength=count)
    open_order = stable_order(open_codes, count)
    close_order = stable_order(close_codes, count)
    sorted_close = close_codes[close_order]
    close_first = np.cumsum(close_count) - close_count
    rank = np.arange(close_order.size) - close_first[sorted_close]
    valid = rank < open_count[sorted_close]
    open_first = np.cumsum(open_count) - open_count
    opener = open_order[open_first[sorted_close[valid]] + rank[valid]]
    closer_rows = close_rows[close_order[valid]]
    after = closer_rows > open_rows[opener]
    closed[opener[after]] = closer_rows[after]
    return closed


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
class BlockUsage:
    """First and last touch of each block (aligned with :class:`Blocks`); -1: never."""

    first_row: np.ndarray
    last_row: np.ndarray
    first_ps: np.ndarray  # start of the first touching event
    last_end_ps: np.ndarray  # end of the last touching event


@dataclass(frozen=True)
class Coverage:
    """One group's on-chip state after each of its ALLOC/FREE events."""

    rows: np.ndarray  # event rows, program order
    live_bytes: np.ndarray
    free_bytes: np.ndarray  # below capacity
    largest_free: np.ndarray
    max_cover: np.ndarray  # most live blocks covering one byte (2+ = overlap)


class TraceContext:
    """Derived data of one trace, computed on first use and cached."""

    def __init__(self, trace: Trace, chip: ChipProfile | None = None):
        self.trace = trace
        self.events: pd.DataFrame = trace.events
        self.chip: ChipProfile = checked_chip(chip if chip is not None else trace.chip, trace.path)
        self._columns: dict[str, np.ndarray] = {}
        self._rows: dict[tuple[int, ...], np.ndarray] = {}
        self._coverage: dict[int, Coverage] = {}
        self._labels: dict[str, np.ndarray] = {}
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per context (for derived data several rules share)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    # -- metadata -------------------------------------------------------------
    @cached_property
    def params(self) -> dict[str, Any]:
        """The kernel parameters (empty when the metadata holds no mapping)."""
        params = self.trace.meta.get("params")
        return dict(params) if isinstance(params, dict) else {}

    @cached_property
    def minimal_traffic(self) -> dict[str, int]:
        """The kernel's minimal GM bytes per direction ("read", "write") that the
        metadata states (other keys are left out)."""
        minimal = self.trace.meta.get("minimal_traffic")
        if not isinstance(minimal, dict):
            return {}
        # the reader checked the values (probe/validate.py: check_metadata)
        return {key: int(value) for key, value in minimal.items() if key in ("read", "write")}

    # -- raw columns ----------------------------------------------------------
    def column(self, name: str) -> np.ndarray:
        """A column as a numpy array (category codes for categorical columns); no copy."""
        cached = self._columns.get(name)
        if cached is None:
            series = self.events[name]
            if isinstance(series.dtype, pd.CategoricalDtype):
                cached = np.asarray(series.cat.codes)
            else:
                cached = series.to_numpy()
            self._columns[name] = cached
        return cached

    def labels(self, name: str) -> np.ndarray:
        """The strings behind the codes of a string column (name, tensor, tag);
        built once (rules look up one label per finding)."""
        cached = self._labels.get(name)
        if cached is None:
            categories = self.events[name].cat.categories
            cached = self._labels[name] = np.asarray(categories, dtype=object)
        return cached

    def label(self, name: str, code: int) -> str:
        return str(self.labels(name)[code]) if code >= 0 else ""

    def rows(self, *kinds: EventKind) -> np.ndarray:
        """Row positions (program order) of the events of the given kinds."""
        key = tuple(sorted(int(k) for k in kinds))
        cached = self._rows.get(key)
        if cached is None:
            codes = self.column("kind")
            mask = codes == key[0]
            for kind in key[1:]:
                mask |= codes == kind
            cached = self._rows[key] = np.flatnonzero(mask).astype(self._row_dtype)
        return cached

    def flagged_rows(self, flag: Flag, *kinds: EventKind) -> np.ndarray:
        """Rows of the given kinds whose flags carry ``flag``."""
        rows = self._nonzero_flag_rows
        rows = rows[(self.column("flags")[rows] & int(flag)) != 0]
        if kinds:
            rows = rows[np.isin(self.column("kind")[rows], [int(k) for k in kinds])]
        return rows

    @cached_property
    def _nonzero_flag_rows(self) -> np.ndarray:
        return np.flatnonzero(self.column("flags")).astype(self._row_dtype)

    @cached_property
    def _row_dtype(self) -> type:
        """Row positions are stored as int32 (half the memory) when they fit."""
        return np.int32 if len(self.events) < 2**31 - 1 else np.int64

    def gid(self, rows: np.ndarray, space_column: str = "space") -> np.ndarray:
        """Group ids of ``rows`` (by their destination space, or ``src_space``)."""
        if space_column == "space":
            return self._all_gid[rows]
        return group_id(self.column("core_kind")[rows], self.column("core")[rows],
                        self.column(space_column)[rows])  # fmt: skip

    @cached_property
    def _all_gid(self) -> np.ndarray:
        return group_id(self.column("core_kind"), self.column("core"), self.column("space"))

    def capacity_of(self, space: str) -> int:
        return int(self.chip.capacity.get(space, 0))

    def capacities(self, space_codes: np.ndarray) -> np.ndarray:
        """The chip's capacity for each space code (0 for GM / none)."""
        return self._capacity_by_space[space_codes]

    @cached_property
    def _capacity_by_space(self) -> np.ndarray:
        return np.array([self.capacity_of(label) for label in SPACE_LABELS], dtype=np.int64)

    # -- launches ---------------------------------------------------------------
    @cached_property
    def launches(self) -> pd.DataFrame:
        """[name, mode, block_dim, start_ps, end_ps, first_seq, last_seq] per kernel launch
        (a launch cut short by a truncated trace ends at its last recorded event)."""
        begins, ends = self.rows(EventKind.KERNEL_BEGIN), self.rows(EventKind.KERNEL_END)
        seq, start = self.column("seq"), self.column("start_ps")
        end_rows = np.full(begins.size, -1, dtype=np.int64)
        end_ps = np.zeros(begins.size, dtype=np.int64)
        if begins.size and ends.size:
            slot = np.searchsorted(begins, ends) - 1
            keep = slot >= 0
            end_rows[slot[keep]] = ends[keep]
            end_ps[slot[keep]] = start[ends[keep]]
        open_ended = end_rows < 0
        if open_ended.any():
            end_rows[open_ended] = len(self.events) - 1
            end_ps[open_ended] = self.modelled_end_ps
        names, tags = self.labels("name"), self.labels("tag")
        return pd.DataFrame(
            {
                "name": names[self.column("name")[begins]].astype(str),
                "mode": tags[self.column("tag")[begins]].astype(str),
                "block_dim": self.column("arg")[begins],
                "start_ps": start[begins],
                "end_ps": end_ps,
                "first_seq": seq[begins],
                "last_seq": seq[end_rows],
            }
        )

    @cached_property
    def modelled_end_ps(self) -> int:
        """The latest modelled time any event reaches (a KERNEL_END event sits at
        its launch's end; its dur_ps is the launch's length, not its own)."""
        if not len(self.events):
            return 0
        ends = self.column("start_ps") + self.column("dur_ps")
        kernel_ends = self.rows(EventKind.KERNEL_END)
        ends[kernel_ends] = self.column("start_ps")[kernel_ends]
        return int(ends.max())

    @cached_property
    def modelled_time_ps(self) -> int:
        """Sum of the launches' modelled durations."""
        launches = self.launches
        return int((launches["end_ps"] - launches["start_ps"]).sum()) if len(launches) else 0

    def kernel_of(self, row: int) -> str | None:
        """The name of the launch an event row belongs to."""
        firsts = self.launches["first_seq"].to_numpy()
        if not firsts.size:
            return self.trace.kernel if self.trace.meta.get("kernel") else None
        index = max(0, int(np.searchsorted(firsts, row, "right")) - 1)
        return str(self.launches["name"].iloc[index])

    # -- allocation blocks --------------------------------------------------------
    @cached_property
    def blocks(self) -> Blocks:
        allocs, frees = self.rows(EventKind.ALLOC), self.rows(EventKind.FREE)
        addr = self.column("addr")
        alloc_gid, free_gid = self.gid(allocs), self.gid(frees)
        free_row = pair_fifo(
            (alloc_gid.astype(np.int64) << _ADDR_BITS) | addr[allocs],
            (free_gid.astype(np.int64) << _ADDR_BITS) | addr[frees],
            allocs, frees,
        )  # fmt: skip
        aligned = self.column("aligned_size")[allocs]
        return Blocks(
            gid=alloc_gid,
            addr=addr[allocs],
            end=addr[allocs] + aligned,
            size=self.column("size")[allocs],
            aligned=aligned,
            alloc_row=allocs,
            free_row=free_row,
            name=self.column("name")[allocs],
            tag=self.column("tag")[allocs],
        )

    @cached_property
    def lifetimes(self) -> pd.DataFrame:
        """One row per allocation block: core_kind, core, space, addr, end, size,
        aligned_size, name, tag, alloc_seq, free_seq (-1 = never freed),
        t_alloc_ps, t_free_ps (-1 = never)."""
        blocks = self.blocks
        rows = blocks.alloc_row
        seq, start = self.column("seq"), self.column("start_ps")
        freed = blocks.free_row >= 0
        free_rows = np.where(freed, blocks.free_row, 0)
        t_alloc = start[rows]
        return pd.DataFrame(
            {
                "core_kind": self._enum_labels("core_kind", rows, CORE_KIND_LABELS),
                "core": self.column("core")[rows].astype(np.int64),
                "space": self._enum_labels("space", rows, SPACE_LABELS),
                "addr": blocks.addr,
                "end": blocks.end,
                "size": blocks.size,
                "aligned_size": blocks.aligned,
                "name": self._string_labels("name", blocks.name),
                "tag": self._string_labels("tag", blocks.tag),
                "alloc_seq": seq[rows],
                "free_seq": np.where(freed, seq[free_rows], -1),
                "t_alloc_ps": t_alloc,
                "t_free_ps": np.where(freed, np.maximum(start[free_rows], t_alloc), -1),
            }
        )

    def _enum_labels(self, column: str, rows: np.ndarray, labels: list[str]) -> pd.Categorical:
        return pd.Categorical.from_codes(self.column(column)[rows], categories=labels)

    def _string_labels(self, column: str, codes: np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(codes, categories=self.events[column].cat.categories)

    # -- occupancy and peaks ----------------------------------------------------------
    @cached_property
    def _live(self) -> dict[str, np.ndarray]:
        """Live bytes after every ALLOC/FREE, grouped by gid (program order inside)."""
        rows = self.rows(EventKind.ALLOC, EventKind.FREE)
        gid = self.gid(rows)
        codes, distinct = small_codes(gid, _GROUP_BOUND)
        order = stable_order(codes, distinct.size)
        rows, gid = rows[order], gid[order]
        delta = self.column("aligned_size")[rows].copy()
        # a free releases what its allocation took (an unmatched free releases nothing)
        frees = self.rows(EventKind.FREE)
        released = np.zeros(frees.size, dtype=np.int64)
        blocks = self.blocks
        freed = blocks.free_row >= 0
        released[np.searchsorted(frees, blocks.free_row[freed])] = blocks.aligned[freed]
        is_free = self.column("kind")[rows] == EventKind.FREE
        delta[is_free] = -released[np.searchsorted(frees, rows[is_free])]
        end = self.column("addr")[rows] + np.abs(delta)
        total = np.cumsum(delta)
        starts = run_starts(gid)
        lengths = np.diff(np.append(starts, gid.size))
        before = np.repeat(np.concatenate([[0], total])[starts], lengths)
        return {"rows": rows, "gid": gid, "live": total - before, "starts": starts,
                "delta": delta, "end": end, "group_gids": gid[starts]}  # fmt: skip

    def _group_slice(self, gid: int) -> slice:
        live = self._live
        starts, group_gids = live["starts"], live["group_gids"]
        index = int(np.searchsorted(group_gids, gid)) if starts.size else 0
        if index >= starts.size or group_gids[index] != gid:
            return slice(0, 0)
        stop = starts[index + 1] if index + 1 < starts.size else live["gid"].size
        return slice(int(starts[index]), int(stop))

    def _display_times(self, rows: np.ndarray) -> np.ndarray:
        """Modelled times of rows made non-decreasing (for plotting program-order series)."""
        times = self.column("start_ps")[rows]
        return np.maximum.accumulate(times) if times.size else times

    def occupancy(self, core_kind: str, core: int, space: str) -> pd.DataFrame:
        """[t_ps, seq, live_bytes] after every ALLOC/FREE of one core's space, in
        program order (``t_ps`` non-decreasing)."""
        part = self._group_slice(self._gid_of(core_kind, core, space))
        rows = self._live["rows"][part]
        return pd.DataFrame(
            {
                "t_ps": self._display_times(rows),
                "seq": self.column("seq")[rows],
                "live_bytes": self._live["live"][part],
            }
        )

    @staticmethod
    def _gid_of(core_kind: str, core: int, space: str) -> int:
        kind = CORE_KIND_LABELS.index(core_kind.lower())
        return int(group_id(np.array([kind]), np.array([core]), np.array([Space[space]]))[0])

    @cached_property
    def peaks(self) -> pd.DataFrame:
        """[core_kind, core, space, capacity, peak_live_bytes, peak_seq, peak_t_ps,
        high_water] per core and on-chip space that allocated anything."""
        live = self._live
        starts = live["starts"]
        columns = ["core_kind", "core", "space", "capacity", "peak_live_bytes", "peak_seq",
                   "peak_t_ps", "high_water"]  # fmt: skip
        if not starts.size:
            return pd.DataFrame({name: [] for name in columns})
        lengths = np.diff(np.r_[starts, live["gid"].size])
        peak = np.maximum.reduceat(live["live"], starts)
        at_peak = np.flatnonzero(live["live"] == np.repeat(peak, lengths))
        group_of = np.searchsorted(starts, at_peak, "right") - 1
        first_at_peak = at_peak[np.r_[True, group_of[1:] != group_of[:-1]]]
        peak_rows = live["rows"][first_at_peak]
        gids = live["group_gids"]
        blocks = self.blocks
        high_water = np.zeros(gids.size, dtype=np.int64)
        if len(blocks):
            slot = np.searchsorted(gids, blocks.gid)
            np.maximum.at(high_water, slot, blocks.end)
        split = [split_group(int(g)) for g in gids]
        frame = pd.DataFrame(
            {
                "core_kind": [s[0] for s in split],
                "core": [s[1] for s in split],
                "space": [s[2] for s in split],
                "capacity": self._capacity_by_space[gids % 8],
                "peak_live_bytes": peak,
                "peak_seq": self.column("seq")[peak_rows],
                "peak_t_ps": self.column("start_ps")[peak_rows],
                "high_water": high_water,
            }
        )
        return frame[frame["space"].isin([s.name for s in ON_CHIP_SPACES])].reset_index(drop=True)

    def core_spaces(self) -> pd.DataFrame:
        """[core_kind, core, space, capacity] of every on-chip space any event used."""
        core_kind, core = self.column("core_kind"), self.column("core")
        groups = 4 * _CORE_SPAN * 8
        present = np.zeros(groups, dtype=bool)
        for column in (self.column("space"), self.column("src_space")):
            on_chip = np.isin(column, ON_CHIP_CODES)
            codes = group_id(core_kind[on_chip], core[on_chip], column[on_chip])
            present |= np.bincount(codes, minlength=groups) > 0
        split = [split_group(int(g)) for g in np.flatnonzero(present)]
        return pd.DataFrame(
            {
                "core_kind": [s[0] for s in split],
                "core": [s[1] for s in split],
                "space": [s[2] for s in split],
                "capacity": [self.capacity_of(s[2]) for s in split],
            }
        )

    # -- coverage: fragmentation and overlaps -------------------------------------------
    def coverage(self, gid: int) -> Coverage:
        """Free bytes, largest free block and overlap depth of one group after each
        ALLOC/FREE, replayed exactly over the group's elementary address intervals."""
        cached = self._coverage.get(gid)
        if cached is None:
            cached = self._coverage[gid] = self._replay(gid)
        return cached

    def _replay(self, gid: int) -> Coverage:
        part = self._group_slice(gid)
        rows = self._live["rows"][part]
        capacity = int(self._capacity_by_space[gid % 8])
        addr = self.column("addr")[rows]
        end = self._live["end"][part]
        sign = np.sign(self._live["delta"][part]).astype(np.int32)
        bounds = np.unique(np.concatenate([[0, capacity], addr, end]))
        if bounds.size > _MAX_INTERVALS and bounds.size * rows.size > _MAX_REPLAY_CELLS:
            return self._replay_sampled(gid, rows, capacity)
        first = np.searchsorted(bounds, addr)
        last = np.searchsorted(bounds, end)
        count = rows.size
        free = np.zeros(count, dtype=np.int64)
        largest = np.zeros(count, dtype=np.int64)
        run = np.zeros(count, dtype=np.int64)
        max_cover = np.zeros(count, dtype=np.int32)
        # One pass per elementary address interval (few per group), each over all
        # of the group's events: coverage is the running sum of the signed blocks
        # spanning the interval; free runs extend across uncovered intervals.
        for index in range(bounds.size - 1):
            spans = (first <= index) & (last > index)
            cover = np.cumsum(np.where(spans, sign, 0), dtype=np.int32)
            np.maximum(max_cover, cover, out=max_cover)
            if bounds[index + 1] > capacity:
                run[:] = 0
                continue
            width = int(bounds[index + 1] - bounds[index])
            empty = cover <= 0
            free += np.where(empty, width, 0)
            run = np.where(empty, run + width, 0)
            np.maximum(largest, run, out=largest)
        return Coverage(rows, self._live["live"][part], free, largest, max_cover)

    def _replay_sampled(self, gid: int, rows: np.ndarray, capacity: int) -> Coverage:
        """The replay for groups with very many distinct block boundaries: the state
        is rebuilt from the live blocks at up to ``_MAX_SAMPLES`` evenly spaced
        events and held until the next sample (overlaps between samples can be missed)."""
        blocks = self.blocks
        mine = np.flatnonzero(blocks.gid == gid)
        alloc, free_row = blocks.alloc_row[mine], blocks.free_row[mine]
        start, end = blocks.addr[mine], blocks.end[mine]
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
            edges = np.clip(np.concatenate([[0], reach]), 0, capacity)
            starts = np.clip(np.concatenate([lo, [capacity]]), 0, capacity)
            gaps = np.maximum(starts - np.maximum.accumulate(edges), 0)
            free[slot], largest[slot] = gaps.sum(), gaps.max(initial=0)
        held = np.searchsorted(picks, np.arange(rows.size), "right") - 1
        return Coverage(rows, self._live["live"][self._group_slice(gid)], free[held],
                        largest[held], cover[held])  # fmt: skip

    def fragmentation(self, core_kind: str, core: int, space: str) -> pd.DataFrame:
        """[t_ps, seq, free_bytes, largest_free, external] after every ALLOC/FREE of
        one core's space (below capacity); external = 1 - largest / free (0 if none free)."""
        cover = self.coverage(self._gid_of(core_kind, core, space))
        return pd.DataFrame(
            {
                "t_ps": self._display_times(cover.rows),
                "seq": self.column("seq")[cover.rows],
                "free_bytes": cover.free_bytes,
                "largest_free": cover.largest_free,
                "external": external_fragmentation(cover.free_bytes, cover.largest_free),
            }
        )

    @cached_property
    def group_ids(self) -> np.ndarray:
        """Groups with ALLOC/FREE events, on-chip only."""
        live = self._live
        gids = live["group_gids"]
        return gids[np.isin(gids % 8, ON_CHIP_CODES)]

    # -- block usage (first / last touch) ----------------------------------------------
    @cached_property
    def block_usage(self) -> BlockUsage:
        """First / last touch of every block (aligned with :attr:`blocks`) by COPY and
        COMPUTE events whose on-chip address falls inside it while it is live.

        A touch at a block's start address counts for the block allocated last at
        that address (if still live); other touches are matched to the live block
        containing them. (A touch at the start address of a freed block that lies
        inside another live block is not counted.)
        """
        blocks = self.blocks
        first = np.full(len(blocks), np.iinfo(np.int64).max, dtype=np.int64)
        last = np.full(len(blocks), -1, dtype=np.int64)
        touches = self.rows(EventKind.COPY, EventKind.COMPUTE)
        copies = touches[self.column("kind")[touches] == EventKind.COPY]
        for rows, space_column, addr_column in (
            (touches[np.isin(self.column("space")[touches], ON_CHIP_CODES)], "space", "addr"),
            (copies[np.isin(self.column("src_space")[copies], ON_CHIP_CODES)], "src_space",
             "src_addr"),
        ):  # fmt: skip
            gid, addr = self.gid(rows, space_column), self.column(addr_column)[rows]
            inside = self._usage_at_starts(gid, addr, rows, first, last)
            owner = self._attribute(gid[inside], addr[inside], rows[inside])
            hit = owner >= 0
            np.minimum.at(first, owner[hit], rows[inside][hit])
            np.maximum.at(last, owner[hit], rows[inside][hit])
        used = last >= 0
        first = np.where(used, first, -1)
        start, duration = self.column("start_ps"), self.column("dur_ps")
        safe_first, safe_last = np.where(used, first, 0), np.where(used, last, 0)
        return BlockUsage(
            first_row=first,
            last_row=last,
            first_ps=np.where(used, start[safe_first], -1),
            last_end_ps=np.where(used, start[safe_last] + duration[safe_last], -1),
        )

    def _usage_at_starts(self, gid: np.ndarray, addr: np.ndarray, rows: np.ndarray,
                         first: np.ndarray, last: np.ndarray) -> np.ndarray:  # fmt: skip
        """Fold the touches (rows ascending) that sit exactly at a block start into
        ``first``/``last``: per block, the first and last such touch between its
        allocation and its free. Returns the indices of the other touches."""
        blocks = self.blocks
        distinct = self._block_starts
        codes = lookup_codes((gid.astype(np.int64) << _ADDR_BITS) | addr, distinct)
        at_start = codes >= 0
        if not len(blocks) or not at_start.any():
            return np.flatnonzero(~at_start)
        codes, touch_rows = codes[at_start], rows[at_start]
        order = stable_order(codes, distinct.size)
        span = np.int64(len(self.events) + 1)
        touch_keys = codes[order] * span + touch_rows[order]
        touch_rows = touch_rows[order]
        block_codes = np.searchsorted(
            distinct, (blocks.gid.astype(np.int64) << _ADDR_BITS) | blocks.addr
        )
        until = np.where(blocks.free_row >= 0, blocks.free_row, span - 1)
        low = np.searchsorted(touch_keys, block_codes * span + blocks.alloc_row, "right")
        high = np.searchsorted(touch_keys, block_codes * span + until, "left")
        touched = np.flatnonzero(high > low)
        np.minimum.at(first, touched, touch_rows[low[touched]])
        np.maximum.at(last, touched, touch_rows[high[touched] - 1])
        return np.flatnonzero(~at_start)

    def _owner_check(self, block: np.ndarray, addr: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Whether each candidate block (-1: none) is live at ``rows`` and holds ``addr``."""
        blocks = self.blocks
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
        blocks = self.blocks
        return np.unique((blocks.gid.astype(np.int64) << _ADDR_BITS) | blocks.addr)

    def _attribute(self, gid: np.ndarray, addr: np.ndarray, rows: np.ndarray,
                   max_steps: int = 8) -> np.ndarray:  # fmt: skip
        """Index of the live block containing each (group, address) at each row, or -1.

        For touches inside a block (not at its start): tried against the latest
        block allocated at the nearest start at or below the address, then at the
        next lower start, up to ``max_steps`` starts back.
        """
        blocks = self.blocks
        owner = np.full(rows.size, -1, dtype=np.int64)
        if not len(blocks) or not rows.size:
            return owner
        start_key = (blocks.gid.astype(np.int64) << _ADDR_BITS) | blocks.addr
        order = np.argsort(start_key, kind="stable")
        sorted_keys = start_key[order]
        distinct = run_starts(sorted_keys)
        distinct_keys = sorted_keys[distinct]
        start_rank = np.repeat(np.arange(distinct.size), np.diff(np.append(distinct, order.size)))
        span = np.int64(len(self.events) + 1)
        combined = start_rank * span + blocks.alloc_row[order]
        touch_key = (gid.astype(np.int64) << _ADDR_BITS) | addr
        candidate = np.searchsorted(distinct_keys, touch_key, "right") - 1
        pending = np.arange(rows.size)
        for _ in range(max_steps):
            pending = pending[candidate[pending] >= 0]
            same_group = (distinct_keys[candidate[pending]] >> _ADDR_BITS) == gid[pending]
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

    # -- GM traffic and roofline -----------------------------------------------------
    @cached_property
    def gm_transfers(self) -> dict[str, np.ndarray]:
        """COPY events with a GM side as parallel arrays: rows, read (GM -> on-chip),
        gm_addr, bytes (moved), burst_len, burst_count, tensor (code), workspace."""
        copies = self.rows(EventKind.COPY)
        read = self.column("src_space")[copies] == Space.GM
        write = self.column("space")[copies] == Space.GM
        rows = copies[read | write]
        read = read[read | write]
        return {
            "rows": rows,
            "read": read,
            "gm_addr": np.where(read, self.column("src_addr")[rows], self.column("addr")[rows]),
            "bytes": self.column("aligned_size")[rows],
            "burst_len": self.column("burst_len")[rows],
            "burst_count": self.column("burst_count")[rows],
            "tensor": self.column("tensor")[rows],
            "workspace": (self.column("flags")[rows] & int(Flag.WORKSPACE)) != 0,
        }

    @cached_property
    def traffic(self) -> pd.DataFrame:
        """Per GM tensor and direction: tensor, direction, bytes, transfers,
        distinct_bytes, redundancy (bytes / distinct_bytes), small_transfers (bursts
        below the chip's efficient burst size), workspace (L2-resident core-to-core
        workspace: not HBM traffic)."""
        copies = self.gm_transfers
        key = copies["tensor"].astype(np.int64) * 2 + (~copies["read"]).astype(np.int64)
        size = int(key.max()) + 1 if key.size else 0
        moved = np.bincount(key, weights=copies["bytes"], minlength=size)
        transfers = np.bincount(key, minlength=size)
        small = np.bincount(
            key, weights=copies["burst_len"] < self.chip.efficient_burst_bytes, minlength=size
        )
        workspace = np.bincount(key, weights=copies["workspace"], minlength=size) > 0
        distinct = distinct_bytes(key, copies["gm_addr"], copies["bytes"],
                                  copies["burst_len"], copies["burst_count"], size)  # fmt: skip
        present = np.flatnonzero(transfers)
        names = self.labels("tensor")
        return pd.DataFrame(
            {
                "tensor": names[present // 2].astype(str),
                "direction": np.where(present % 2 == 0, "read", "write"),
                "bytes": moved[present].astype(np.int64),
                "transfers": transfers[present],
                "distinct_bytes": distinct[present],
                "redundancy": moved[present] / np.maximum(distinct[present], 1),
                "small_transfers": small[present].astype(np.int64),
                "workspace": workspace[present],
            }
        )

    @cached_property
    def roofline(self) -> dict[str, Any]:
        """flops, hbm_bytes, intensity (FLOP/B), ridge, peak_flops, bandwidth (B/s),
        modelled_time_ps, achieved_flops_per_s, bound ("memory" | "compute")."""
        flops = int(self.column("arg")[self.rows(EventKind.COMPUTE)].sum())
        traffic = self.traffic
        hbm = int(traffic.loc[~traffic["workspace"], "bytes"].sum()) if len(traffic) else 0
        chip = self.chip
        intensity = flops / hbm if hbm else float("inf") if flops else 0.0
        ridge = chip.ridge_flops_per_byte
        time_ps = self.modelled_time_ps
        return {
            "flops": flops,
            "hbm_bytes": hbm,
            "intensity": intensity,
            "ridge": ridge,
            "peak_flops": chip.peak_fp16_flops,
            "bandwidth": chip.gm_bandwidth,
            "modelled_time_ps": time_ps,
            "achieved_flops_per_s": flops / (time_ps * 1e-12) if time_ps else 0.0,
            "bound": "memory" if intensity < ridge else "compute",
        }

    # -- KV cache ----------------------------------------------------------------------
    @cached_property
    def kv_pages(self) -> pd.DataFrame:
        """[cache, page, sequence, tokens, page_bytes, t_alloc_ps, t_free_ps] per KV
        page handed out (tokens: the most the page held; t_free_ps -1 if never freed)."""
        allocs = self.rows(EventKind.KV_PAGE_ALLOC)
        frees = self.rows(EventKind.KV_PAGE_FREE)
        tensor, page = self.column("tensor"), self.column("addr")
        free_row = pair_fifo(
            (tensor[allocs].astype(np.int64) << _ADDR_BITS) | page[allocs],
            (tensor[frees].astype(np.int64) << _ADDR_BITS) | page[frees],
            allocs, frees,
        )  # fmt: skip
        freed = free_row >= 0
        safe = np.where(freed, free_row, 0)
        tokens = self.column("arg2")
        start = self.column("start_ps")
        return pd.DataFrame(
            {
                "cache": self.labels("tensor")[tensor[allocs]].astype(str),
                "page": page[allocs],
                "sequence": self.column("arg")[allocs],
                "tokens": np.where(
                    freed, np.maximum(tokens[allocs], tokens[safe]), tokens[allocs]
                ),  # fmt: skip
                "page_bytes": self.column("size")[allocs],
                "t_alloc_ps": start[allocs],
                "t_free_ps": np.where(freed, start[safe], -1),
            }
        )

    @cached_property
    def kv_usage(self) -> pd.DataFrame:
        """Per KV cache: pages handed out, slots_per_page, reserved_bytes, used_bytes
        (slots holding a token), partly_filled pages. Slots per page come from the
        trace parameters (block_size / page_size / tokens_per_page) or, failing
        that, the most tokens any page of that size held."""
        pages = self.kv_pages
        columns = ["cache", "pages", "slots_per_page", "reserved_bytes", "used_bytes",
                   "partly_filled"]  # fmt: skip
        if pages.empty:
            return pd.DataFrame(columns=columns)
        params = self.params
        declared = next(
            (int(params[k]) for k in ("block_size", "page_size", "tokens_per_page", "page_tokens")
             if isinstance(params.get(k), int) and params[k] > 0),
            None,
        )  # fmt: skip
        slots = (
            pd.Series(declared, index=pages.index)
            if declared
            else pages.groupby(["cache", "page_bytes"])["tokens"].transform("max").clip(lower=1)
        )
        tokens = pages["tokens"].clip(upper=slots)
        frame = pages.assign(
            slots=slots,
            used=tokens * pages["page_bytes"] // slots,
            partly=(tokens < slots) & (tokens > 0),
        )
        out = frame.groupby("cache", sort=True).agg(
            pages=("page", "size"),
            slots_per_page=("slots", "max"),
            reserved_bytes=("page_bytes", "sum"),
            used_bytes=("used", "sum"),
            partly_filled=("partly", "sum"),
        )
        return out.reset_index()[columns]

    def max_external(self, gid: int, min_free_fraction: float) -> tuple[float, int]:
        """Worst external fragmentation of a group over time and the row where it
        happened, counting only states with at least ``min_free_fraction`` of the
        capacity free (so a nearly full memory does not count as fragmented)."""
        cover = self.coverage(gid)
        capacity = int(self._capacity_by_space[gid % 8])
        external = external_fragmentation(cover.free_bytes, cover.largest_free)
        external = np.where(cover.free_bytes >= min_free_fraction * capacity, external, 0.0)
        if not external.size:
            return 0.0, -1
        worst = int(np.argmax(external))
        return float(external[worst]), int(cover.rows[worst])

    # -- findings ----------------------------------------------------------------------
    def location(self, rows: np.ndarray, **fields: Any) -> Location:
        """A Location for a set of event rows: kernel, core and space of the first,
        first/last seq; ``fields`` override or add (addr range, tag, tensor...)."""
        first, last = int(rows.min()), int(rows.max())
        seq = self.column("seq")
        core = int(self.column("core")[first])
        space = SPACE_LABELS[int(self.column("space")[first])]
        base: dict[str, Any] = {
            "kernel": self.kernel_of(first),
            "core": core if core >= 0 else None,
            "core_kind": CORE_KIND_LABELS[int(self.column("core_kind")[first])]
            if core >= 0
            else None,
            "space": space if space != "NONE" else None,
            "first_seq": int(seq[first]),
            "last_seq": int(seq[last]),
        }
        base.update(fields)
        return Location(**base)

    def site_groups(
        self,
        rows: np.ndarray,
        keys: tuple[str, ...] = ("tag", "core_kind"),
        *,
        addr: np.ndarray | None = None,
        space: np.ndarray | None = None,
        values: dict[str, np.ndarray] | None = None,
        critical: dict[str, np.ndarray] | None = None,
    ) -> pd.DataFrame:
        """Event rows (ascending) grouped by call site (``keys`` among tag, core_kind,
        space, tensor): per group the event count, first_row, last_row, cores
        (sorted list), addr_start/addr_end, tensor and where_space (of the first
        event), the sum of each ``values`` array and the critical-path part of each
        ``critical`` array (see :meth:`critical_path_sums`). ``addr`` and ``space``
        override the columns (e.g. the on-chip side of a copy)."""
        addr = self.column("addr")[rows] if addr is None else addr
        space = self.column("space")[rows] if space is None else space
        columns = {"space": space}
        parts = [columns[k] if k in columns else self.column(k)[rows] for k in keys]
        combined = np.zeros(rows.size, dtype=np.int64)
        for part in parts:
            combined = (combined << 21) | part.astype(np.int64)
        codes, count = dense_codes(combined)
        first = np.full(count, rows.size, dtype=np.int64)
        last = np.full(count, -1, dtype=np.int64)
        positions = np.arange(rows.size)
        np.minimum.at(first, codes, positions)
        np.maximum.at(last, codes, positions)
        low = np.full(count, np.iinfo(np.int64).max, dtype=np.int64)
        high = np.full(count, np.iinfo(np.int64).min, dtype=np.int64)
        np.minimum.at(low, codes, addr)
        np.maximum.at(high, codes, addr + np.maximum(self.column("aligned_size")[rows], 1))
        core = (self.column("core")[rows].astype(np.int64) + 1) & (_CORE_SPAN - 1)
        pairs = np.unique(codes.astype(np.int64) * _CORE_SPAN + core)
        cores: list[list[int]] = [[] for _ in range(count)]
        for pair in pairs.tolist():
            cores[pair // _CORE_SPAN].append(pair % _CORE_SPAN - 1)
        out = pd.DataFrame(
            {
                "events": np.bincount(codes, minlength=count),
                "first_row": rows[first] if rows.size else first,
                "last_row": rows[last] if rows.size else last,
                "addr_start": low,
                "addr_end": high,
                "cores": cores,
            }
        )
        labels = {"tag": self.labels("tag"), "tensor": self.labels("tensor"),
                  "core_kind": np.array(CORE_KIND_LABELS), "space": np.array(SPACE_LABELS)}  # fmt: skip
        for key, part in zip(keys, parts, strict=True):
            out[key] = labels[key][part[first]].astype(str) if rows.size else []
        out["tensor"] = (
            self.labels("tensor")[self.column("tensor")[rows[first]]].astype(str)
            if rows.size
            else []
        )
        out["where_space"] = np.array(SPACE_LABELS)[space[first]] if rows.size else []
        for name, array in (values or {}).items():
            sums = np.zeros(
                count,
                dtype=np.asarray(array).dtype if np.asarray(array).dtype.kind == "f" else np.int64,
            )
            np.add.at(sums, codes, array)
            out[name] = sums
        for name, array in (critical or {}).items():
            out[name] = self.critical_path_sums(rows, np.asarray(array, dtype=float), codes, count)
        return out.sort_values(list(keys), kind="stable").reset_index(drop=True)

    def critical_path_sums(
        self, rows: np.ndarray, saved_ps: np.ndarray, codes: np.ndarray, count: int
    ) -> np.ndarray:
        """Per group (``codes`` in 0..count-1, one per row), how much of the time
        ``saved_ps`` (per event) would come off the kernel's modelled time: the cores
        of a launch run side by side, so a launch shortens by at most the largest
        saving of one core; launches run one after another, so theirs add up. At
        most the modelled time."""
        if not rows.size:
            return np.zeros(count)
        firsts = self.launches["first_seq"].to_numpy()
        launch = np.maximum(np.searchsorted(firsts, self.column("seq")[rows], "right") - 1, 0)
        core = (self.column("core")[rows].astype(np.int64) + 1) & (_CORE_SPAN - 1)
        per_launch = codes.astype(np.int64) * max(1, len(firsts)) + launch
        kinds = len(CORE_KIND_LABELS)
        per_core = (per_launch * kinds + self.column("core_kind")[rows]) * _CORE_SPAN
        keys, inverse = np.unique(per_core + core, return_inverse=True)
        core_sums = np.bincount(inverse.ravel(), weights=saved_ps)
        launch_keys, launch_of = np.unique(keys // (kinds * _CORE_SPAN), return_inverse=True)
        worst = np.zeros(launch_keys.size)
        np.maximum.at(worst, launch_of.ravel(), core_sums)
        group = launch_keys // max(1, len(firsts))
        return np.minimum(np.bincount(group, weights=worst, minlength=count),
                          self.modelled_time_ps)  # fmt: skip

    def events_for(self, finding: Finding) -> np.ndarray:
        """Boolean mask over the events a finding points at: its seq range, core(s),
        space, address range, tag, tensor, and event kinds / flag named in its
        evidence (``event_kinds``, ``flag``)."""
        loc = finding.location
        mask = np.ones(len(self.events), dtype=bool)
        if loc.first_seq is None:
            return np.zeros(len(self.events), dtype=bool)
        seq = self.column("seq")
        mask &= (seq >= loc.first_seq) & (seq <= (loc.last_seq if loc.last_seq is not None
                                                  else loc.first_seq))  # fmt: skip
        evidence = finding.evidence
        cores = evidence.get("cores") or ([loc.core] if loc.core is not None else None)
        if cores is not None:
            mask &= np.isin(self.column("core"), cores)
        if loc.core_kind:
            mask &= self.column("core_kind") == CORE_KIND_LABELS.index(loc.core_kind)
        if loc.space:
            code = int(Space[loc.space])
            mask &= (self.column("space") == code) | (self.column("src_space") == code)
        for column, value in (("tag", loc.tag), ("tensor", loc.tensor)):
            if value:
                matches = np.flatnonzero(self.labels(column) == value)
                mask &= np.isin(self.column(column), matches)
        if evidence.get("event_kinds"):
            kinds = [KIND_LABELS.index(k) for k in evidence["event_kinds"]]
            mask &= np.isin(self.column("kind"), kinds)
        if evidence.get("flag"):
            mask &= (self.column("flags") & int(Flag[evidence["flag"]])) != 0
        if loc.addr_start is not None and loc.addr_end is not None and loc.space != "GM":
            addr = self.column("addr")
            reach = addr + np.maximum(self.column("aligned_size"), 1)
            src = self.column("src_addr")
            mask &= ((addr < loc.addr_end) & (reach > loc.addr_start)) | (
                (src >= loc.addr_start) & (src < loc.addr_end)
            )
        return mask


def external_fragmentation(free_bytes: np.ndarray, largest_free: np.ndarray) -> np.ndarray:
    """1 - largest free block / total free bytes (0 where nothing is free)."""
    free = np.asarray(free_bytes, dtype=np.float64)
    return np.where(free > 0, 1.0 - np.asarray(largest_free) / np.maximum(free, 1.0), 0.0)


def distinct_bytes(key: np.ndarray, start: np.ndarray, length: np.ndarray, burst_len: np.ndarray,
                   burst_count: np.ndarray, size: int) -> np.ndarray:  # fmt: skip
    """Bytes covered at least once per key.

    Single-burst transfers are exact intervals, merged per key; a multi-burst
    transfer's row pitch is not recorded, so it counts once per distinct
    (start, burst shape) — repeated identical strided loads are redundant,
    partly overlapping ones are not detected (never overstated).
    """
    out = np.zeros(size, dtype=np.int64)
    if not key.size:
        return out
    single = burst_count <= 1
    if single.any():
        skey, sstart, send = key[single], start[single], start[single] + length[single]
        base = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(base, skey, sstart)
        rel_start, rel_end = sstart - base[skey], send - base[skey]
        shift = max(1, int(rel_end.max()).bit_length())
        if shift + max(1, size.bit_length()) < 63:
            order = np.argsort((skey.astype(np.int64) << shift) | rel_start)
        else:
            order = np.lexsort((rel_start, skey))
        skey, rel_start, rel_end = skey[order], rel_start[order], rel_end[order]
        group_first = np.r_[True, skey[1:] != skey[:-1]]
        # running max of ends within each key (keys are separated by resetting at group starts)
        shifted = np.where(group_first, -1, np.r_[-1, rel_end[:-1]])
        reach = _segmented_cummax(shifted, group_first)
        covered = np.maximum(0, rel_end - np.maximum(rel_start, reach))
        np.add.at(out, skey, covered)
    multi = ~single
    if multi.any():
        shapes = pd.DataFrame(
            {
                "key": key[multi],
                "start": start[multi],
                "len": burst_len[multi],
                "count": burst_count[multi],
                "bytes": length[multi],
            }  # fmt: skip
        ).drop_duplicates(["key", "start", "len", "count"])
        np.add.at(out, shapes["key"].to_numpy(), shapes["bytes"].to_numpy())
    return out


def _segmented_cummax(values: np.ndarray, segment_first: np.ndarray) -> np.ndarray:
    """Running maximum that restarts at every True of ``segment_first``."""
    segment = np.cumsum(segment_first) - 1
    span = np.int64(values.max() - values.min() + 1) if values.size else np.int64(1)
    lifted = values + segment.astype(np.int64) * span
    return np.maximum.accumulate(lifted) - segment.astype(np.int64) * span
