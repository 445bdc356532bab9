"""ALN004's call sites (GM copies below the efficient transfer size), summed batch by batch.

:mod:`ubscope.analyzers.model.bursts` reduces the small copies to sums that
one pass can carry: per call site (tag, core kind) the copies, their first and
last event, the on-chip address span, the cores and the bytes; per site, core,
launch and direction, and per core, launch and direction, the savings added
one by one in program order (so both paths give the same figures to the last
bit) and the longest fill. The room a core's other work leaves needs each
launch's busy time per core and kind of work
(:mod:`ubscope.analyzers.streaming.busy`); where that was given up, ALN004 is
not run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ubscope.analyzers.model.arrays import CORE_KIND_LABELS, SPACE_LABELS, unique_codes
from ubscope.analyzers.model.bursts import (
    PairTotals,
    critical_site_savings,
    merge_savings,
    small_copies,
)
from ubscope.analyzers.streaming.busy import BatchWork, RunningBusy
from ubscope.analyzers.streaming.decoded import DecodedBatch
from ubscope.analyzers.streaming.sites import RunningSites, SiteSums, dictionary_labels
from ubscope.probe.chip import ChipProfile
from ubscope.probe.events import EventKind, Space
from ubscope.probe.trace_info import batch_column


@dataclass
class _Site(SiteSums):
    where_space: int = 0  # the on-chip space of its first copy
    burst: int = 0
    rounding: float = 0.0


class RunningSmallBursts(RunningSites[_Site]):
    """The small GM copies of the batches seen so far, per call site (tag,
    core kind code)."""

    def __init__(self, chip: ChipProfile, busy: RunningBusy):
        super().__init__("bursts")
        self.chip = chip
        self.busy = busy
        self.count = 0  # small copies whose merging saves time
        self.slot_saved: dict[tuple[int, int], float] = {}  # (site index, pair) -> ps
        self.pair_total: dict[int, float] = {}
        self.pair_fill: dict[int, float] = {}

    @property
    def given_up(self) -> bool:
        """Whether the busy time was given up (ALN004 is not run)."""
        return self.busy.given_up

    def add(self, decoded: DecodedBatch, work: BatchWork) -> dict[tuple[str, int], int]:
        """One batch (its work as :class:`RunningBusy` saw it); returns the batch
        rows of each site's first and last copy so far (``("bursts_first" |
        "bursts_last", site index)``)."""
        batch, kind, space, src_space, core_kind, core, columns = decoded
        gm = (space[work.rows] == Space.GM) | (src_space[work.rows] == Space.GM)
        copies = (kind[work.rows] == EventKind.COPY) & gm
        rows, pair = work.rows[copies], work.pair[copies]
        moved = columns["aligned_size"][rows]
        burst_count = batch_column(batch, "burst_count").to_numpy()[rows]
        burst_len = batch_column(batch, "burst_len").to_numpy()[rows]
        small = small_copies(self.chip, moved, burst_count, burst_len)
        rows, pair, moved = rows[small], pair[small], moved[small]
        burst_count, burst_len = burst_count[small], burst_len[small]
        dur = batch_column(batch, "dur_ps").to_numpy()[rows]
        merge = merge_savings(self.chip, dur, moved, burst_count, burst_len)
        costly = merge.saved_ps > 0
        if not costly.any():
            return {}
        rows, pair, moved, burst_len = rows[costly], pair[costly], moved[costly], burst_len[costly]
        saved, rounding, fill = (values[costly] for values in merge)
        self.count += rows.size
        _add_in_order(self.pair_total, pair, saved)
        for key, value in zip(*_per_key(pair, fill, np.maximum, 0.0), strict=True):
            self.pair_fill[key] = max(self.pair_fill.get(key, 0.0), value)
        out = space[rows] == Space.GM
        chip_space = np.where(out, src_space[rows], space[rows])
        chip_addr = np.where(
            out, batch_column(batch, "src_addr").to_numpy()[rows], columns["addr"][rows]
        )
        tag = batch_column(batch, "tag").indices.to_numpy()[rows].astype(np.int64)
        site_key = (tag << 3) | core_kind[rows].astype(np.int64)
        codes, keys = pd.factorize(site_key)
        tags = dictionary_labels(batch, "tag", keys >> 3)
        seq = columns["seq"][rows]
        located: dict[tuple[str, int], int] = {}
        names = [(tags[code], key & 7) for code, key in enumerate(keys.tolist())]

        def new_site(first: int) -> _Site:
            return _Site(int(seq[first]), where_space=int(chip_space[first]))

        for index, site, mine in self.each_site(
            names, codes, rows, columns, chip_addr, new_site, located
        ):
            site.burst += int(burst_len[mine].sum())
            sums = np.array([site.rounding])
            np.add.at(sums, np.zeros(mine.size, dtype=np.int64), rounding[mine])  # in order
            site.rounding = float(sums[0])
            site.cores.update(core[rows[mine]].tolist())
            _add_in_order(self.slot_saved, pair[mine], saved[mine], prefix=index)
        return located

    def pair_totals(self) -> PairTotals:
        """:class:`PairTotals` over the whole trace (call after its end)."""
        busy = self.busy
        pairs = np.array(sorted(self.pair_total), dtype=np.int64)
        core_launch = pairs // 3
        covered = [
            [0 if p % 3 == k else busy.runs.covered.get(int(cl) * 3 + k, 0) for k in range(3)]
            for p, cl in zip(pairs.tolist(), core_launch.tolist(), strict=True)
        ]
        span = [busy.last_end[cl] - busy.first_start[cl] for cl in core_launch.tolist()]
        room = np.array(span, dtype=np.int64) - np.array(covered, dtype=np.int64).reshape(
            -1, 3
        ).max(axis=1)
        return PairTotals(
            pairs,
            np.array([self.pair_total[p] for p in pairs.tolist()]),
            np.array([self.pair_fill[p] for p in pairs.tolist()]),
            room.astype(float),
        )

    def site_savings(self, position: np.ndarray, modelled_time_ps: int) -> np.ndarray:
        """Per site (``position[i]``: the row of site index ``i`` in the sites
        frame), its saving on the critical path."""
        slots = sorted(
            (int(position[index]), pair_key, value)
            for (index, pair_key), value in self.slot_saved.items()
        )
        return critical_site_savings(
            np.array([s[0] for s in slots], dtype=np.int64),
            np.array([s[1] for s in slots], dtype=np.int64),
            np.array([s[2] for s in slots], dtype=float),
            self.pair_totals(),
            len(position),
            modelled_time_ps,
        )


def site_columns(sites: list[_Site], keys: list[tuple[str, int]]) -> dict[str, object]:
    """The sites' sums in the columns of :meth:`Locator.site_groups` (but the rows)."""
    return {
        "events": [site.events for site in sites],
        "addr_start": [site.low for site in sites],
        "addr_end": [site.high for site in sites],
        "cores": [sorted(site.cores) for site in sites],
        "tag": [key[0] for key in keys],
        "core_kind": [CORE_KIND_LABELS[key[1]] for key in keys],
        "where_space": [SPACE_LABELS[site.where_space] for site in sites],
        "moved": np.array([site.moved for site in sites], dtype=np.int64),
        "burst": np.array([site.burst for site in sites], dtype=np.int64),
        "rounding": np.array([site.rounding for site in sites], dtype=float),
    }


def _add_in_order(
    sums: dict, keys: np.ndarray, values: np.ndarray, prefix: int | None = None
) -> None:
    """Add ``values`` to ``sums`` per key, one by one in order (as a bincount
    over the whole trace adds them); keys are ``(prefix, key)`` with a prefix."""
    distinct, inverse = unique_codes(keys)
    names = [k if prefix is None else (prefix, k) for k in distinct.tolist()]
    totals = np.array([sums.get(name, 0.0) for name in names])
    np.add.at(totals, inverse, values)
    sums.update(zip(names, totals.tolist(), strict=True))


def _per_key(
    keys: np.ndarray, values: np.ndarray, ufunc: np.ufunc, initial: float
) -> tuple[list[int], list]:
    """(distinct keys, ``ufunc`` of the values of each) as lists."""
    distinct, inverse = unique_codes(keys)
    out = np.full(distinct.size, initial, dtype=values.dtype)
    ufunc.at(out, inverse, values)
    return distinct.tolist(), out.tolist()
