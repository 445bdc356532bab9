"""The blocks live at each on-chip core and space's peak, found batch by batch.

An allocation map of every block needs the whole trace; what a streamed trace
can keep is the layout that matters most: the blocks live when a core's memory
was fullest. Each time a core and space reaches a new peak, the blocks live
just after that event replace its layout, with their ALLOC events (from the
batch, or from the events of the blocks still live: :class:`OpenAllocations`).
The frees that later end them are noted as they come. Memory follows the
blocks live at the peaks, not the trace's length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ubscope.analyzers.model.arrays import ON_CHIP_CODES
from ubscope.analyzers.streaming.kept import OpenAllocations
from ubscope.analyzers.streaming.occupancy import NEVER, BatchLive, RunningOccupancy

_EMPTY = np.zeros(0, dtype=np.int64)


@dataclass
class PeakLayout:
    """The blocks of one core and space live just after its peak so far."""

    alloc_seq: np.ndarray  # ascending
    events: list[pa.RecordBatch]  # their ALLOC events
    free_seq: np.ndarray = field(init=False)  # -1: not freed (yet)
    t_free_ps: np.ndarray = field(init=False)  # -1: not freed (yet)

    def __post_init__(self) -> None:
        self.free_seq = np.full(self.alloc_seq.size, -1, dtype=np.int64)
        self.t_free_ps = np.full(self.alloc_seq.size, -1, dtype=np.int64)


class RunningPeakLayouts:
    """Each on-chip group's layout at its peak, over the batches seen so far."""

    def __init__(self) -> None:
        self.layouts: dict[int, PeakLayout] = {}

    def add(
        self,
        batch: pa.RecordBatch,
        live: BatchLive,
        columns: dict[str, np.ndarray],
        occupancy: RunningOccupancy,
        open_allocations: OpenAllocations,
    ) -> None:
        """Call after ``occupancy.add`` of ``batch`` (whose result is ``live``)
        and before the blocks it ended are dropped from ``open_allocations``."""
        on_chip = np.isin(live.peaked % 8, ON_CHIP_CODES)
        if on_chip.any():
            self._take(
                batch, live.peaked[on_chip], live.peak_rows[on_chip], occupancy, open_allocations
            )
        alloc_seq, free_row = occupancy.batch_blocks()
        closed = free_row != NEVER
        if closed.any():
            free_row = free_row[closed]
            self._note_frees(
                alloc_seq[closed], columns["seq"][free_row], columns["start_ps"][free_row]
            )

    def _take(
        self,
        batch: pa.RecordBatch,
        groups: np.ndarray,
        rows: np.ndarray,
        occupancy: RunningOccupancy,
        open_allocations: OpenAllocations,
    ) -> None:
        group, _, _, alloc_seq = occupancy.live_at(groups, rows)
        order = np.lexsort((alloc_seq, group))
        group, alloc_seq = group[order], alloc_seq[order]
        first_in_batch = int(batch.column("seq")[0].as_py())
        in_batch = alloc_seq >= first_in_batch
        # sequence numbers count up by one within a batch
        sources = [
            batch.take(pa.array(alloc_seq[in_batch] - first_in_batch)),
            *open_allocations.events(alloc_seq[~in_batch]),
        ]
        for gid in groups.tolist():
            mine = alloc_seq[group == gid]
            events = [_rows_with_seq(source, mine) for source in sources]
            self.layouts[gid] = PeakLayout(mine, [e for e in events if e.num_rows])

    def _note_frees(self, alloc_seq: np.ndarray, free_seq: np.ndarray, t_free: np.ndarray) -> None:
        order = np.argsort(alloc_seq)
        alloc_seq, free_seq, t_free = alloc_seq[order], free_seq[order], t_free[order]
        for layout in self.layouts.values():
            at = np.minimum(np.searchsorted(alloc_seq, layout.alloc_seq), alloc_seq.size - 1)
            ended = (alloc_seq[at] == layout.alloc_seq) & (layout.free_seq < 0)
            layout.free_seq[ended] = free_seq[at[ended]]
            layout.t_free_ps[ended] = t_free[at[ended]]

    def events(self) -> list[pa.RecordBatch]:
        """The ALLOC events of every layout's blocks."""
        return [events for layout in self.layouts.values() for events in layout.events]

    def blocks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ALLOC seq, FREE seq, FREE time in ps) of every layout's blocks, by
        ALLOC seq; -1 where no free ended the block."""
        layouts = list(self.layouts.values())
        alloc_seq = np.concatenate([_EMPTY, *(layout.alloc_seq for layout in layouts)])
        free_seq = np.concatenate([_EMPTY, *(layout.free_seq for layout in layouts)])
        t_free = np.concatenate([_EMPTY, *(layout.t_free_ps for layout in layouts)])
        order = np.argsort(alloc_seq, kind="stable")
        return alloc_seq[order], free_seq[order], t_free[order]


def _rows_with_seq(events: pa.RecordBatch, seq: np.ndarray) -> pa.RecordBatch:
    """The rows of ``events`` whose seq is in ``seq``."""
    return events.filter(pa.array(np.isin(events.column("seq").to_numpy(), seq)))
