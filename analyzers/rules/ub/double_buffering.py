"""What double buffering a single-buffered queue block would save, by the cost
model's own stage times (UB013).

A single block serialises its stages: the next tile's copy waits until the
block is released. Between two successive copy stages of the block on one core
(a window of length W) a second block lets the copy of one tile overlap
everything else the tile waits for: compute, other copies, the latency of a copy
in flight. The window shortens by at most:

* the copy stage that could move earlier: the next fill (issue to landed, for a
  copy-in) or this drain (for a copy-out);
* W minus the copy pipe's own time on this block (what else the tile waited for);
* W minus the busiest of the core's GM-read, GM-write and on-chip work in the
  window: no schedule beats the busiest pipe;
* W / 2: with two blocks, each still cycles through its copy and its use.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.model.arrays import CORE_SPAN, interval_union, run_starts
from ubscope.analyzers.rules.helpers import work_kind
from ubscope.probe.costmodel import PS_PER_NS
from ubscope.probe.events import EventKind


class BusyTime:
    """Per core, the time covered by its GM reads, its GM writes and its
    on-chip work (computes and on-chip copies), as disjoint intervals."""

    def __init__(self, ctx: TraceContext):
        rows = ctx.rows(EventKind.COPY, EventKind.COMPUTE)
        start = ctx.column("start_ps")[rows]
        end = start + ctx.column("dur_ps")[rows]
        lasting = end > start
        key = (core_keys(ctx, rows) * 3 + work_kind(ctx, rows))[lasting]
        start, end = start[lasting], end[lasting]
        order = np.argsort(key, kind="stable")
        key, start, end = key[order], start[order], end[order]
        firsts = run_starts(key)
        empty = np.zeros(0, dtype=np.int64)
        self.unions: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = defaultdict(
            lambda: (empty, empty, empty)
        )
        for lo, hi in zip(firsts.tolist(), [*firsts[1:].tolist(), key.size], strict=True):
            self.unions[(int(key[lo]) // 3, int(key[lo]) % 3)] = _union(start[lo:hi], end[lo:hi])

    def busiest(self, core: int, window_start: np.ndarray, window_end: np.ndarray) -> np.ndarray:
        """The most time one of the core's three kinds of work covers in each window."""
        return np.max(
            [_covered(*self.unions[(core, kind)], window_start, window_end) for kind in range(3)],
            axis=0,
        )


def core_keys(ctx: TraceContext, rows: np.ndarray) -> np.ndarray:
    """One key per (core kind, core) of each event row."""
    core = (ctx.column("core")[rows].astype(np.int64) + 1) & (CORE_SPAN - 1)
    return ctx.column("core_kind")[rows].astype(np.int64) * CORE_SPAN + core


def block_savings(
    ctx: TraceContext, busy: BusyTime, rows: np.ndarray, read: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(first rows of the block's copy stages, picoseconds a second block would
    save in the window each stage opens) for the GM copies at ``rows`` (one block
    on one core, ascending) that fill it (``read``) or drain it."""
    start = ctx.column("start_ps")[rows]
    duration = ctx.column("dur_ps")[rows]
    order = np.argsort(start, kind="stable")
    rows, start, duration = rows[order], start[order], duration[order]
    landing = round(ctx.chip.gm_latency_ns * PS_PER_NS) if read else 0
    done = start + duration + landing
    # back-to-back copies into (or out of) the block belong to one stage
    opens = np.r_[True, start[1:] > np.maximum.accumulate(done)[:-1]]
    stage = np.cumsum(opens) - 1
    stage_start = start[opens]
    stage_done = np.maximum.reduceat(done, np.flatnonzero(opens))
    stage_pipe = np.bincount(stage, weights=duration)
    if stage_start.size < 2:
        return rows[:0], np.zeros(0)
    window_start, window_end = stage_start[:-1], stage_start[1:]
    window = window_end - window_start
    stage_time = stage_done - stage_start
    movable = stage_time[1:] if read else stage_time[:-1]
    core = int(core_keys(ctx, rows[:1])[0])
    saved = np.minimum.reduce(
        [
            movable,
            window - stage_pipe[:-1],
            window - busy.busiest(core, window_start, window_end),
            window / 2,
        ]
    )
    return rows[opens][:-1], np.maximum(saved, 0.0)


def _union(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, covered time before each start) of the disjoint intervals
    that ``[start, end)`` cover together."""
    starts, ends = interval_union(start, end)
    before = np.r_[0, np.cumsum(ends - starts)[:-1]] if starts.size else starts
    return starts, ends, before


def _covered(
    starts: np.ndarray,
    ends: np.ndarray,
    before: np.ndarray,
    window_start: np.ndarray,
    window_end: np.ndarray,
) -> np.ndarray:
    """Time the disjoint intervals cover inside each window."""
    if not starts.size:
        return np.zeros(window_start.size)

    def up_to(t: np.ndarray) -> np.ndarray:
        index = np.searchsorted(starts, t, "right") - 1
        safe = np.maximum(index, 0)
        inside = np.clip(t - starts[safe], 0, ends[safe] - starts[safe])
        return np.where(index >= 0, before[safe] + inside, 0)

    return (up_to(window_end) - up_to(window_start)).astype(float)
