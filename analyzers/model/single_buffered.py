"""Single-buffered GM-facing queue blocks, and what a second block would save (UB013).

A single block serialises its stages: the next tile's copy waits until the
block is released. Between two successive copy stages of the block on one core
(a window of length W) a second block lets the copy of one tile overlap
everything else the tile waits for: compute, other copies, the latency of a copy
in flight. The window shortens by at most:

* the copy stage that could move earlier: the next fill (issue to landed, for a
  copy-in) or this drain (for a copy-out);
* W minus the copy pipe's own time on this block (what else the tile waited for);
* W minus the busiest of the core's GM-read, GM-write and on-chip work in the
  window: no schedule beats the busiest pipe;
* W / 2: with two blocks, each still cycles through its copy and its use.

A second block helps only where the single block held the work back. A
window that ends in a fill counts only when that fill started the moment the
block's last use before it ended; one that started later waited for something
else (a busy pipe, a flag, the core that feeds it: a Matmul's next request,
say). A window between two drains (a VECOUT block's cycle) counts only when
the next use of the block after the first drain (the compute writing the next
tile) started the moment that drain ended. A window that ends in a drain of a
block that is filled too does not count: that drain waits for the data it
drains, not for the block.

The in-memory model here and the streamed pass
(:mod:`ubscope.analyzers.streaming.single_buffered`) find the blocks and their
copies with one :class:`BlockIndex` and finish each block with
:func:`block_savings`, so their figures agree to the last bit (every term above
is a whole or half picosecond, so sums of them are exact in any order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ubscope.analyzers.model.arrays import CORE_SPAN, interval_union, runs, stable_order
from ubscope.analyzers.model.bursts import work_kinds
from ubscope.analyzers.model.cached import cached_property
from ubscope.analyzers.model.groups import Groups
from ubscope.analyzers.model.launches import LaunchModel
from ubscope.analyzers.model.touches import Touches
from ubscope.analyzers.model.traffic import TrafficModel, segmented_cummax
from ubscope.probe.chip import ChipProfile
from ubscope.probe.costmodel import PS_PER_NS
from ubscope.probe.event_table import EventTable
from ubscope.probe.events import EventKind, Space
from ubscope.probe.memory.positions import TPosition

# Queue positions whose buffers GM copies go through.
GM_FACING = (TPosition.VECIN, TPosition.VECOUT, TPosition.A1, TPosition.B1)
# Those whose blocks GM copies fill; the others' (VECOUT) drain to GM.
FILLED_FROM_GM = (TPosition.VECIN, TPosition.A1, TPosition.B1)
# the kinds of work a core's pipes run side by side (model.bursts.work_kinds)
WORK_KINDS = 3


@dataclass(frozen=True)
class SingleBufferedBlocks:
    """The blocks of single-buffered GM-facing queues, by launch, core group
    and address (then program order): one per ``InitBuffer(que, 1, len)``."""

    init_rows: np.ndarray  # the QUEUE_INIT event's row
    position: np.ndarray  # its TPosition value
    transfers: np.ndarray  # GM copies into or out of the block
    saved_ps: np.ndarray  # what a second block would save on its core, summed over its windows


def single_buffered(num: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Which QUEUE_INIT events (their ``num`` and position) set up a single
    block that GM copies go through."""
    return (num == 1) & np.isin(position, [int(p) for p in GM_FACING])


class BlockIndex:
    """Address ranges of blocks, looked up by (launch, core group, address)."""

    def __init__(self, launch: np.ndarray, gid: np.ndarray, addr: np.ndarray, size: np.ndarray):
        group = _group_keys(launch, gid)
        self._groups = np.unique(group)
        # a block's key: its group's rank, then its address; of blocks at one
        # address the one set up last comes last, and a copy goes to it
        key = (np.searchsorted(self._groups, group) << 40) | addr.astype(np.int64)
        self._order = np.argsort(key, kind="stable")
        self._start = key[self._order]
        self._end = self._start + size[self._order]

    def address_range(self) -> tuple[int, int]:
        """The lowest start and the highest end of the blocks' addresses."""
        mask = (1 << 40) - 1
        if not self._start.size:
            return 0, 0
        return int((self._start & mask).min()), int(((self._end - 1) & mask).max()) + 1

    def find(self, launch: np.ndarray, gid: np.ndarray, addr: np.ndarray) -> np.ndarray:
        """Per copy (its launch, and the group and address of its on-chip side),
        the index of the block it moves through, or -1."""
        if not self._groups.size:
            return np.full(addr.size, -1, dtype=np.int64)
        group = _group_keys(launch, gid)
        rank = np.minimum(np.searchsorted(self._groups, group), self._groups.size - 1)
        key = (rank << 40) | addr.astype(np.int64)
        slot = np.searchsorted(self._start, key, "right") - 1
        safe = np.maximum(slot, 0)
        hit = (self._groups[rank] == group) & (slot >= 0) & (key < self._end[safe])
        return np.where(hit, self._order[safe], -1)


def _group_keys(launch: np.ndarray, gid: np.ndarray) -> np.ndarray:
    # a group id stays below 2**22 (model.arrays.group_id)
    return (launch.astype(np.int64) << 22) | gid.astype(np.int64)


class Coverage(NamedTuple):
    """Disjoint intervals (by start) and the time they cover before each one."""

    starts: np.ndarray
    ends: np.ndarray
    before: np.ndarray

    @classmethod
    def of(cls, starts: np.ndarray, ends: np.ndarray) -> Coverage:
        """The coverage of disjoint ``[starts, ends)`` (ascending)."""
        before = np.r_[0, np.cumsum(ends - starts)[:-1]] if starts.size else starts
        return cls(starts, ends, before)

    def within(self, window_start: np.ndarray, window_end: np.ndarray) -> np.ndarray:
        """Time covered inside each window."""
        if not self.starts.size:
            return np.zeros(window_start.size, dtype=np.int64)
        return self._up_to(window_end) - self._up_to(window_start)

    def _up_to(self, t: np.ndarray) -> np.ndarray:
        index = np.searchsorted(self.starts, t, "right") - 1
        safe = np.maximum(index, 0)
        inside = np.clip(t - self.starts[safe], 0, self.ends[safe] - self.starts[safe])
        return np.where(index >= 0, self.before[safe] + inside, 0)


# What a GM copy through a block is (block_savings): a fill (GM -> chip) or a
# drain (chip -> GM), each either held back by the single block or not (see
# the module's doc).
FILL, HELD_FILL, DRAIN, HELD_DRAIN = 0, 1, 2, 3


def copy_roles(
    read: np.ndarray, start: np.ndarray, end: np.ndarray, timing: BlockTiming
) -> np.ndarray:
    """Per GM copy through a block (whether it fills the block, its start and
    end, and the block's :func:`block_timing` around it), its role: a fill
    the block held started when the block's last use before it ended; a
    drain that held the block ended when the next use after it started."""
    held = np.where(read, start == timing.release, end == timing.next_use)
    return (np.where(read, FILL, DRAIN) + held).astype(np.int8)


class BlockTiming(NamedTuple):
    """A block's uses around each GM copy through it: before a fill, the
    latest end of its touches at earlier rows; after a drain, the start of
    its first touch at a later row that is no GM copy (-1: none, and for the
    other direction, which :func:`copy_roles` does not ask); per block, the
    latest end of all its touches and the start of its first touch that is no
    GM copy (-1: none)."""

    release: np.ndarray
    next_use: np.ndarray
    latest: np.ndarray
    first_use: np.ndarray


def block_timing(
    block: np.ndarray,
    rows: np.ndarray,
    read: np.ndarray,
    touches: BlockTouches,
    before: np.ndarray,
) -> BlockTiming:
    """:class:`BlockTiming` of copies (their block, row and whether they fill
    it) among the blocks' ``touches`` (any on-chip access inside one, the
    copies' own included), after ``before`` (per block, the latest end of its
    touches before these rows; -1: none)."""
    count = np.int64(before.size)
    span = np.int64(max(int(rows.max(initial=0)), int(touches.rows.max(initial=0))) + 2)
    # each block opens with a touch at row -1 ending at `before`
    blocks = np.concatenate([np.arange(count), touches.block])
    keys = blocks * span + np.concatenate([np.zeros(count, dtype=np.int64), touches.rows + 1])
    order = np.argsort(keys, kind="stable")
    keys, blocks = keys[order], blocks[order]
    ends = np.concatenate([before, touches.end])[order]
    latest = segmented_cummax(ends, np.r_[True, blocks[1:] != blocks[:-1]])
    block_ends = (np.arange(count) + 1) * span
    # the uses in key order: the sorted touches that are no GM copy
    use = np.concatenate([np.zeros(count, dtype=bool), ~touches.gm_copy])[order]
    use_keys = keys[use]
    use_start = np.concatenate([before, touches.start])[order][use]
    # the copies searched by block, then row: ascending queries sweep the keys
    # once, where program order jumps between blocks (0.155 s against 0.072 s
    # for 2.7 M copies among 6.4 M touches)
    by_block = stable_order(block, int(count))
    copy_keys = block[by_block] * span + rows[by_block] + 1
    filling = read[by_block]
    fills, drains = by_block[filling], by_block[~filling]
    fill_keys, drain_keys = copy_keys[filling], copy_keys[~filling]

    def first_use_after(query: np.ndarray, limit: np.ndarray) -> np.ndarray:
        if not use_keys.size:
            return np.full(query.size, -1, dtype=np.int64)
        at = np.searchsorted(use_keys, query, "right")
        safe = np.minimum(at, use_keys.size - 1)
        return np.where((at < use_keys.size) & (use_keys[safe] < limit), use_start[safe], -1)

    release, next_use = np.full_like(copy_keys, -1), np.full_like(copy_keys, -1)
    release[fills] = latest[np.searchsorted(keys, fill_keys, "left") - 1]
    next_use[drains] = first_use_after(drain_keys, (block[drains] + 1) * span)
    return BlockTiming(
        release,
        next_use,
        latest[np.searchsorted(keys, block_ends, "left") - 1],
        first_use_after(np.arange(count) * span, block_ends),
    )


class BlockTouches(NamedTuple):
    """On-chip accesses inside the blocks: each one's block, row, start and
    end, and whether it is a GM copy (a fill or a drain of its block)."""

    block: np.ndarray
    rows: np.ndarray
    start: np.ndarray
    end: np.ndarray
    gm_copy: np.ndarray


def gm_copies(kind: np.ndarray, space: np.ndarray, src_space: np.ndarray) -> np.ndarray:
    """Which events (their kind, space and source space codes) copy to or from GM."""
    return (kind == EventKind.COPY) & ((space == Space.GM) | (src_space == Space.GM))


def block_savings(
    start: np.ndarray,
    duration: np.ndarray,
    role: np.ndarray,
    landing_ps: int,
    busy: Sequence[Coverage],
) -> float:
    """What a second block saves, summed over the windows between the copy
    stages of one block on one core: its GM copies (``start``, ``duration``,
    :func:`copy_roles`, in program order) and, per kind of work, the time the
    core's copies and computes cover (``busy``). A copy-in's data lands
    ``landing_ps`` after its pipe time (0 for a copy-out)."""
    order = np.argsort(start, kind="stable")
    start, duration, role = start[order], duration[order], role[order]
    done = start + duration + landing_ps
    firsts = stage_firsts(start, done)
    if firsts.size < 2:
        return 0.0
    # a fill stage was held back if its first fill was (the others follow it on
    # the pipe); a drain stage held the block if its last drain did
    first_role = role[firsts]
    drains = first_role >= DRAIN
    held_drains = np.maximum.reduceat(role == HELD_DRAIN, firsts)
    counted = (first_role[1:] == HELD_FILL) | (drains[1:] & drains[:-1] & held_drains[:-1])
    stage_start = start[firsts]
    stage_time = np.maximum.reduceat(done, firsts) - stage_start
    stage_pipe = np.add.reduceat(duration, firsts)
    window_start, window_end = stage_start[:-1], stage_start[1:]
    window = window_end - window_start
    movable = stage_time[1:] if landing_ps else stage_time[:-1]
    busiest = np.max([kind.within(window_start, window_end) for kind in busy], axis=0)
    saved = np.minimum.reduce([movable, window - stage_pipe[:-1], window - busiest, window / 2])
    return float(np.maximum(saved, 0.0)[counted].sum())


def stage_firsts(start: np.ndarray, done: np.ndarray) -> np.ndarray:
    """The first copy of each copy stage of one block (copies by start, with
    the time each one's data is done): back-to-back copies into (or out of)
    the block belong to one stage."""
    if not start.size:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, start[1:] > np.maximum.accumulate(done)[:-1]])


def landing_ps(chip: ChipProfile, read: bool) -> int:
    """How long after its pipe time a copy's data lands: the GM latency for a
    copy-in, nothing for a copy-out."""
    return round(chip.gm_latency_ns * PS_PER_NS) if read else 0


class _Queues(NamedTuple):
    """The single-buffered queues' QUEUE_INIT rows, their position, launch,
    core group and address, and the index of their blocks."""

    rows: np.ndarray
    position: np.ndarray
    launch: np.ndarray
    gid: np.ndarray
    address: np.ndarray
    blocks: BlockIndex


class SingleBufferModel:
    """The single-buffered blocks of a whole trace."""

    def __init__(
        self,
        table: EventTable,
        chip: ChipProfile,
        groups: Groups,
        launches: LaunchModel,
        traffic: TrafficModel,
        touch_sets: Callable[[], Iterable[Touches]],
    ):
        self.table = table
        self.chip = chip
        self.groups = groups
        self.launch_model = launches
        self.traffic_model = traffic
        self.touch_sets = touch_sets

    @cached_property
    def single_buffered(self) -> SingleBufferedBlocks:
        """:class:`SingleBufferedBlocks` over every launch."""
        table = self.table
        queues = self._queues
        rows, index = queues.rows, queues.blocks
        if not rows.size:
            none = np.zeros(0, dtype=np.int64)
            return SingleBufferedBlocks(rows, none, none, np.zeros(0))
        moves = self.traffic_model.gm_transfers
        copies, read = moves["rows"], moves["read"]
        block = index.find(
            self.launch_model.launch_of(copies),
            np.where(read, self.groups.gid(copies), self.groups.gid(copies, "src_space")),
            np.where(read, table.column("addr")[copies], table.column("src_addr")[copies]),
        )
        hit = block >= 0
        block, copies, read = block[hit], copies[hit], read[hit]
        transfers = np.bincount(block, minlength=rows.size)
        timing = block_timing(block, copies, read, self.block_touches, np.full(rows.size, -1))
        start = table.column("start_ps")[copies]
        role = copy_roles(read, start, start + table.column("dur_ps")[copies], timing)
        saved = self._savings(block, copies, role, read, rows.size)
        order = np.lexsort((rows, queues.address, queues.gid, queues.launch))
        return SingleBufferedBlocks(
            rows[order], queues.position[order], transfers[order], saved[order]
        )

    def prepare(self) -> None:
        """Compute the on-chip accesses inside the blocks and the cores' busy
        time, the parts of :attr:`single_buffered` that rest on no rule's
        data, so another thread can compute them meanwhile (nothing to do
        without single-buffered queues)."""
        if self._queues.rows.size:
            self.block_touches  # noqa: B018
            self.busy  # noqa: B018

    @cached_property
    def _queues(self) -> _Queues:
        inits = self.table.queue_inits()
        picked = single_buffered(inits.num, inits.position)
        rows = inits.rows[picked]
        launch = self.launch_model.launch_of(rows)
        gid = self.groups.gid(rows)
        address = inits.address[picked]
        index = BlockIndex(launch, gid, address, inits.block_bytes[picked])
        return _Queues(rows, inits.position[picked], launch, gid, address, index)

    @cached_property
    def busy(self) -> BusyTime:
        """What each core's work covers, by kind of work."""
        return BusyTime(self.table)

    @cached_property
    def block_touches(self) -> BlockTouches:
        """The on-chip accesses inside the blocks."""
        index, block_gids = self._queues.blocks, self._queues.gid
        found_block, found_rows = [], []
        lowest, highest = index.address_range()
        for touches in self.touch_sets():
            near = np.flatnonzero(
                (touches.addr >= lowest)
                & (touches.addr < highest)
                & np.isin(touches.gid, block_gids)
            )
            rows = touches.rows[near]
            block = index.find(
                self.launch_model.launch_of(rows), touches.gid[near], touches.addr[near]
            )
            # in the table's row type and 32 bits: millions of them, kept while
            # the other thread's rules run
            found_block.append(block[block >= 0].astype(np.int32))
            found_rows.append(rows[block >= 0])
        rows = np.concatenate(found_rows)
        column = self.table.column
        start = column("start_ps")[rows]
        return BlockTouches(
            np.concatenate(found_block),
            rows,
            start,
            start + column("dur_ps")[rows],
            gm_copies(column("kind")[rows], column("space")[rows], column("src_space")[rows]),
        )

    def _savings(
        self, block: np.ndarray, copies: np.ndarray, role: np.ndarray, read: np.ndarray, count: int
    ) -> np.ndarray:
        """Per block (``count`` of them), :func:`block_savings` of the copies
        (rows, in program order) through it."""
        saved = np.zeros(count)
        if not block.size:
            return saved
        table = self.table
        busy = self.busy
        by_block = np.argsort(block, kind="stable")
        for lo, hi in runs(block[by_block]):
            mine = copies[by_block[lo:hi]]
            saved[block[by_block[lo]]] = block_savings(
                table.column("start_ps")[mine],
                table.column("dur_ps")[mine],
                role[by_block[lo:hi]],
                landing_ps(self.chip, bool(read[by_block[lo]])),
                busy.of_core(int(core_keys(table, mine[:1])[0])),
            )
        return saved


class BusyTime:
    """Per core, the time covered by its GM reads, its GM writes and its
    on-chip work (computes and on-chip copies), as disjoint intervals."""

    def __init__(self, table: EventTable):
        rows = table.rows(EventKind.COPY, EventKind.COMPUTE)
        start = table.column("start_ps")[rows]
        end = start + table.column("dur_ps")[rows]
        lasting = end > start
        kinds = work_kinds(table.column("space")[rows], table.column("src_space")[rows])
        key = (core_keys(table, rows) * WORK_KINDS + kinds)[lasting]
        start, end = start[lasting], end[lasting]
        order = np.argsort(key, kind="stable")
        key, start, end = key[order], start[order], end[order]
        self._unions: dict[int, Coverage] = {}
        for lo, hi in runs(key):
            self._unions[int(key[lo])] = Coverage.of(*interval_union(start[lo:hi], end[lo:hi]))

    def of_core(self, core: int) -> list[Coverage]:
        """The coverage of each kind of work of one core (its :func:`core_keys` key)."""
        empty = Coverage.of(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        return [self._unions.get(core * WORK_KINDS + kind, empty) for kind in range(WORK_KINDS)]


def core_keys(table: EventTable, rows: np.ndarray) -> np.ndarray:
    """One key per (core kind, core) of each event row."""
    core = (table.column("core")[rows].astype(np.int64) + 1) & (CORE_SPAN - 1)
    return table.column("core_kind")[rows].astype(np.int64) * CORE_SPAN + core
