"""Each launch's busy time per core and kind of work, batch by batch (ALN004, UB013).

Per (launch, core) and kind of work (GM read, GM write, on-chip: the pipes a
core runs side by side) the union of its copies' and computes' intervals. The
runs later work may still extend are carried; the others are summed, and all of
a launch's runs once the next launch begins. ALN004 needs each launch's sums;
UB013 holds a core's runs from the earliest copy a single-buffered block
still carries, so the time each kind covers in the block's windows can be read
off them (:mod:`ubscope.analyzers.streaming.single_buffered`). A launch so long
and scattered that more than
:data:`~ubscope.analyzers.streaming.ranges.RANGE_LIMIT` runs would be carried
gives the held runs up first (UB013 is not run), then the sums (nor is ALN004).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ubscope.analyzers.model.arrays import interval_union
from ubscope.analyzers.model.bursts import LAUNCH_SHIFT, core_launch_keys, work_kinds
from ubscope.analyzers.model.single_buffered import WORK_KINDS, Coverage
from ubscope.analyzers.model.traffic import merge_intervals
from ubscope.analyzers.streaming import ranges
from ubscope.analyzers.streaming.decoded import DecodedBatch
from ubscope.analyzers.streaming.launches import LaunchCounter
from ubscope.probe.events import EventKind

_INT_MAX, _INT_MIN = np.iinfo(np.int64).max, np.iinfo(np.int64).min
_EMPTY = np.zeros(0, dtype=np.int64)
_CORE_MASK = (1 << LAUNCH_SHIFT) - 1  # the core part of a core launch key


class BatchWork(NamedTuple):
    """One batch's launches and copies and computes."""

    launch: np.ndarray  # per row of the batch
    rows: np.ndarray  # its copies and computes
    pair: np.ndarray  # per one of them: core launch key * WORK_KINDS + kind of work


class BusyRuns:
    """Per pair (core launch key * WORK_KINDS + kind of work), the time its
    copies and computes cover together: the disjoint runs later work may still
    extend are carried, per pair, the others summed. A run is summed once a
    batch's work in its pair starts after it ends, unless a hold on its core
    keeps it; work that later starts inside summed time could not be merged
    exactly, and :meth:`add` says so."""

    def __init__(self) -> None:
        self.runs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.size = 0  # runs carried
        self.covered: dict[int, int] = {}  # pair -> busy time summed
        self.holds: dict[int, int] = {}  # core launch key -> runs ending after it are kept
        self._summed_until: dict[int, int] = {}  # pair -> the end of the time summed
        self._fold_point: dict[int, int] = {}  # pair -> its last batch's first start

    def add(self, pair: int, start: np.ndarray, end: np.ndarray) -> bool:
        """One batch's disjoint runs of one pair (by start, none empty); False
        if the first starts inside time already summed (one starting where it
        ends adds its own length either way)."""
        first = int(start[0])
        if first < self._summed_until.get(pair, _INT_MIN):
            return False
        carried = self.runs.get(pair)
        if carried is not None:
            self.size -= carried[0].size
            start, end = interval_union(np.r_[carried[0], start], np.r_[carried[1], end])
        self.runs[pair] = (start, end)
        self.size += start.size
        self._fold_point[pair] = first
        self._fold(pair)
        return True

    def hold(self, core_launch: int, start: int) -> None:
        """Keep the runs of a core's launch that end after ``start``."""
        self.holds[core_launch] = min(self.holds.get(core_launch, _INT_MAX), start)

    def move_hold(self, core_launch: int, start: int) -> None:
        """Keep the runs of a core's launch that end after ``start`` only (a
        later start than its hold so far sums the runs before it)."""
        self.holds[core_launch] = start
        for pair in range(core_launch * WORK_KINDS, (core_launch + 1) * WORK_KINDS):
            if pair in self.runs:
                self._fold(pair)

    def release_holds(self) -> None:
        """Drop every hold, summing what they kept."""
        held = set(self.holds)
        self.holds.clear()
        for pair in [p for p in self.runs if p // WORK_KINDS in held]:
            self._fold(pair)

    def coverage(self, core_launch: int) -> list[Coverage]:
        """Per kind of work, the carried runs of a core's launch: the time they
        cover between two points is all the core's work covers there, for
        points after its hold."""
        return [
            Coverage.of(*self.runs.get(core_launch * WORK_KINDS + kind, (_EMPTY, _EMPTY)))
            for kind in range(WORK_KINDS)
        ]

    def end_launches_before(self, launch: int) -> None:
        """Sum every run of the launches before ``launch``: they are over."""
        for pair in [p for p in self.runs if (p // WORK_KINDS) >> LAUNCH_SHIFT < launch]:
            start, end = self.runs.pop(pair)
            self.size -= start.size
            self._sum(pair, start, end)
        for core_launch in [c for c in self.holds if c >> LAUNCH_SHIFT < launch]:
            del self.holds[core_launch]

    def _fold(self, pair: int) -> None:
        start, end = self.runs[pair]
        limit = min(self._fold_point[pair], self.holds.get(pair // WORK_KINDS, _INT_MAX))
        done = end < limit
        if done.any():
            self._sum(pair, start[done], end[done])
            self.runs[pair] = (start[~done], end[~done])
            self.size -= int(done.sum())

    def _sum(self, pair: int, start: np.ndarray, end: np.ndarray) -> None:
        if not start.size:
            return
        self.covered[pair] = self.covered.get(pair, 0) + int((end - start).sum())
        self._summed_until[pair] = max(self._summed_until.get(pair, _INT_MIN), int(end.max()))


class RunningBusy:
    """The busy runs of every launch's cores, and each core launch's span."""

    def __init__(self) -> None:
        self.launches = LaunchCounter()
        self.runs = BusyRuns()
        self.given_up = False  # the runs (and the sums) were given up
        self.holds_given_up = False  # the held runs were given up
        self.floor_broken = False  # work started before time already read off held runs
        self._floors: dict[int, int] = {}  # core launch key -> held runs read up to
        self.first_start: dict[int, int] = {}  # core launch key -> first start
        self.last_end: dict[int, int] = {}  # core launch key -> last end

    def work(self, decoded: DecodedBatch) -> BatchWork:
        """The next batch's launches and work (call once per batch, in order)."""
        kind = decoded.kind
        launch = self.launches.of(kind)
        rows = np.flatnonzero((kind == EventKind.COPY) | (kind == EventKind.COMPUTE))
        pair = core_launch_keys(
            launch[rows], decoded.core_kind[rows], decoded.core[rows]
        ) * WORK_KINDS + work_kinds(decoded.space[rows], decoded.src_space[rows])
        return BatchWork(launch, rows, pair)

    def add(self, decoded: DecodedBatch, work: BatchWork) -> None:
        """Merge the batch's work into the runs."""
        if self.given_up or not work.rows.size:
            return
        start = decoded.columns["start_ps"][work.rows]
        # the batch's own runs first: each scope's first start and last end
        # fall out of them, and far fewer runs than events meet the carried ones
        scope, start, end = merge_intervals(
            work.pair, start, start + decoded.columns["dur_ps"][work.rows]
        )
        firsts = np.flatnonzero(np.r_[True, scope[1:] != scope[:-1]])
        last_end = np.maximum.reduceat(end, firsts).tolist()
        for index, (lo, hi) in enumerate(
            zip(firsts.tolist(), [*firsts[1:].tolist(), scope.size], strict=True)
        ):
            key, first = int(scope[lo]), int(start[lo])
            core_launch = key // WORK_KINDS
            # empty runs (work of no duration) cover nothing: only the span sees them
            lasting = end[lo:hi] > start[lo:hi]
            if lasting.any():
                self._check_floor(core_launch, int(start[lo:hi][lasting][0]))
                if not self.runs.add(key, start[lo:hi][lasting], end[lo:hi][lasting]):
                    self._give_up()
                    return
            self.first_start[core_launch] = min(self.first_start.get(core_launch, first), first)
            self.last_end[core_launch] = max(
                self.last_end.get(core_launch, last_end[index]), last_end[index]
            )
        if self.runs.size > ranges.RANGE_LIMIT and self.runs.holds:
            self._drop_holds()
        if self.runs.size > ranges.RANGE_LIMIT:
            self._give_up()

    def hold(self, core_launch: int, start: int) -> None:
        """Keep a core launch's runs that end after ``start``."""
        if not self.holds_given_up:
            self.runs.hold(core_launch, start)

    def read_up_to(self, core_launch: int, time_ps: int, hold: int) -> None:
        """The held runs of a core launch were read up to ``time_ps``: work
        starting before it later could not be counted (UB013 is then given
        up), and only the runs ending after ``hold`` need be kept."""
        if self.holds_given_up:
            return
        self._floors[core_launch] = max(self._floors.get(core_launch, _INT_MIN), time_ps)
        self.runs.move_hold(core_launch, hold)

    def _check_floor(self, core_launch: int, first: int) -> None:
        if first < self._floors.get(core_launch, _INT_MIN) and not self.holds_given_up:
            self.floor_broken = True
            self._drop_holds()

    def _drop_holds(self) -> None:
        self.holds_given_up = True
        self.runs.release_holds()

    def launch_spans_overlap(self) -> bool:
        """Whether work of two launches on one core overlaps in time (one key
        per core launch: a few per launch)."""
        reach: dict[int, int] = {}  # core -> the latest end of its launches so far
        for key in sorted(self.first_start, key=lambda k: (k & _CORE_MASK, self.first_start[k])):
            core = key & _CORE_MASK
            if self.first_start[key] < reach.get(core, _INT_MIN):
                return True
            reach[core] = max(reach.get(core, _INT_MIN), self.last_end[key])
        return False

    def _give_up(self) -> None:
        self.given_up = True
        self.holds_given_up = True
        self.runs = BusyRuns()
