"""Distinct GM bytes per tensor and direction, batch by batch.

:attr:`TrafficModel.traffic` counts the bytes a tensor's transfers cover at
least once: per launch (each launch reads its inputs again), per core of a
launch (what a core moved again it could have kept on chip) and over the run
(whether the cost model serves repeated reads from L2). Here each of those
scopes carries the union of its transfers' byte ranges as merged disjoint
intervals, and a multi-burst transfer (whose row pitch is not recorded) as its
distinct (start, burst shape), as :func:`distinct_bytes` counts it. A launch's
and its cores' unions are summed and dropped when the next launch begins, so
what is carried is the footprint of one launch plus the run's: a few intervals
per tensor and core for tiles read in order, more for scattered reads. Past
:data:`RANGE_LIMIT` carried intervals and shapes the distinct bytes are given
up as unknown, as a streamed analysis without them would show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ubscope.analyzers.model.arrays import unique_codes
from ubscope.analyzers.model.traffic import merge_intervals

# intervals and burst shapes carried at most (~40 B each: ~320 MB)
RANGE_LIMIT = 8_000_000


@dataclass
class IntervalUnion:
    """The byte ranges some transfers covered, per scope id: single bursts as
    merged [start, end) intervals, multi-burst transfers as distinct shapes."""

    scope: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    start: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    end: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # distinct multi-burst shapes: scope, start, burst_len, burst_count, bytes
    shapes: np.ndarray = field(default_factory=lambda: np.zeros((0, 5), dtype=np.int64))

    @property
    def size(self) -> int:
        return int(self.scope.size + self.shapes.shape[0])

    def add(
        self,
        scope: np.ndarray,
        start: np.ndarray,
        length: np.ndarray,
        burst_len: np.ndarray,
        burst_count: np.ndarray,
    ) -> None:
        single = burst_count <= 1
        if single.any():
            self.add_intervals(scope[single], start[single], start[single] + length[single])
        multi = ~single
        if multi.any():
            self._add_shapes(
                np.stack(
                    [
                        scope[multi],
                        start[multi],
                        burst_len[multi],
                        burst_count[multi],
                        length[multi],
                    ],
                    axis=1,
                )
            )

    def merge(self, other: IntervalUnion) -> None:
        """Add the ranges ``other`` covered."""
        if other.scope.size:
            self.add_intervals(other.scope, other.start, other.end)
        if other.shapes.size:
            self._add_shapes(other.shapes)

    def add_intervals(self, scope: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        """Add the intervals ``[start, end)`` of each scope id."""
        self.scope, self.start, self.end = merge_intervals(
            np.r_[self.scope, scope], np.r_[self.start, start], np.r_[self.end, end]
        )

    def _add_shapes(self, new: np.ndarray) -> None:
        shapes = np.concatenate([self.shapes, new])
        # the first transfer of each shape counts, as drop_duplicates keeps it
        _, first = np.unique(shapes[:, :4], axis=0, return_index=True)
        self.shapes = shapes[np.sort(first)]

    def covered(self) -> pd.Series:
        """Distinct bytes per scope id (int64, indexed by the ids)."""
        scopes = np.r_[self.scope, self.shapes[:, 0]]
        nbytes = np.r_[self.end - self.start, self.shapes[:, 4]]
        return pd.Series(nbytes, dtype=np.int64).groupby(scopes).sum()


# a core's code within a scope id: core kind x 2^18 + core + 1 (core -1: host)
_CORE_BITS = 18


class RunningRanges:
    """Distinct, reloaded and run-wide distinct bytes per GM key (a tensor and
    direction, numbered as the caller numbers them) of the batches seen so far."""

    def __init__(self) -> None:
        self.launches_begun = 0
        self.run = IntervalUnion()
        self._launch = IntervalUnion()
        self._per_core = IntervalUnion()
        self._moved_per_core: dict[int, int] = {}  # bytes per (key, core) scope
        self.distinct: dict[int, int] = {}  # summed over launches
        self.reloaded: dict[int, int] = {}
        self.reloaded_on_one_core: dict[int, int] = {}
        self.given_up = False

    def add(
        self,
        key: np.ndarray,
        core: np.ndarray,
        start: np.ndarray,
        length: np.ndarray,
        burst_len: np.ndarray,
        burst_count: np.ndarray,
    ) -> None:
        """GM transfers of one launch, in program order: their key, core code
        (core kind x 65536 + core + 1), GM start, bytes and burst shape."""
        if self.given_up or not key.size:
            return
        shape = (start, length, burst_len, burst_count)
        core_scope = (key << _CORE_BITS) | core
        self._launch.add(key, *shape)
        self._per_core.add(core_scope, *shape)
        scopes, inverse = unique_codes(core_scope)
        moved = np.zeros(scopes.size, dtype=np.int64)
        np.add.at(moved, inverse, length)
        for scope_id, nbytes in zip(scopes.tolist(), moved.tolist(), strict=True):
            self._moved_per_core[scope_id] = self._moved_per_core.get(scope_id, 0) + nbytes
        self._check_limit()

    def _check_limit(self) -> None:
        if self.run.size + self._launch.size + self._per_core.size > RANGE_LIMIT:
            self.given_up = True
            self.run, self._launch, self._per_core = (
                IntervalUnion(),
                IntervalUnion(),
                IntervalUnion(),
            )

    def begin_launch(self) -> None:
        """A KERNEL_BEGIN: the transfers before it were the previous launch's
        (or, before the first, count as the first's)."""
        self.launches_begun += 1
        if self.launches_begun > 1:
            self.end_launch()

    def end_launch(self) -> None:
        """Sum the launch's scopes (at the next launch, or the end of the trace)."""
        _add_to(self.distinct, self._launch.covered())
        # the run's ranges are its launches' (one union per launch, not per batch)
        self.run.merge(self._launch)
        moved = pd.Series(self._moved_per_core, dtype=np.int64)
        again = moved.sub(self._per_core.covered(), fill_value=0).astype(np.int64)
        per_key = again.groupby(again.index.to_numpy(dtype=np.int64) >> _CORE_BITS)
        _add_to(self.reloaded, per_key.sum())
        _add_to(self.reloaded_on_one_core, per_key.max())
        self._launch, self._per_core = IntervalUnion(), IntervalUnion()
        self._moved_per_core = {}
        self._check_limit()

    def run_distinct(self) -> dict[int, int]:
        """Distinct bytes per key over the whole run."""
        return _add_to({}, self.run.covered())


def _add_to(totals: dict[int, int], values: pd.Series) -> dict[int, int]:
    """``totals`` plus ``values`` (int64, indexed by key)."""
    keys = values.index.to_numpy(dtype=np.int64).tolist()
    for key, value in zip(keys, values.to_numpy(dtype=np.int64).tolist(), strict=True):
        totals[key] = totals.get(key, 0) + value
    return totals
