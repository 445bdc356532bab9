"""Pools stacking a new round on the last (UB006), found batch by batch.

UB006 pairs each allocation with the previous one of the same core and space,
buffer name and call site: flagged when it lands higher while the previous
block is still live, with a copy or compute of the core and no pool reset of
the core and space in between. One pass keeps, per such key, the previous
allocation (address, seq, whether a free ended it, and the core's copies and
computes and the group's resets counted before it), and those running counts:
memory follows the distinct buffers, not the trace.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ubscope.analyzers.model.arrays import GROUP_BOUND, dense_codes, stable_order, unique_codes
from ubscope.analyzers.streaming.occupancy import NEVER, RunningOccupancy
from ubscope.analyzers.streaming.sites import dictionary_labels
from ubscope.probe.events import EventKind
from ubscope.probe.trace_info import batch_column

_EMPTY = np.zeros(0, dtype=np.int64)
_LABEL_BITS = 21  # buffer names and call sites, each numbered below 2**21


class RunningRegrowths:
    """The regrown allocations of the batches seen so far (their seq, up to
    ``limit``: past the kept-events limit their events are not kept anyway)."""

    def __init__(self, limit: int):
        self.limit = limit
        self._labels: dict[tuple[str, str], int] = {}  # (column, string) -> number
        self._touches = np.zeros(GROUP_BOUND // 8, dtype=np.int64)  # per core
        self._resets = np.zeros(GROUP_BOUND, dtype=np.int64)  # per core and space
        # the last allocation of each key, keys ascending, after a sentinel key
        # (-1) that no allocation has, so that every lookup lands on a slot
        self._keys = np.array([-1], dtype=np.int64)
        self._addr = np.zeros(1, dtype=np.int64)
        self._seq = np.array([-1], dtype=np.int64)
        self._touches_at = np.zeros(1, dtype=np.int64)
        self._resets_at = np.zeros(1, dtype=np.int64)
        self._ended = np.ones(1, dtype=bool)  # whether a free ended its block
        self._found: list[np.ndarray] = []
        self._count = 0

    def add(
        self,
        batch: pa.RecordBatch,
        kind: np.ndarray,
        gid: np.ndarray,
        columns: dict[str, np.ndarray],
        occupancy: RunningOccupancy,
    ) -> np.ndarray:
        """One batch, after ``occupancy.add`` of it; returns its regrown ALLOC rows."""
        allocs = np.flatnonzero(kind == EventKind.ALLOC)
        touches = np.flatnonzero((kind == EventKind.COPY) | (kind == EventKind.COMPUTE))
        resets = np.flatnonzero(kind == EventKind.POOL_RESET)
        core = gid.astype(np.int64) // 8
        alloc_gid = gid[allocs].astype(np.int64)
        touches_at = self._touches[core[allocs]] + _before(core, touches, allocs)
        resets_at = self._resets[alloc_gid] + _before(gid.astype(np.int64), resets, allocs)
        _add_counts(self._touches, core[touches])
        _add_counts(self._resets, gid[resets].astype(np.int64))
        if not allocs.size:
            self._note_ended(occupancy)
            return _EMPTY
        key = (
            (alloc_gid << (2 * _LABEL_BITS))
            | (self._numbers(batch, "name", allocs) << _LABEL_BITS)
            | self._numbers(batch, "tag", allocs)
        )
        block_seq, closing = occupancy.batch_blocks()
        carried = block_seq.size - allocs.size
        own_closing = closing[carried:]
        order = np.argsort(key, kind="stable")  # per key, program order inside
        sorted_key = key[order]
        first = np.r_[True, sorted_key[1:] != sorted_key[:-1]]
        prev = np.r_[-1, order[:-1]]  # where not first: the key's allocation before
        # a key's first allocation in the batch: its previous one is kept
        at = np.searchsorted(self._keys, sorted_key, "right") - 1
        has_prev = ~first | (self._keys[at] == sorted_key)
        prev_addr = np.where(first, self._addr[at], columns["addr"][allocs][prev])
        prev_touches = np.where(first, self._touches_at[at], touches_at[prev])
        prev_resets = np.where(first, self._resets_at[at], resets_at[prev])
        prev_closing = np.where(
            first,
            self._carried_closing(at, block_seq[:carried], closing[:carried]),
            own_closing[prev],
        )
        rows = allocs[order]
        regrown = (
            has_prev
            & (columns["addr"][rows] > prev_addr)
            & (prev_closing > rows)
            & (touches_at[order] > prev_touches)
            & (resets_at[order] == prev_resets)
        )
        found = np.sort(rows[regrown])
        if found.size and self._count < self.limit:
            self._found.append(columns["seq"][found])
            self._count += found.size
        last = np.r_[sorted_key[1:] != sorted_key[:-1], True]
        self._note_ended(occupancy)
        self._update(
            sorted_key[last],
            columns["addr"][rows[last]],
            columns["seq"][rows[last]],
            touches_at[order[last]],
            resets_at[order[last]],
            own_closing[order[last]] != NEVER,
        )
        return found

    def _carried_closing(
        self, at: np.ndarray, carried_seq: np.ndarray, carried_closing: np.ndarray
    ) -> np.ndarray:
        """Where the blocks of the kept allocations ``at`` end in this batch: -1
        if a free of an earlier batch ended them, NEVER if no free ends them
        here or an earlier free took them (live for good)."""
        seq = self._seq[at]
        closing = np.full(at.size, NEVER, dtype=np.int64)
        if carried_seq.size:
            order = np.argsort(carried_seq)
            position = np.minimum(np.searchsorted(carried_seq[order], seq), order.size - 1)
            carried = carried_seq[order][position] == seq
            closing[carried] = carried_closing[order][position][carried]
        return np.where(self._ended[at], -1, closing)

    def _note_ended(self, occupancy: RunningOccupancy) -> None:
        """Marks the kept allocations whose block a free of this batch ended."""
        block_seq, closing = occupancy.batch_blocks()
        if block_seq.size:
            self._ended |= np.isin(self._seq, block_seq[closing != NEVER])

    def _update(
        self,
        keys: np.ndarray,
        addr: np.ndarray,
        seq: np.ndarray,
        touches_at: np.ndarray,
        resets_at: np.ndarray,
        ended: np.ndarray,
    ) -> None:
        kept = ~np.isin(self._keys, keys)
        merged = np.r_[self._keys[kept], keys]
        order = np.argsort(merged, kind="stable")
        self._keys = merged[order]
        self._addr = np.r_[self._addr[kept], addr][order]
        self._seq = np.r_[self._seq[kept], seq][order]
        self._touches_at = np.r_[self._touches_at[kept], touches_at][order]
        self._resets_at = np.r_[self._resets_at[kept], resets_at][order]
        self._ended = np.r_[self._ended[kept], ended][order]

    def _numbers(self, batch: pa.RecordBatch, column: str, rows: np.ndarray) -> np.ndarray:
        """A number per row for the string of a dictionary column, the same in
        every batch."""
        codes = batch_column(batch, column).indices.to_numpy()[rows].astype(np.int64)
        distinct, inverse = unique_codes(codes)
        strings = dictionary_labels(batch, column, distinct)
        numbers = [self._labels.setdefault((column, text), len(self._labels)) for text in strings]
        return np.asarray(numbers, dtype=np.int64)[inverse]

    def seq(self) -> np.ndarray:
        """The seq of the regrown ALLOC events, ascending."""
        return np.concatenate([_EMPTY, *self._found])


def _before(key: np.ndarray, events: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """How many of the batch rows ``events`` with the same ``key`` come before each of ``rows``."""
    if not events.size or not rows.size:
        return np.zeros(rows.size, dtype=np.int64)
    codes, count = dense_codes(key[events])
    order = stable_order(codes, count)  # per key, in program order: sorted combined keys
    span = np.int64(key.size + 1)
    event_keys = key[events][order] * span + events[order]
    return np.searchsorted(event_keys, key[rows] * span + rows) - np.searchsorted(
        event_keys, key[rows] * span
    )


def _add_counts(counts: np.ndarray, keys: np.ndarray) -> None:
    if keys.size:
        codes, distinct = pd.factorize(keys)  # a hash, not a sort of the batch
        counts[distinct] += np.bincount(codes)
