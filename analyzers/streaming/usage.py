"""Block touches and idle time, batch by batch, for the rules that judge how a
block was used (UB009 allocated-too-early, UB010 freed-too-late, UB011
unused-allocation).

The state is the live blocks with their first and last touch so far, so
memory follows what is allocated at once. Each batch's copies and computes are
attributed to the blocks live in it exactly as over the whole trace
(:func:`~ubscope.analyzers.model.touches.first_last_touches`, with the carried
blocks opened before the batch); a block is judged when it ends, by the rules'
own tests, and only the blocks a rule flags are recorded, with their ALLOC
events. The analysis of the kept events then reads each recorded block's life
and touches from here; any other kept block reads as touched at once and
ended at its allocation, which none of the three rules flags.

UB011 tells the spare buffer of a queue by the queue's first block, the one
``queue_block`` places before it: the ALLOC events of each queue block and the
blocks before it back to that first one are kept too (from the last
:data:`QUEUE_TAIL` allocations of earlier batches where the queue straddles
batches), so that they stand in the same order among the kept blocks.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ubscope.analyzers.model.arrays import ON_CHIP_CODES, group_id
from ubscope.analyzers.model.blocks import BlockLives
from ubscope.analyzers.model.touches import (
    LATER_SOURCES,
    BlockUsage,
    Touches,
    first_last_touches,
    holding,
)
from ubscope.analyzers.rules.base import Rule
from ubscope.analyzers.rules.ub.idle import IdleRule
from ubscope.analyzers.streaming.decoded import DecodedBatch
from ubscope.analyzers.streaming.kept import KEPT_LIMIT, OpenAllocations
from ubscope.analyzers.streaming.occupancy import RunningOccupancy
from ubscope.analyzers.streaming.spans import LiveBlocks, batch_spans
from ubscope.probe.event_table import any_of
from ubscope.probe.events import EventKind

_EMPTY = np.zeros(0, dtype=np.int64)
# earlier allocations held for queues that straddle batches: far more buffers
# than a queue position takes (4 on the chips in the reference)
QUEUE_TAIL = 64
UNUSED_RULE = "UB011"
_FIELDS = ("seq", "gid", "addr", "end", "t_alloc", "first_ps", "last_end_ps")
_RECORDED = ("seq", "t_alloc", "t_end", "freed", "first_ps", "last_end_ps")


class RunningBlockUsage:
    """The live blocks' touches so far, and the blocks the usage rules flag."""

    def __init__(self, rules: list[Rule]):
        self.idle_rules = [rule for rule in rules if isinstance(rule, IdleRule)]
        self.judges_unused = any(rule.code == UNUSED_RULE for rule in rules)
        self.active = bool(self.idle_rules) or self.judges_unused
        self.limit = KEPT_LIMIT // 4
        self.dropped = False  # past the limit: later blocks are neither recorded nor kept
        self.end_ps = 0  # the latest modelled time so far (as LaunchModel.modelled_end_ps)
        self._live = {name: _EMPTY for name in _FIELDS}
        self._recorded: list[dict[str, np.ndarray]] = []
        self._kept = 0  # blocks recorded and ALLOC events kept
        self.events: list[pa.RecordBatch] = []  # the kept ALLOC events
        self._tail: pa.Table | None = None  # the last QUEUE_TAIL ALLOC events

    def add(
        self,
        decoded: DecodedBatch,
        occupancy: RunningOccupancy,
        open_allocations: OpenAllocations,
    ) -> None:
        """One batch, after ``occupancy`` paired its blocks and before
        ``open_allocations`` lets go of the ALLOC events of the blocks it ended."""
        batch, kind, columns = decoded.batch, decoded.kind, decoded.columns
        start, duration = columns["start_ps"], columns["dur_ps"]
        if kind.size:
            ends = np.where(kind == EventKind.KERNEL_END, start, start + duration)
            self.end_ps = max(self.end_ps, int(ends.max()))
        if not self.active:
            return
        live, carried = self._live, self._live["seq"].size
        current = batch_spans(
            LiveBlocks(live["seq"], live["gid"], live["addr"], live["end"]), occupancy
        )
        spans, alloc_rows, free_row = current.spans, current.alloc_rows, current.spans.free_row
        blocks = {
            "seq": current.seq,
            "gid": spans.gid,
            "addr": spans.addr,
            "end": spans.end,
            "t_alloc": np.r_[live["t_alloc"], start[alloc_rows]],
            "first_ps": np.r_[live["first_ps"], np.full(alloc_rows.size, -1)],
            "last_end_ps": np.r_[live["last_end_ps"], np.full(alloc_rows.size, -1)],
        }
        touches = batch_touches(decoded)
        first, last = first_last_touches(spans, touches, kind.size)
        newly = (first >= 0) & (blocks["first_ps"] < 0)
        blocks["first_ps"][newly] = start[first[newly]]
        touched = last >= 0
        blocks["last_end_ps"][touched] = start[last[touched]] + duration[last[touched]]
        ended = np.flatnonzero(free_row >= 0)
        t_end = np.maximum(start[free_row[ended]], blocks["t_alloc"][ended])
        flagged = ended[self._record({k: v[ended] for k, v in blocks.items()}, t_end, True)]
        earlier = flagged[flagged < carried]
        self.events += open_allocations.events(blocks["seq"][earlier])
        own = alloc_rows[flagged[flagged >= carried] - carried]
        if own.size:
            self.events.append(batch.take(pa.array(own)))
        if self.judges_unused:
            self._keep_queues(batch, alloc_rows, columns["arg"])
        still = free_row < 0
        self._live = {name: values[still] for name, values in blocks.items()}

    def finish(self) -> None:
        """Judges the blocks live at the end (their ALLOC events are kept as
        :meth:`OpenAllocations.batches`), as living until the trace's end."""
        live = self._live
        if self.active and live["seq"].size:
            self._record(live, np.maximum(live["t_alloc"], self.end_ps), False)
        self._live = {name: _EMPTY for name in _FIELDS}

    def _record(self, ended: dict[str, np.ndarray], t_end: np.ndarray, freed: bool) -> np.ndarray:
        """Judges ended blocks by the rules' own tests; records those flagged
        and returns which they were (none past the limit)."""
        lives = BlockLives(ended["t_alloc"], t_end, np.full(t_end.size, freed))
        flagged = ended["last_end_ps"] < 0 if self.judges_unused else np.zeros(t_end.size, bool)
        for rule in self.idle_rules:
            flagged |= rule.flagged(*rule.idle_of(lives, ended["first_ps"], ended["last_end_ps"]))
        if not self._room(int(flagged.sum())):
            return np.zeros(t_end.size, dtype=bool)
        self._recorded.append(
            {
                "seq": ended["seq"][flagged],
                "t_alloc": ended["t_alloc"][flagged],
                "t_end": t_end[flagged],
                "freed": lives.freed[flagged],
                "first_ps": ended["first_ps"][flagged],
                "last_end_ps": ended["last_end_ps"][flagged],
            }
        )
        return flagged

    def _room(self, count: int) -> bool:
        """Whether ``count`` more blocks or events fit under the limit (counts them)."""
        if not count:
            return True
        if self.dropped or self._kept + count > self.limit:
            self.dropped = True
            return False
        self._kept += count
        return True

    def _keep_queues(self, batch: pa.RecordBatch, alloc_rows: np.ndarray, arg: np.ndarray) -> None:
        """Keeps the ALLOC events of each queue block of the batch and of the
        blocks before it back to its queue's first, then holds the last
        :data:`QUEUE_TAIL` allocations for the next batch."""
        if not alloc_rows.size:
            return
        queue_block = np.minimum(arg[alloc_rows], QUEUE_TAIL)
        later = np.flatnonzero(queue_block > 0)
        # from the first allocation a queue block here reaches back to, or the
        # last QUEUE_TAIL ones for the next batch
        first = max(alloc_rows.size - QUEUE_TAIL, 0)
        if later.size:
            first = min(first, max(int((later - queue_block[later]).min()), 0))
        allocs = pa.Table.from_batches([batch.take(pa.array(alloc_rows[first:]))])
        carried = 0 if self._tail is None else self._tail.num_rows
        held = allocs if self._tail is None else pa.concat_tables([self._tail, allocs])
        if later.size:
            position = later - first + carried
            steps = np.zeros(held.num_rows + 1, dtype=np.int64)
            np.add.at(steps, np.maximum(position - queue_block[later], 0), 1)
            np.add.at(steps, position + 1, -1)
            wanted = np.cumsum(steps)[:-1] > 0
            if self._room(int(wanted.sum())):
                self.events += held.filter(pa.array(wanted)).to_batches()
        self._tail = held.slice(max(held.num_rows - QUEUE_TAIL, 0))

    def lives_and_usage(
        self, alloc_seq: np.ndarray, alloc_row: np.ndarray, t_alloc: np.ndarray
    ) -> tuple[BlockLives, BlockUsage]:
        """The life and touches of the kept blocks allocated at ``alloc_seq``
        (their ALLOC rows and times among the kept events): recorded blocks as
        recorded, with their ALLOC row standing for their touches' rows; any
        other block as touched at once and ended at its allocation."""
        recorded = {
            name: np.concatenate([part[name] for part in self._recorded])
            if self._recorded
            else _EMPTY
            for name in _RECORDED
        }
        order = np.argsort(recorded["seq"], kind="stable")
        recorded = {name: values[order] for name, values in recorded.items()}
        at = np.minimum(np.searchsorted(recorded["seq"], alloc_seq), max(order.size - 1, 0))
        known = (recorded["seq"][at] == alloc_seq) if order.size else np.zeros(alloc_seq.size, bool)

        def pick(name: str, otherwise: np.ndarray) -> np.ndarray:
            return np.where(known, recorded[name][at], otherwise) if order.size else otherwise

        first_ps, last_end_ps = pick("first_ps", t_alloc), pick("last_end_ps", t_alloc)
        touched_row = np.where(last_end_ps >= 0, alloc_row, -1)
        lives = BlockLives(
            pick("t_alloc", t_alloc),
            pick("t_end", t_alloc),
            pick("freed", np.ones(alloc_seq.size, dtype=bool)).astype(bool),
        )
        return lives, BlockUsage(touched_row, touched_row, first_ps, last_end_ps)


def batch_touches(decoded: DecodedBatch) -> list[Touches]:
    """The batch's on-chip destinations of copies and computes, then their
    on-chip sources, first, second and third (as :class:`TouchModel` takes them)."""
    _, kind, space, src_space, core_kind, core, columns = decoded
    work = np.flatnonzero((kind == EventKind.COPY) | (kind == EventKind.COMPUTE))
    into = work[any_of(space[work], ON_CHIP_CODES)]
    out_of = work[any_of(src_space[work], ON_CHIP_CODES)]
    touches = [
        Touches(group_id(core_kind[into], core[into], space[into]), columns["addr"][into], into)
    ]
    flags = columns["flags"][out_of]
    for rows, column in (
        (out_of, "src_addr"),
        *((out_of[holding(flags, source)], source.column) for source in LATER_SOURCES),
    ):
        touches.append(
            Touches(
                group_id(core_kind[rows], core[rows], src_space[rows]), columns[column][rows], rows
            )
        )
    return touches
