"""Writes past the end of their block (UB014), batch by batch.

The state is the live blocks (ALLOC seq, group, address range), so memory
follows what is allocated at once. Each batch's copy and compute destinations
are judged against the blocks live in it, those carried in and the batch's
own, by the in-memory model's own function
(:func:`~ubscope.analyzers.model.overruns.find_overruns`). Each overrun is
recorded (its seq, the ALLOC seq of the block it started in and of the block
live past that block's end, the bytes past it); its event and those ALLOC
events are kept, each block's once. Past :attr:`RunningOverruns.limit`
recorded overruns later ones are not recorded, and a note says so.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ubscope.analyzers.model.arrays import group_id
from ubscope.analyzers.model.overruns import Overruns, destination_writes, find_overruns
from ubscope.analyzers.rules.base import Rule
from ubscope.analyzers.streaming.decoded import DecodedBatch
from ubscope.analyzers.streaming.kept import KEPT_LIMIT, OpenAllocations
from ubscope.analyzers.streaming.occupancy import RunningOccupancy
from ubscope.analyzers.streaming.spans import EMPTY, NO_BLOCKS, batch_spans
from ubscope.probe.events import EventKind

OVERRUN_RULE = "UB014"
_FIELDS = ("seq", "block_seq", "past_start", "past_end", "neighbour_seq")


class RunningOverruns:
    """The live blocks so far, and the writes past their block's end."""

    def __init__(self, rules: list[Rule], capacity_by_space: np.ndarray):
        self.active = any(rule.code == OVERRUN_RULE for rule in rules)
        self.capacity_by_space = capacity_by_space
        self.limit = KEPT_LIMIT // 4
        self.dropped = False  # past the limit: later overruns are not recorded
        self._live = NO_BLOCKS
        self._found: list[dict[str, np.ndarray]] = []
        self._count = 0
        self._kept_blocks = EMPTY  # ALLOC seq of the blocks whose event is kept, sorted
        self.events: list[pa.RecordBatch] = []  # their ALLOC events

    def add(
        self,
        decoded: DecodedBatch,
        occupancy: RunningOccupancy,
        open_allocations: OpenAllocations,
    ) -> np.ndarray:
        """One batch, after ``occupancy`` paired its blocks and before
        ``open_allocations`` lets go of the ALLOC events of the blocks it
        ended; returns the batch rows of the overruns recorded, to keep."""
        if not self.active:
            return EMPTY
        current = batch_spans(self._live, occupancy)
        self._live = current.still_live()
        kind, space, columns = decoded.kind, decoded.space, decoded.columns
        rows = np.flatnonzero((kind == EventKind.COPY) | (kind == EventKind.COMPUTE))
        writes = destination_writes(
            group_id(decoded.core_kind[rows], decoded.core[rows], space[rows]),
            space[rows],
            columns["addr"][rows],
            columns["aligned_size"][rows],
            rows,
            self.capacity_by_space,
        )
        index, block, neighbour = find_overruns(current.spans, writes, kind.size)
        if not index.size or self.dropped:
            return EMPTY
        room = self.limit - self._count
        if index.size > room:
            self.dropped = True
            index, block, neighbour = index[:room], block[:room], neighbour[:room]
        self._count += index.size
        rows, spans, seq = writes.rows[index], current.spans, current.seq
        self._found.append(
            {
                "seq": columns["seq"][rows],
                "block_seq": seq[block],
                "past_start": spans.end[block],
                "past_end": writes.end[index],
                "neighbour_seq": np.where(neighbour >= 0, seq[np.maximum(neighbour, 0)], -1),
            }
        )
        self._keep_allocations(
            decoded.batch, open_allocations, current.alloc_rows, seq, np.r_[block, neighbour]
        )
        return rows

    def _keep_allocations(
        self,
        batch: pa.RecordBatch,
        open_allocations: OpenAllocations,
        alloc_rows: np.ndarray,
        seq: np.ndarray,
        blocks: np.ndarray,
    ) -> None:
        """Keeps the ALLOC events of ``blocks`` (indices into the batch's
        spans, -1: none) not kept yet: a carried block's from the held open
        allocations, the batch's own from the batch."""
        blocks = np.unique(blocks[blocks >= 0])
        blocks = blocks[~np.isin(seq[blocks], self._kept_blocks)]
        if not blocks.size:
            return
        self._kept_blocks = np.union1d(self._kept_blocks, seq[blocks])
        carried = seq.size - alloc_rows.size
        earlier = seq[blocks[blocks < carried]]
        if earlier.size:
            self.events += open_allocations.events(earlier)
        own = alloc_rows[blocks[blocks >= carried] - carried]
        if own.size:
            self.events.append(batch.take(pa.array(own)))

    def overruns(self, kept_seq: np.ndarray) -> Overruns:
        """The recorded overruns whose event was kept, at their rows among the
        kept events (sequence numbers ``kept_seq``, ascending)."""
        found = {
            name: np.concatenate([part[name] for part in self._found]) if self._found else EMPTY
            for name in _FIELDS
        }
        kept = np.isin(found["seq"], kept_seq)
        found = {name: values[kept] for name, values in found.items()}
        neighbour = found["neighbour_seq"]
        return Overruns(
            rows=np.searchsorted(kept_seq, found["seq"]),
            block_row=np.searchsorted(kept_seq, found["block_seq"]),
            past_start=found["past_start"],
            past_end=found["past_end"],
            neighbour_row=np.where(neighbour >= 0, np.searchsorted(kept_seq, neighbour), -1),
        )
