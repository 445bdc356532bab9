"""UB013's single-buffered blocks and the GM copies through them, batch by batch.

A block belongs to one launch: its ``InitBuffer(que, 1, len)`` and the copies
of that launch whose on-chip side falls in it (found with the in-memory
model's :class:`~ubscope.analyzers.model.single_buffered.BlockIndex` over the
blocks of the launches still running). Each block's copies (start, pipe time
and role: 17 B each, the role telling a fill its block held back from the
others by the latest end of the block's touches so far, one integer a block)
are carried, and its core's busy runs held from its earliest carried copy on
(:mod:`ubscope.analyzers.streaming.busy`);
:func:`~ubscope.analyzers.model.single_buffered.block_savings` finishes its
windows as over the whole trace when its launch ends or, past
:data:`EARLY_COPIES` carried copies, all but those of its last
:data:`OPEN_STAGES` stages, after which the copies and runs before them are
let go. Work recorded later that starts before finished windows would change
them: the pass then gives UB013 up, as where one core's launches overlap in
time (the in-memory model reads a core's busy time over all launches, the pass
each launch's own).

One difference: a copy is matched to the blocks whose InitBuffer came in its
batch or before, where the in-memory model also takes one set up later in the
same launch (a copy through a queue before the queue exists).
"""

from __future__ import annotations

import numpy as np

from ubscope.analyzers.model.arrays import group_id
from ubscope.analyzers.model.bursts import core_launch_keys
from ubscope.analyzers.model.single_buffered import (
    DRAIN,
    HELD_DRAIN,
    BlockIndex,
    BlockTiming,
    BlockTouches,
    SingleBufferedBlocks,
    block_savings,
    block_timing,
    copy_roles,
    gm_copies,
    landing_ps,
    single_buffered,
    stage_firsts,
)
from ubscope.analyzers.streaming.busy import RunningBusy
from ubscope.analyzers.streaming.decoded import DecodedBatch
from ubscope.analyzers.streaming.usage import batch_touches
from ubscope.probe.chip import ChipProfile
from ubscope.probe.events import EventKind, Space
from ubscope.probe.trace_info import batch_column

# A block carrying more copies than this has its earlier windows finished...
EARLY_COPIES = 4096
# ...all but those of its last stages: work of its core starting before them,
# or a copy of the block, later would change a finished window (UB013 is then
# given up), which no pipe runs that far out of program order
OPEN_STAGES = 64


class RunningSingleBuffered:
    """The single-buffered blocks seen so far, and the copies through those
    of the launches still running."""

    def __init__(self, chip: ChipProfile):
        self.chip = chip
        # per block, in the order their InitBuffer calls came
        self.init_seq: list[int] = []
        self.launch: list[int] = []
        self.gid: list[int] = []
        self.addr: list[int] = []
        self.position: list[int] = []
        self.transfers: list[int] = []
        self.saved_ps: list[float] = []
        self._size: list[int] = []
        self._open: list[int] = []  # blocks of the launches still running
        self._index = BlockIndex(*(np.zeros(0, dtype=np.int64),) * 4)
        # (start, pipe time, role: model.single_buffered.copy_roles)
        self._copies: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        self._released: dict[int, int] = {}  # block -> the latest end of a touch so far
        # block -> its drains (start, pipe time) no use of the block followed yet
        self._waiting: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        self._carried: dict[int, int] = {}  # copies carried per block
        self._look_at: dict[int, int] = {}  # carried copies past which to look again
        self._finished_until: dict[int, int] = {}  # block -> its windows finished up to
        self._read: dict[int, bool] = {}  # whether the block's first copy fills it
        self._core_launch: dict[int, int] = {}
        self.copies_out_of_order = False  # a copy came before windows already finished

    def add(self, decoded: DecodedBatch, launch: np.ndarray, busy: RunningBusy) -> None:
        """One batch (its rows' launches): call before the busy runs take its
        work, so a block's first copy holds them."""
        self._add_blocks(decoded, launch)
        if not self._open:
            return
        kind, space, src_space = decoded.kind, decoded.space, decoded.src_space
        columns = decoded.columns
        read = src_space == Space.GM
        rows = np.flatnonzero((kind == EventKind.COPY) & (read | (space == Space.GM)))
        read = read[rows]
        chip_space = np.where(read, space[rows], src_space[rows])
        gid = group_id(decoded.core_kind[rows], decoded.core[rows], chip_space)
        chip_addr = np.where(read, columns["addr"][rows], columns["src_addr"][rows])
        found = self._index.find(launch[rows], gid, chip_addr)
        hit = found >= 0
        rows, read, found = rows[hit], read[hit], found[hit]
        timing = self._timing(decoded, launch, found, rows, read)
        self._resolve_waiting(timing.first_use)
        if not rows.size:
            return
        blocks = np.array(self._open)[found]
        start, dur = columns["start_ps"][rows], columns["dur_ps"][rows]
        role = copy_roles(read, start, start + dur, timing)
        # a drain whose next use comes in a later batch waits for it
        waiting = ~read & (timing.next_use < 0)
        for block in np.unique(blocks).tolist():
            mine = blocks == block
            first = int(start[mine].min())
            if first < self._finished_until.get(block, first):
                self.copies_out_of_order = True
            ready, later = mine & ~waiting, mine & waiting
            self._carry(block, start[ready], dur[ready], role[ready])
            if later.any():
                self._waiting.setdefault(block, []).append((start[later], dur[later]))
            self._read.setdefault(block, bool(read[mine][0]))
            self.transfers[block] += int(mine.sum())
            busy.hold(self._core_launch[block], first)

    def _carry(self, block: int, start: np.ndarray, dur: np.ndarray, role: np.ndarray) -> None:
        self._copies.setdefault(block, []).append((start, dur, role))
        self._carried[block] = self._carried.get(block, 0) + start.size

    def _resolve_waiting(self, first_use: np.ndarray) -> None:
        """Carry the drains that waited for their block's next use, given
        ``first_use`` per open block: the start of its first use in this
        batch (-1: none yet, they wait on)."""
        for block, use in zip(self._open, first_use.tolist(), strict=True):
            if use >= 0 and block in self._waiting:
                self._carry_waiting(block, use)

    def _carry_waiting(self, block: int, use: int) -> None:
        """Carry a block's waiting drains, held if ``use`` started as one ended
        (-1: their launch ended, no use follows)."""
        for start, dur in self._waiting.pop(block, []):
            held = (start + dur == use) & (use >= 0)
            self._carry(block, start, dur, np.where(held, HELD_DRAIN, DRAIN).astype(np.int8))

    def _timing(
        self,
        decoded: DecodedBatch,
        launch: np.ndarray,
        found: np.ndarray,
        rows: np.ndarray,
        read: np.ndarray,
    ) -> BlockTiming:
        """The :func:`~ubscope.analyzers.model.single_buffered.block_timing` of
        the batch's copies (their open block, row and direction), each open block's
        latest touch carried on."""
        touch_block, touch_rows = [], []
        for touches in batch_touches(decoded):
            inside = self._index.find(launch[touches.rows], touches.gid, touches.addr)
            touch_block.append(inside[inside >= 0])
            touch_rows.append(touches.rows[inside >= 0])
        at = np.concatenate(touch_rows)
        columns = decoded.columns
        start = columns["start_ps"][at]
        before = np.array([self._released.get(block, -1) for block in self._open], dtype=np.int64)
        accesses = BlockTouches(
            np.concatenate(touch_block),
            at,
            start,
            start + columns["dur_ps"][at],
            gm_copies(decoded.kind[at], decoded.space[at], decoded.src_space[at]),
        )
        timing = block_timing(found, rows, read, accesses, before)
        for block, end in zip(self._open, timing.latest.tolist(), strict=True):
            self._released[block] = end
        return timing

    def finish_early(self, busy: RunningBusy) -> None:
        """Finish the earlier windows of the blocks carrying many copies, so a
        long launch carries a bounded tail of copies and busy runs (call after
        the busy runs took the batch's work)."""
        for block in self._open:
            if self._carried.get(block, 0) <= self._look_at.get(block, EARLY_COPIES):
                continue
            if block in self._waiting:  # the windows those drains end wait with them
                continue
            start, dur, role = self._carried_copies(block)
            landing = landing_ps(self.chip, self._read[block])
            firsts = stage_firsts(start, start + dur + landing)
            if firsts.size <= OPEN_STAGES + 1:
                # long stages: look again once the block carries twice as many
                self._look_at[block] = 2 * start.size
                continue
            self._look_at.pop(block, None)
            # the stage the finished windows end at; the ones after it stay open
            last, past = firsts[-OPEN_STAGES - 1], firsts[-OPEN_STAGES]
            core_launch = self._core_launch[block]
            if not busy.holds_given_up:
                self.saved_ps[block] += block_savings(
                    start[:past], dur[:past], role[:past], landing, busy.runs.coverage(core_launch)
                )
            self._copies[block] = [(start[last:], dur[last:], role[last:])]
            self._carried[block] = start.size - last
            # a copy starting before the next stage could change the last stage finished
            self._finished_until[block] = int(start[past])
            held = min(
                int(self._carried_copies(b)[0].min())
                for b in self._open
                if self._core_launch[b] == core_launch and self._carried.get(b, 0)
            )
            busy.read_up_to(core_launch, int(start[last]), held)

    def _carried_copies(self, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The block's carried copies (start, pipe time, role), by start."""
        copies = self._copies[block]
        if len(copies) > 1:
            start, dur, role = (np.concatenate(parts) for parts in zip(*copies, strict=True))
            copies = [(start, dur, role)]
            self._copies[block] = copies
        start, dur, role = copies[0]
        order = np.argsort(start, kind="stable")
        return start[order], dur[order], role[order]

    def _add_blocks(self, decoded: DecodedBatch, launch: np.ndarray) -> None:
        rows = np.flatnonzero(decoded.kind == EventKind.QUEUE_INIT)
        if not rows.size:
            return
        columns = decoded.columns
        position = batch_column(decoded.batch, "arg2").to_numpy()[rows]
        picked = single_buffered(columns["arg"][rows], position)
        rows, position = rows[picked], position[picked]
        if not rows.size:
            return
        core_kind, core, space = decoded.core_kind[rows], decoded.core[rows], decoded.space[rows]
        gid = group_id(core_kind, core, space)
        core_launch = core_launch_keys(launch[rows], core_kind, core)
        for index, row in enumerate(rows.tolist()):
            block = len(self.init_seq)
            self.init_seq.append(int(columns["seq"][row]))
            self.launch.append(int(launch[row]))
            self.gid.append(int(gid[index]))
            self.addr.append(int(columns["addr"][row]))
            self._size.append(int(columns["aligned_size"][row]))
            self.position.append(int(position[index]))
            self.transfers.append(0)
            self.saved_ps.append(0.0)
            self._core_launch[block] = int(core_launch[index])
            self._open.append(block)
        self._reindex()

    def _reindex(self) -> None:
        self._index = BlockIndex(
            *(
                np.array([values[block] for block in self._open], dtype=np.int64)
                for values in (self.launch, self.gid, self.addr, self._size)
            )
        )

    def end_launches_before(self, launch: int, busy: RunningBusy) -> None:
        """Finish the blocks of the launches before ``launch``: they are over
        (call before the busy runs sum those launches')."""
        ended = [block for block in self._open if self.launch[block] < launch]
        if not ended:
            return
        for block in ended:
            self._carry_waiting(block, -1)
            if self._carried.get(block, 0) and not busy.holds_given_up:
                start, dur, role = self._carried_copies(block)
                self.saved_ps[block] += block_savings(
                    start,
                    dur,
                    role,
                    landing_ps(self.chip, self._read[block]),
                    busy.runs.coverage(self._core_launch[block]),
                )
            for carried in (
                self._copies,
                self._released,
                self._carried,
                self._look_at,
                self._finished_until,
                self._read,
                self._core_launch,
            ):
                carried.pop(block, None)
        self._open = [block for block in self._open if self.launch[block] >= launch]
        self._reindex()

    def blocks(self, init_rows: np.ndarray) -> SingleBufferedBlocks:
        """The blocks in the in-memory model's order, given the rows of their
        InitBuffer calls (one per :attr:`init_seq`) in the kept events."""
        order = np.lexsort((self.init_seq, self.addr, self.gid, self.launch))
        return SingleBufferedBlocks(
            init_rows[order],
            np.array(self.position, dtype=np.int64)[order],
            np.array(self.transfers, dtype=np.int64)[order],
            np.array(self.saved_ps, dtype=float)[order],
        )
