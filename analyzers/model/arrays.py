"""Numpy helpers the analysis model shares: group ids, runs, dense codes and
first-in first-out pairing of opening and closing events.

Groups: one on-chip memory of one core is a *group*, encoded as one integer
``gid = ((core_kind * 65536) + core + 1) * 8 + space``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ubscope.probe.events import ON_CHIP_SPACES, CoreKind, EventKind, Space, enum_labels

KIND_LABELS = enum_labels(EventKind)
CORE_KIND_LABELS = enum_labels(CoreKind)
SPACE_LABELS = enum_labels(Space)
ON_CHIP_CODES = np.array([int(s) for s in ON_CHIP_SPACES])
CORE_SPAN = 65536
GROUP_BOUND = 4 * CORE_SPAN * 8  # group ids are below this
ADDR_BITS = 40  # on-chip addresses stay far below 1 TiB


def group_id(core_kind: np.ndarray, core: np.ndarray, space: np.ndarray) -> np.ndarray:
    """The integer id of each row's (core kind, core, space) group (int32)."""
    wrapped = (core.astype(np.int32) + 1) & (CORE_SPAN - 1)  # core -1 (host) -> 0
    return (core_kind.astype(np.int32) * CORE_SPAN + wrapped) * 8 + space.astype(np.int32)


def group_parts(gid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(core kind code, core index, space code) arrays of group ids."""
    return gid // (8 * CORE_SPAN), (gid // 8) % CORE_SPAN - 1, gid % 8


def split_group(gid: int) -> tuple[str, int, str]:
    """(core kind label, core index, space label) of a group id."""
    kind, core, space = group_parts(np.array([gid]))
    return CORE_KIND_LABELS[int(kind[0])], int(core[0]), SPACE_LABELS[int(space[0])]


def run_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Start positions of the runs of equal values in a sorted array."""
    if sorted_keys.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])


def runs(sorted_keys: np.ndarray) -> list[tuple[int, int]]:
    """(first, past the last) position of each run of equal values in a sorted array."""
    firsts = run_starts(sorted_keys).tolist()
    return list(zip(firsts, [*firsts[1:], sorted_keys.size][: len(firsts)], strict=True))


def unique_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values ascending and each value's index among them, as
    ``np.unique(values, return_inverse=True)`` gives them for a 1-D array, by
    hashing: numpy sorts every value (0.9 M keys: 70 ms against 14 ms)."""
    codes, distinct = pd.factorize(values, sort=True)
    return distinct, codes


def dense_codes(keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Each key's rank among the distinct keys (in key order), and how many there are."""
    distinct, codes = unique_codes(keys)
    return codes, distinct.size


def lookup_codes(keys: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """Each key's index in the sorted array ``distinct`` of unique keys, or -1 where
    it is absent. A hash lookup: linear in the keys, where a binary search per key
    grew faster than the trace (bench/bench_linear.py, issue 17)."""
    if not distinct.size:
        return np.full(keys.size, -1, dtype=np.int64)
    return pd.Index(distinct).get_indexer(keys).astype(np.int64, copy=False)


def small_codes(values: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes (in value order) of non-negative integers below ``bound``, and the
    distinct values, with a lookup table instead of a sort."""
    present = np.bincount(values, minlength=bound) > 0
    lookup = np.cumsum(present) - 1
    return lookup[values], np.flatnonzero(present)


def selection(mask: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """What picks the elements ``mask`` selects from an array of its length: the
    array itself, read-only, when it selects every one (as every copy of most
    kernels has a GM side, and every touch of the big traces sits at a block
    start), instead of a copy that only touches fresh memory (22-36 MB a
    column at 10 M events)."""
    if mask.all():

        def whole(values: np.ndarray) -> np.ndarray:
            view = values.view()
            view.flags.writeable = False
            return view

        return whole
    return lambda values: values[mask]


def stable_order(codes: np.ndarray, count: int) -> np.ndarray:
    """Stable sorting order of dense codes (a radix sort when they fit 16 bits)."""
    small = codes.astype(np.uint16) if count <= 1 << 16 else codes
    return np.argsort(small, kind="stable")


def pair_fifo(
    open_keys: np.ndarray, close_keys: np.ndarray, open_rows: np.ndarray, close_rows: np.ndarray
) -> np.ndarray:
    """For each opening event, the row of the closing event that ends it (or -1).

    Events pair first-in first-out per key (the n-th free of an address ends the
    n-th allocation there); a close that would precede its open is ignored.
    Rows must be in program order within each input.
    """
    closed = np.full(open_keys.size, -1, dtype=np.int64)
    if open_keys.size == 0 or close_keys.size == 0:
        return closed
    # one hash pass numbers the keys in order of first sight, the opens' first:
    # a close whose key no open has gets a code past theirs
    codes, _ = pd.factorize(np.concatenate([open_keys, close_keys]))
    open_codes, close_codes = codes[: open_keys.size], codes[open_keys.size :]
    count = int(open_codes.max()) + 1
    known = close_codes < count
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


def interval_union(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the disjoint intervals that ``[start, end)`` cover together."""
    if not start.size:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    order = np.argsort(start, kind="stable")
    start, end = start[order], end[order]
    reach = np.maximum.accumulate(end)
    opens = np.r_[True, start[1:] > reach[:-1]]
    return start[opens], np.maximum.reduceat(end, np.flatnonzero(opens))
