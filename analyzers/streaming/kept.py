"""The few events the streamed rules read (launch bounds, flagged events,
failures, allocations past capacity), kept as a small trace of their own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ubscope.analyzers.model.arrays import KIND_LABELS, SPACE_LABELS
from ubscope.probe.events import EventKind, Flag
from ubscope.probe.trace_info import batch_column, enum_values
from ubscope.probe.validate import BatchDecoder

# flags of events the streamed rules report
KEPT_FLAGS = int(
    Flag.MISALIGNED
    | Flag.TRUNCATED
    | Flag.PARAM_RANGE
    | Flag.OUT_OF_BOUNDS
    | Flag.GUARD_PAGE
    | Flag.PARTIAL_OVERLAP
)
KEPT_KINDS = (
    EventKind.KERNEL_BEGIN,
    EventKind.KERNEL_END,
    EventKind.ALLOC_FAIL,
    EventKind.REDZONE_WRITE,
    EventKind.KV_PAGE_ALLOC,  # one per page handed out, not per token
    EventKind.KV_PAGE_FREE,
)


def kept_mask(
    kind: np.ndarray, flags: np.ndarray, alloc_end: np.ndarray, capacity: np.ndarray
) -> np.ndarray:
    """Rows of one batch to keep: kinds and flags above, and allocations that
    end past their space's capacity (UB001 names them)."""
    keep = (flags & KEPT_FLAGS) != 0
    for code in KEPT_KINDS:
        keep |= kind == code
    keep |= (kind == EventKind.ALLOC) & (capacity > 0) & (alloc_end > capacity)
    return keep


def _enum(batch: pa.RecordBatch, name: str, labels: list[str]) -> np.ndarray:
    return enum_values(batch_column(batch, name), labels)


# Reported events kept at most: the analysis of the kept events takes ~250 B
# each, so a trace where most events are flagged still stays near 1 GB.
KEPT_LIMIT = 4_000_000


class KeptRows:
    """Rows kept from the batches, turned into a frame as :func:`read_trace`
    builds it. Past :data:`KEPT_LIMIT` reported events only launch bounds are
    kept and the rest are counted in :attr:`dropped`."""

    def __init__(self, path: Path, capacity_by_space: np.ndarray):
        self.path = path
        self.capacity_by_space = capacity_by_space
        self.limit = KEPT_LIMIT
        self.batches: list[pa.RecordBatch] = []
        self.rows = 0
        self.reported = 0  # kept rows other than launch bounds
        self.dropped = 0

    def add(self, batch: pa.RecordBatch, keep: np.ndarray, kind: np.ndarray) -> None:
        bounds = (kind == EventKind.KERNEL_BEGIN) | (kind == EventKind.KERNEL_END)
        reported = np.flatnonzero(keep & ~bounds)
        room = max(self.limit - self.reported, 0)
        if reported.size > room:
            self.dropped += reported.size - room
            keep = bounds.copy()
            keep[reported[:room]] = True
        self.reported += min(reported.size, room)
        if keep.any():
            kept = batch.filter(pa.array(keep))
            self.batches.append(kept)
            self.rows += kept.num_rows

    def _reported(self, batch: pa.RecordBatch) -> np.ndarray:
        """Which rows of ``batch`` are events to report (not launch bounds)."""
        kind = _enum(batch, "kind", KIND_LABELS)
        space = _enum(batch, "space", SPACE_LABELS)
        flags = batch_column(batch, "flags").to_numpy()
        end = (
            batch_column(batch, "addr").to_numpy() + batch_column(batch, "aligned_size").to_numpy()
        )
        bounds = (kind == EventKind.KERNEL_BEGIN) | (kind == EventKind.KERNEL_END)
        return kept_mask(kind, flags, end, self.capacity_by_space[space]) & ~bounds

    def frame(self, extra: list[pa.RecordBatch]) -> pd.DataFrame:
        """The kept events and ``extra`` ones (each once, in trace order) with
        their sequence numbers in the whole trace. An extra event the limit left
        out is kept after all, and no longer counted in :attr:`dropped`."""
        if self.dropped and extra:
            kept_seq = np.concatenate([b.column("seq").to_numpy() for b in self.batches])
            extra_seq = {
                int(batch.column("seq")[0].as_py())
                for batch in extra
                if self._reported(batch).any()
            }
            self.dropped -= int((~np.isin(list(extra_seq), kept_seq)).sum())
        batches, self.batches = self.batches + extra, []
        if not batches:
            return BatchDecoder(self.path, None, 0).frame()
        table = pa.Table.from_batches(batches).unify_dictionaries().combine_chunks()
        seq = table.column("seq").to_numpy()
        seq, first = np.unique(seq, return_index=True)
        table = table.take(pa.array(first))
        decoder = BatchDecoder(self.path, None, table.num_rows)
        for batch in table.to_batches():
            # the decoder checks that sequence numbers count up from 0
            renumbered = pa.array(np.arange(decoder.rows, decoder.rows + batch.num_rows))
            decoder.add(batch.set_column(batch.schema.get_field_index("seq"), "seq", renumbered))
        events = decoder.frame()
        events["seq"] = seq
        return events
