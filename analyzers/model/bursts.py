"""GM copies below the chip's efficient transfer size (ALN004), per call site.

Both the in-memory model here and the streamed pass
(:mod:`ubscope.analyzers.streaming.bursts`) reduce the copies to the same sums
and finish them with :func:`critical_site_savings`, so their findings agree to
the last bit:

* per copy, what merging its site's bytes into copies of the efficient size
  would save (:func:`merge_savings`);
* per core, launch and direction (GM read, GM write): the savings summed in
  program order, the longest extra fill of one merged copy, and the core's span
  less its busiest other kind of work in the launch (``room``): no schedule
  beats the busiest pipe;
* per call site, core, launch and direction: the savings summed in program order.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ubscope.analyzers.model.arrays import CORE_SPAN, unique_codes
from ubscope.analyzers.model.cached import cached_property
from ubscope.analyzers.model.launches import LaunchModel
from ubscope.analyzers.model.locate import Locator
from ubscope.analyzers.model.traffic import merge_intervals
from ubscope.probe.chip import ChipProfile
from ubscope.probe.costmodel import PS_PER_NS, charged_bytes
from ubscope.probe.event_table import EventTable
from ubscope.probe.events import EventKind, Space

# the call-site keys ALN004 groups its copies by
SMALL_BURST_SITE_KEYS = ("tag", "core_kind")
# the kinds of work a core's pipes run side by side
GM_READ, GM_WRITE, ON_CHIP_WORK = 0, 1, 2
# a (launch, core kind, core) key: launch << LAUNCH_SHIFT | core kind * CORE_SPAN + core + 1
LAUNCH_SHIFT = 24


class MergeSaving(NamedTuple):
    """Per GM copy, what moving its bytes in copies of at least the chip's
    efficient size (one contiguous run each) would change, in the cost model's
    terms."""

    saved_ps: np.ndarray  # MTE pipe time saved: issues and 32 B rounding
    rounding_bytes: np.ndarray  # bytes its bursts' rounding to 32 B adds
    fill_ps: np.ndarray  # how much longer one merged copy takes than this one


def small_copies(
    chip: ChipProfile, moved: np.ndarray, burst_count: np.ndarray, burst_len: np.ndarray
) -> np.ndarray:
    """Which GM copies can save anything merged: below the efficient size, or
    with bursts the 32 B rounding charges extra (the float arithmetic of
    :func:`merge_savings` skips the rest)."""
    return (moved < chip.efficient_burst_bytes) | (
        charged_bytes(chip, burst_count, burst_len) > moved
    )


def merge_savings(
    chip: ChipProfile,
    dur_ps: np.ndarray,
    moved: np.ndarray,
    burst_count: np.ndarray,
    burst_len: np.ndarray,
) -> MergeSaving:
    """The :class:`MergeSaving` of GM copies. The cost model charges a GM copy
    its MTE pipe for the issue cost (``gm_copy_issue_ns``) plus its bursts'
    bytes, each rounded up to 32 B, at the core's rate
    (``probe.costmodel.gm_copy_ps``); its latency overlaps the copies in
    flight. Merged, a copy pays its share of one issue and only the bytes it
    moves, at the rate the model gave it."""
    duration = dur_ps.astype(float)
    issue_ps = np.minimum(duration, chip.gm_issue_ns * PS_PER_NS)
    moved = moved.astype(float)
    charged = charged_bytes(chip, burst_count, burst_len).astype(float)
    ps_per_byte = (duration - issue_ps) / np.maximum(charged, 1)
    merged_copy = np.maximum(moved, chip.efficient_burst_bytes)
    saved = issue_ps * (1 - moved / merged_copy) + ps_per_byte * np.maximum(charged - moved, 0)
    return MergeSaving(
        np.maximum(saved, 0.0),
        np.maximum(charged - moved, 0.0),
        (merged_copy - moved) * ps_per_byte,
    )


def work_kinds(space: np.ndarray, src_space: np.ndarray) -> np.ndarray:
    """Per copy or compute: GM_READ, GM_WRITE or ON_CHIP_WORK."""
    reads = src_space == Space.GM
    writes = (space == Space.GM) & ~reads
    return np.where(reads, GM_READ, np.where(writes, GM_WRITE, ON_CHIP_WORK))


def core_launch_keys(launch: np.ndarray, core_kind: np.ndarray, core: np.ndarray) -> np.ndarray:
    """One key per (launch, core kind, core)."""
    wrapped = (core.astype(np.int64) + 1) & (CORE_SPAN - 1)
    return (launch.astype(np.int64) << LAUNCH_SHIFT) | (
        core_kind.astype(np.int64) * CORE_SPAN + wrapped
    )


class PairTotals(NamedTuple):
    """Per (core launch key * 3 + direction), ascending: the savings summed in
    program order, the longest fill, and the room the core's other work leaves."""

    pairs: np.ndarray
    total_ps: np.ndarray
    fill_ps: np.ndarray
    room_ps: np.ndarray

    def scale(self) -> np.ndarray:
        """The part of each pair's savings that comes off its core's time: the
        savings less the longer merged copy the rest waits for, at most the room."""
        net = np.minimum(self.total_ps - self.fill_ps, self.room_ps)
        return np.maximum(net, 0.0) / np.maximum(self.total_ps, 1.0)


def critical_site_savings(
    site: np.ndarray,
    pair: np.ndarray,
    saved_ps: np.ndarray,
    totals: PairTotals,
    count: int,
    modelled_time_ps: int,
) -> np.ndarray:
    """Per call site (``site`` in 0..count-1), the saving on the critical path,
    from the savings summed per (site, pair) (``saved_ps``, one entry per
    distinct (site, pair), sorted by site then pair): each scaled by its pair,
    summed over a core's directions; the cores of a launch run side by side
    (the largest counts), launches one after another (they add up); at most
    the modelled time."""
    scaled = saved_ps * totals.scale()[np.searchsorted(totals.pairs, pair)]
    core_launches, core_launch_code = unique_codes(pair // 3)
    width = max(core_launches.size, 1)
    core_keys, core_of = unique_codes(site.astype(np.int64) * width + core_launch_code)
    core_sums = np.bincount(core_of, weights=scaled, minlength=core_keys.size)
    key_site = core_keys // width
    launch = core_launches[core_keys % width] >> LAUNCH_SHIFT
    launches = int(launch.max(initial=0)) + 1
    launch_keys, launch_of = unique_codes(key_site * launches + launch)
    worst = np.zeros(launch_keys.size)
    np.maximum.at(worst, launch_of, core_sums)
    return np.minimum(
        np.bincount(launch_keys // launches, weights=worst, minlength=count), modelled_time_ps
    )


class BurstModel:
    """The GM copies that merging into larger ones would speed up, per call site."""

    def __init__(
        self, table: EventTable, chip: ChipProfile, locator: Locator, launches: LaunchModel
    ):
        self.table = table
        self.chip = chip
        self.locator = locator
        self.launch_model = launches

    @cached_property
    def small_burst_rows(self) -> np.ndarray:
        """The GM copies whose merging saves pipe time (rows, ascending)."""
        column, chip = self.table.column, self.chip
        copies = self.table.rows(EventKind.COPY)
        copies = copies[
            (column("space")[copies] == Space.GM) | (column("src_space")[copies] == Space.GM)
        ]
        moved = self.table.footprint()[copies]
        copies = copies[
            small_copies(chip, moved, column("burst_count")[copies], column("burst_len")[copies])
        ]
        return copies[self._merge(copies).saved_ps > 0]

    def _merge(self, rows: np.ndarray) -> MergeSaving:
        column = self.table.column
        return merge_savings(
            self.chip,
            column("dur_ps")[rows],
            self.table.footprint()[rows],
            column("burst_count")[rows],
            column("burst_len")[rows],
        )

    @cached_property
    def small_burst_sites(self) -> pd.DataFrame:
        """:meth:`Locator.site_groups` of :attr:`small_burst_rows` by
        :data:`SMALL_BURST_SITE_KEYS`, at their on-chip end, with ``moved``,
        ``burst`` and ``rounding`` (bytes) and ``saved`` (picoseconds merging
        them would take off the kernel's critical path)."""
        rows, column = self.small_burst_rows, self.table.column
        merge = self._merge(rows)
        space = column("space")[rows]
        out = space == Space.GM
        sites = self.locator.site_groups(
            rows,
            SMALL_BURST_SITE_KEYS,
            addr=np.where(out, column("src_addr")[rows], column("addr")[rows]),
            space=np.where(out, column("src_space")[rows], space),
            values={
                "moved": self.table.footprint()[rows],
                "burst": column("burst_len")[rows],
                "rounding": merge.rounding_bytes,
            },
        )
        key = np.zeros(rows.size, dtype=np.int64)
        for name in SMALL_BURST_SITE_KEYS:
            key = (key << 21) | column(name)[rows].astype(np.int64)
        site_codes, site_of = unique_codes(key)
        # site_groups orders its groups by their labels: map the codes onto them
        first = np.full(site_codes.size, rows.size, dtype=np.int64)
        np.minimum.at(first, site_of, np.arange(rows.size))
        position = pd.Index(sites["first_row"].to_numpy()).get_indexer(rows[first])
        pairs, pair_code = unique_codes(self._pairs(rows))
        width = max(pairs.size, 1)
        slots, slot_of = unique_codes(position[site_of].astype(np.int64) * width + pair_code)
        sums = np.bincount(slot_of, weights=merge.saved_ps, minlength=slots.size)
        sites["saved"] = critical_site_savings(
            slots // width,
            pairs[slots % width],
            sums,
            self.pair_totals(rows, merge),
            len(sites),
            self.launch_model.modelled_time_ps,
        )
        return sites

    def _pairs(self, rows: np.ndarray) -> np.ndarray:
        column = self.table.column
        core_launch = core_launch_keys(
            self.launch_model.launch_of(rows), column("core_kind")[rows], column("core")[rows]
        )
        return core_launch * 3 + work_kinds(column("space")[rows], column("src_space")[rows])

    def pair_totals(self, rows: np.ndarray, merge: MergeSaving) -> PairTotals:
        """:class:`PairTotals` of the copies at ``rows``, with the room from
        every copy and compute of the trace."""
        pair = self._pairs(rows)
        pairs, pair_of = unique_codes(pair)
        total = np.bincount(pair_of, weights=merge.saved_ps, minlength=pairs.size)
        fill = np.zeros(pairs.size)
        np.maximum.at(fill, pair_of, merge.fill_ps)
        work = self.table.rows(EventKind.COPY, EventKind.COMPUTE)
        covered, span = self._coverage(work)
        # the room: the core's span less its busiest other kind of work
        core_launch = pairs // 3
        others = np.stack(
            [
                np.where(
                    pairs % 3 == kind, 0, covered.reindex(core_launch * 3 + kind, fill_value=0)
                )
                for kind in (GM_READ, GM_WRITE, ON_CHIP_WORK)
            ]
        )
        room = span.reindex(core_launch, fill_value=0).to_numpy() - others.max(axis=0)
        return PairTotals(pairs, total, fill, room.astype(float))

    def _coverage(self, work: np.ndarray) -> tuple[pd.Series, pd.Series]:
        """(time covered per core launch key * 3 + kind of work, span per core
        launch key) of the copies and computes at ``work``."""
        column = self.table.column
        start = column("start_ps")[work]
        end = start + column("dur_ps")[work]
        pair = self._pairs(work)
        return coverage_by_scope(pair, start, end), span_by_scope(pair // 3, start, end)


def coverage_by_scope(scope: np.ndarray, start: np.ndarray, end: np.ndarray) -> pd.Series:
    """Time the intervals ``[start, end)`` cover together per scope id."""
    scope, start, end = merge_intervals(scope, start, end)
    return pd.Series(end - start).groupby(scope).sum().astype(np.int64)


def span_by_scope(scope: np.ndarray, start: np.ndarray, end: np.ndarray) -> pd.Series:
    """Latest end less earliest start per scope id."""
    frame = pd.DataFrame({"scope": scope, "start": start, "end": end}).groupby("scope")
    return (frame["end"].max() - frame["start"].min()).astype(np.int64)
