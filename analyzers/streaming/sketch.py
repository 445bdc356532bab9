"""Series of a streamed trace (occupancy, fragmentation), in bounded memory.

A chart of live bytes over time needs far fewer points than a trace has
events, but it must not hide a peak or a dip. Each core and space keeps, per
bucket of consecutive ALLOC/FREE events, the event with the most live bytes and
the one with the fewest (both, in program order). When a group holds more than
``MAX_POINTS`` points, its buckets double in length and merge until it holds
half as many, so a group keeps at most ``MAX_POINTS`` points however long the
trace, and its highest point is the first event that reached its peak, as over
the whole trace. The fragmentation series keeps the extremes of external
fragmentation the same way, with the free bytes and largest free block then.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ubscope.analyzers.model.arrays import GROUP_BOUND, run_starts

# per core and space; the report draws at most 24,000 points per chart
MAX_POINTS = 4096
# A group's points are kept batch by batch until it holds more than this many
# batches' worth; they are then joined into one array per column. Buckets grow
# with the trace, so late batches add a point or two per group and a compaction
# is hundreds of batches away: that many small arrays would cost more memory
# than their points.
MAX_CHUNKS = 32


class SeriesSketch:
    """The extremes of one value per bucket of events, per core and space, with
    the other ``columns`` of the same events (``columns`` name them all, in the
    series' order; ``value`` is one of them)."""

    def __init__(self, value: str, columns: tuple[str, ...]) -> None:
        self.value = value
        self.columns = columns
        self.fields = ("gid", "index", "t_ps", "seq", *columns)
        self.events = np.zeros(GROUP_BOUND, dtype=np.int64)  # ALLOC/FREE events seen
        # events per bucket, as a power of two: zeros, as one filled with ones
        # would be 16 MiB of memory touched for the few groups a trace has
        self.stride_log2 = np.zeros(GROUP_BOUND, dtype=np.int8)
        self.latest_t_ps = np.zeros(GROUP_BOUND, dtype=np.int64)  # program-order display time
        # per group, its points batch by batch (each in program order)
        self._chunks: dict[int, list[dict[str, np.ndarray]]] = {}
        self._points = np.zeros(GROUP_BOUND, dtype=np.int64)

    def add(
        self, gid: np.ndarray, seq: np.ndarray, t_ps: np.ndarray, **columns: np.ndarray
    ) -> np.ndarray:
        """One batch's ALLOC/FREE events sorted by group (stable: program order
        within a group): their group, seq, start time and the values of the
        columns after them. Returns their display times (the start times made
        non-decreasing within each group's series)."""
        if not gid.size:
            return t_ps
        starts = run_starts(gid)
        groups = gid[starts]
        lengths = np.diff(np.r_[starts, gid.size])
        position = np.arange(gid.size) - np.repeat(starts, lengths)
        index = np.repeat(self.events[groups], lengths) + position
        # times never go back within a group's series, as display_times() makes them
        # (a batch holds few groups: one running maximum each)
        shown = np.empty_like(t_ps)
        for begin, length, floor in zip(
            starts.tolist(), lengths.tolist(), self.latest_t_ps[groups].tolist(), strict=True
        ):
            run = slice(begin, begin + length)
            np.maximum.accumulate(np.maximum(t_ps[run], floor), out=shown[run])
        self.events[groups] += lengths
        self.latest_t_ps[groups] = shown[np.r_[starts[1:], gid.size] - 1]
        points = self._extremes({"gid": gid, "index": index, "t_ps": shown, "seq": seq, **columns})
        present, counts = _group_counts(points["gid"])
        ends = np.cumsum(counts)
        for group, end, count in zip(present.tolist(), ends.tolist(), counts.tolist(), strict=True):
            # copies: a view would keep the whole batch's points of every group alive
            part = {name: values[end - count : end].copy() for name, values in points.items()}
            chunks = self._chunks.setdefault(group, [])
            chunks.append(part)
            self._points[group] += count
            if self._points[group] > MAX_POINTS:
                self._compact(group)
            elif len(chunks) > MAX_CHUNKS:
                self._chunks[group] = [self._merged(group)]
        return shown

    def _compact(self, group: int) -> None:
        """Double the group's buckets until it holds half the limit (so its next
        compaction is many batches away)."""
        points = self._merged(group)
        while points["gid"].size > MAX_POINTS // 2:
            self.stride_log2[group] += 1
            points = self._extremes(points)
        self._chunks[group] = [points]
        self._points[group] = points["gid"].size

    def _merged(self, group: int) -> dict[str, np.ndarray]:
        """The group's points in one array each, in program order."""
        chunks = self._chunks.get(group, [])
        if len(chunks) == 1:
            return chunks[0]
        if not chunks:
            return {name: np.zeros(0, dtype=np.int64) for name in self.fields}
        return {name: np.concatenate([c[name] for c in chunks]) for name in self.fields}

    def series(self, gid: int) -> pd.DataFrame:
        """[t_ps, seq, *columns] of one group's kept points, in program order."""
        points = self._merged(gid)
        return pd.DataFrame({name: points[name] for name in ("t_ps", "seq", *self.columns)})

    def _extremes(self, points: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per group and bucket (``index // stride``), the first point with the
        highest value and the first with the lowest, in program order; ``points``
        are sorted by group, then index."""
        gid, value = points["gid"], points[self.value]
        bucket = points["index"] >> self.stride_log2[gid].astype(np.int64)
        new_run = np.r_[True, (gid[1:] != gid[:-1]) | (bucket[1:] != bucket[:-1])]
        starts = np.flatnonzero(new_run)
        lengths = np.diff(np.r_[starts, value.size])
        run = np.repeat(np.arange(starts.size), lengths)
        keep = np.zeros(value.size, dtype=bool)
        for extreme in (np.maximum.reduceat(value, starts), np.minimum.reduceat(value, starts)):
            at = np.flatnonzero(value == extreme[run])
            keep[at[np.r_[True, run[at][1:] != run[at][:-1]]]] = True  # each run's first
        return {name: points[name][keep] for name in self.fields}


def _group_counts(gid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The groups of sorted group ids and how many points each has."""
    starts = run_starts(gid)
    return gid[starts], np.diff(np.r_[starts, gid.size])
