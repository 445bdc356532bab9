"""ALN003's call sites (GM copies off the GM alignment boundary), summed batch by batch.

Per site (tag, core kind, tensor): the copies, their first and last event,
the GM address span, the cores, the bytes moved, and the time aligning them
would save on each core in each launch, from which the site's critical-path
saving is taken at the end as over the whole trace
(:meth:`Locator.critical_path_sums`: per launch the largest core's, summed
over the launches, at most the modelled time). Each core's saving adds its
copies one by one in program order, as over the whole trace, so both paths
give the same figures to the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from ubscope.analyzers.model.alignment import gm_side_address, misaligned_saving_ps
from ubscope.analyzers.model.arrays import CORE_SPAN
from ubscope.probe.chip import ChipProfile
from ubscope.probe.events import EventKind, Flag
from ubscope.probe.trace_info import batch_column


@dataclass
class _Site:
    first_seq: int
    last_seq: int = 0
    events: int = 0
    low: int = np.iinfo(np.int64).max
    high: int = np.iinfo(np.int64).min
    moved: int = 0
    cores: set[int] = field(default_factory=set)
    # (launch, core) -> picoseconds aligning its copies would save
    saved: dict[tuple[int, int], float] = field(default_factory=dict)


class RunningUnalignedSites:
    """The GM_UNALIGNED copies of the batches seen so far, per call site."""

    def __init__(self, chip: ChipProfile):
        self.chip = chip
        self.launches = 0  # KERNEL_BEGIN events seen
        # (tag, core kind code, tensor) -> its sums, in the order first seen
        self.sites: dict[tuple[str, int, str], _Site] = {}
        self._index: dict[tuple[str, int, str], int] = {}

    def add(
        self,
        batch: pa.RecordBatch,
        kind: np.ndarray,
        src_space: np.ndarray,
        core_kind: np.ndarray,
        core: np.ndarray,
        columns: dict[str, np.ndarray],
    ) -> dict[tuple[str, int], int]:
        """One batch; returns the batch rows of each site's first and last copy
        so far (``("unaligned_first" | "unaligned_last", site index)``)."""
        begins = np.cumsum(kind == EventKind.KERNEL_BEGIN)
        launches_before = self.launches
        self.launches += int(begins[-1]) if begins.size else 0
        rows = np.flatnonzero(
            (kind == EventKind.COPY) & ((columns["flags"] & int(Flag.GM_UNALIGNED)) != 0)
        )
        if not rows.size:
            return {}
        # events before the first launch count with it, as over the whole trace
        launch = np.maximum(launches_before + begins[rows] - 1, 0)
        tag = batch_column(batch, "tag").indices.to_numpy()[rows].astype(np.int64)
        tensor = batch_column(batch, "tensor").indices.to_numpy()[rows].astype(np.int64)
        site_key = (tag << 32) | (tensor << 3) | core_kind[rows].astype(np.int64)
        codes, keys = pd.factorize(site_key)
        tags = _labels(batch, "tag", keys >> 32)
        tensors = _labels(batch, "tensor", (keys >> 3) & ((1 << 29) - 1))
        src_addr = batch_column(batch, "src_addr").to_numpy()[rows]
        gm = gm_side_address(src_space[rows], src_addr, columns["addr"][rows])
        moved = columns["aligned_size"][rows]
        saved = misaligned_saving_ps(self.chip, batch_column(batch, "dur_ps").to_numpy()[rows])
        core_code = (core[rows].astype(np.int64) + 1) & (CORE_SPAN - 1)
        seq = columns["seq"][rows]
        located: dict[tuple[str, int], int] = {}
        # each site's copies in program order: one sort, not a scan per site
        by_site = np.argsort(codes, kind="stable")
        ends = np.cumsum(np.bincount(codes, minlength=keys.size))
        for code, key in enumerate(keys.tolist()):
            mine = by_site[ends[code - 1] if code else 0 : ends[code]]
            name = (tags[code], key & 7, tensors[code])
            site = self.sites.get(name)
            if site is None:
                site = self.sites[name] = _Site(int(seq[mine[0]]))
                self._index[name] = len(self._index)
                located["unaligned_first", self._index[name]] = int(rows[mine[0]])
            located["unaligned_last", self._index[name]] = int(rows[mine[-1]])
            site.last_seq = int(seq[mine[-1]])
            site.events += mine.size
            site.low = min(site.low, int(gm[mine].min()))
            site.high = max(site.high, int((gm[mine] + np.maximum(moved[mine], 1)).max()))
            site.moved += int(moved[mine].sum())
            pairs, inverse = np.unique(
                launch[mine] * CORE_SPAN + core_code[mine], return_inverse=True
            )
            slots = [(pair // CORE_SPAN, pair % CORE_SPAN) for pair in pairs.tolist()]
            site.cores.update(core - 1 for _, core in slots)
            sums = np.array([site.saved.get(slot, 0.0) for slot in slots])
            np.add.at(sums, inverse.ravel(), saved[mine])  # one by one, in order
            site.saved.update(zip(slots, sums.tolist(), strict=True))
        return located

    def critical_saving_ps(self, site: _Site, modelled_time_ps: int) -> float:
        """The site's saving on the critical path: per launch its busiest
        core's, summed over the launches in order, at most ``modelled_time_ps``."""
        worst: dict[int, float] = {}
        for (launch, _), total in site.saved.items():
            worst[launch] = max(worst.get(launch, 0.0), total)
        return min(sum(worst[launch] for launch in sorted(worst)), modelled_time_ps)


def _labels(batch: pa.RecordBatch, column: str, indices: np.ndarray) -> list[str]:
    """The strings of a dictionary column at ``indices`` (entries the batch uses)."""
    return batch_column(batch, column).dictionary.take(pa.array(indices)).to_pylist()
