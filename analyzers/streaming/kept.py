"""The few events the streamed rules read (launch bounds, flagged events,
failures, allocations past capacity or into UB's scratch area, InitBuffer calls,
pipe synchronisation calls), kept as a small trace of their own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ubscope.analyzers.model.arrays import KIND_LABELS, SPACE_LABELS
from ubscope.analyzers.rules.syn.syn001 import SYNC_CALLS
from ubscope.probe.chip import ChipProfile
from ubscope.probe.events import EventKind, Flag, Space
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
    EventKind.QUEUE_INIT,  # UB007 and UB008 count a pipe's buffers
)


def watched_ends(chip: ChipProfile, capacity_by_space: np.ndarray) -> np.ndarray:
    """Per space, the address past which an allocation's end is kept: the
    capacity (UB001), or on chips that reserve the top of UB for built-in
    APIs the start of that scratch area (UB003)."""
    watched = capacity_by_space.copy()
    if chip.ub_scratch_bytes > 0:
        watched[Space.UB] = chip.ub_safe_budget
    return watched


def kept_mask(
    kind: np.ndarray, flags: np.ndarray, alloc_end: np.ndarray, watched_end: np.ndarray
) -> np.ndarray:
    """Rows of one batch to keep for their kind or flags, and allocations that
    end past ``watched_end`` (per row: :func:`watched_ends` of its space)."""
    keep = (flags & KEPT_FLAGS) != 0
    for code in KEPT_KINDS:
        keep |= kind == code
    keep |= (kind == EventKind.ALLOC) & (watched_end > 0) & (alloc_end > watched_end)
    return keep


def sync_calls(batch: pa.RecordBatch, kind: np.ndarray) -> np.ndarray:
    """The rows of one batch that are the pipe synchronisation calls SYN001
    pairs (MARK events named SetFlag, WaitFlag, AllocEventID, ReleaseEventID)."""
    marks = kind == EventKind.MARK
    if not marks.any():
        return marks
    names = batch_column(batch, "name")
    indices = names.indices.to_numpy()
    # only the entries the marks use: the rest of a stream's dictionary was
    # never validated
    used = np.unique(indices[marks])
    labels = names.dictionary.take(pa.array(used)).to_pylist()
    wanted = used[[label in SYNC_CALLS for label in labels]]
    return marks & np.isin(indices, wanted)


class PipeResets:
    """Which POOL_RESET events UB007 and UB008 need, batch after batch: a reset
    only splits the InitBuffer counts of its core, so of the resets with no
    InitBuffer of that core between them the first one is enough (a pool reset
    per round would otherwise fill the kept events)."""

    def __init__(self) -> None:
        # cores whose last InitBuffer or reset so far was an InitBuffer
        self._after_init: set[int] = set()

    def first_after_init(self, kind: np.ndarray, core_code: np.ndarray) -> np.ndarray:
        """The rows of one batch that are a core's first reset after an InitBuffer."""
        keep = np.zeros(kind.size, dtype=bool)
        rows = np.flatnonzero((kind == EventKind.QUEUE_INIT) | (kind == EventKind.POOL_RESET))
        if not rows.size:
            return keep
        codes = core_code[rows]
        order = np.lexsort((rows, codes))  # per core, in program order
        rows, codes = rows[order], codes[order]
        is_init = kind[rows] == EventKind.QUEUE_INIT
        follows_init = np.zeros(rows.size, dtype=bool)
        same_core = codes[1:] == codes[:-1]
        follows_init[1:] = same_core & is_init[:-1]
        firsts = np.flatnonzero(np.concatenate(([True], ~same_core)))
        follows_init[firsts] = [code in self._after_init for code in codes[firsts].tolist()]
        keep[rows[follows_init & ~is_init]] = True
        lasts = np.append(firsts[1:] - 1, rows.size - 1)
        for code, init in zip(codes[lasts].tolist(), is_init[lasts].tolist(), strict=True):
            if init:
                self._after_init.add(code)
            else:
                self._after_init.discard(code)
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

    def __init__(self, path: Path, watched_end_by_space: np.ndarray):
        self.path = path
        self.watched_end_by_space = watched_end_by_space
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

    def reported_mask(
        self,
        batch: pa.RecordBatch,
        kind: np.ndarray,
        space: np.ndarray,
        flags: np.ndarray,
        alloc_end: np.ndarray,
    ) -> np.ndarray:
        """Rows of ``batch`` the streamed rules read, but for the pipe resets
        (:class:`PipeResets`, which depend on the batches before)."""
        keep = kept_mask(kind, flags, alloc_end, self.watched_end_by_space[space])
        return keep | sync_calls(batch, kind)

    def _reported(self, batch: pa.RecordBatch) -> np.ndarray:
        """Which rows of ``batch`` are events to report (not launch bounds)."""
        kind = _enum(batch, "kind", KIND_LABELS)
        space = _enum(batch, "space", SPACE_LABELS)
        flags = batch_column(batch, "flags").to_numpy()
        end = (
            batch_column(batch, "addr").to_numpy() + batch_column(batch, "aligned_size").to_numpy()
        )
        bounds = (kind == EventKind.KERNEL_BEGIN) | (kind == EventKind.KERNEL_END)
        return self.reported_mask(batch, kind, space, flags, end) & ~bounds

    def frame(self, extra: list[pa.RecordBatch]) -> pd.DataFrame:
        """The kept events and ``extra`` ones (each once, in trace order) with
        their sequence numbers in the whole trace. An extra event the limit left
        out is kept after all, and no longer counted in :attr:`dropped`."""
        if self.dropped and extra:
            kept_seq = np.concatenate([b.column("seq").to_numpy() for b in self.batches])
            extra_seq = np.unique(
                np.concatenate(
                    [batch.column("seq").to_numpy()[self._reported(batch)] for batch in extra]
                )
            )
            self.dropped -= int((~np.isin(extra_seq, kept_seq)).sum())
        batches, self.batches = self.batches + extra, []
        if not batches:
            return BatchDecoder(self.path, None, 0).frame()
        table = pa.Table.from_batches(batches).unify_dictionaries().combine_chunks()
        _, first = np.unique(table.column("seq").to_numpy(), return_index=True)
        table = table.take(pa.array(first))
        # the pass validated these events; their sequence numbers have gaps
        decoder = BatchDecoder(self.path, None, table.num_rows, validated=True)
        for batch in table.to_batches():
            decoder.add(batch)
        return decoder.frame()


# ended blocks' events held at least before they are dropped (dropping filters
# every row held)
ENDED_DROP_MIN = 4096


class OpenAllocations:
    """The ALLOC events of the blocks still live, batch after batch, so that the
    blocks no free ever ends (UB005) are reported with their own events. Holds
    about as many rows as blocks are live: ended ones are dropped once they are
    half the rows held."""

    def __init__(self) -> None:
        self._batches: list[pa.RecordBatch] = []
        self._rows = 0
        self._ended: list[np.ndarray] = []
        self._ended_count = 0

    def add(self, batch: pa.RecordBatch, left_open: np.ndarray, ended_seq: np.ndarray) -> None:
        """``left_open``: rows of ``batch`` whose block is still live after it;
        ``ended_seq``: the ALLOCs of earlier batches whose block it ended."""
        if left_open.size:
            self._batches.append(batch.take(pa.array(left_open)))
            self._rows += left_open.size
        if ended_seq.size:
            self._ended.append(ended_seq)
            self._ended_count += ended_seq.size
            if self._ended_count >= max(ENDED_DROP_MIN, self._rows // 2):
                self._drop_ended()

    def _drop_ended(self) -> None:
        if not self._ended_count:
            return
        table = pa.Table.from_batches(self._batches)
        live = ~np.isin(table.column("seq").to_numpy(), np.concatenate(self._ended))
        self._batches = [b for b in table.filter(pa.array(live)).to_batches() if b.num_rows]
        self._rows = int(live.sum())
        self._ended, self._ended_count = [], 0

    def events(self, seq: np.ndarray) -> list[pa.RecordBatch]:
        """The ALLOC events ``seq`` of blocks still live (non-empty batches)."""
        if not seq.size:
            return []
        found = [
            batch.filter(pa.array(np.isin(batch.column("seq").to_numpy(), seq)))
            for batch in self._batches
        ]
        found = [batch for batch in found if batch.num_rows]
        if sum(batch.num_rows for batch in found) < np.unique(seq).size:
            raise KeyError("an ALLOC event of a live block was not held")
        return found

    def batches(self) -> list[pa.RecordBatch]:
        """The ALLOC events of the blocks live at the end."""
        self._drop_ended()
        return self._batches
