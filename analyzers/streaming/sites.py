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

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

from ubscope.analyzers.model.alignment import gm_side_address, misaligned_saving_ps
from ubscope.analyzers.model.arrays import CORE_SPAN, unique_codes
from ubscope.analyzers.streaming.decoded import DecodedBatch
from ubscope.analyzers.streaming.launches import LaunchCounter
from ubscope.probe.chip import ChipProfile
from ubscope.probe.events import EventKind, Flag
from ubscope.probe.trace_info import batch_column


@dataclass
class SiteSums:
    """What every streamed call site sums: its copies, their first and last
    event, the address span they cover, the bytes and the cores."""

    first_seq: int
    last_seq: int = 0
    events: int = 0
    low: int = np.iinfo(np.int64).max
    high: int = np.iinfo(np.int64).min
    moved: int = 0
    cores: set[int] = field(default_factory=set)


SiteT = TypeVar("SiteT", bound=SiteSums)


class RunningSites(Generic[SiteT]):
    """Call sites summed batch by batch, in the order first seen; each site's
    first and last copy are located as ``(prefix + "_first" | "_last", index)``."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.sites: dict[tuple, SiteT] = {}
        self._index: dict[tuple, int] = {}

    def each_site(
        self,
        names: list[tuple],
        codes: np.ndarray,
        rows: np.ndarray,
        columns: dict[str, np.ndarray],
        addr: np.ndarray,
        new_site: Callable[[int], SiteT],
        located: dict[tuple[str, int], int],
    ) -> Iterator[tuple[int, SiteT, np.ndarray]]:
        """Per site of a batch's copies at ``rows`` (``codes`` index ``names``;
        ``addr``: each copy's address on the side summed), the site's index, the
        site and the positions of its copies, in program order, after adding the
        common sums;
        ``new_site(position)`` makes a site first seen at that copy."""
        seq, moved = columns["seq"][rows], columns["aligned_size"][rows]
        # each site's copies in program order: one sort, not a scan per site
        by_site = np.argsort(codes, kind="stable")
        ends = np.cumsum(np.bincount(codes, minlength=len(names)))
        for code, name in enumerate(names):
            mine = by_site[ends[code - 1] if code else 0 : ends[code]]
            site = self.sites.get(name)
            if site is None:
                site = self.sites[name] = new_site(int(mine[0]))
                self._index[name] = len(self._index)
                located[f"{self.prefix}_first", self._index[name]] = int(rows[mine[0]])
            located[f"{self.prefix}_last", self._index[name]] = int(rows[mine[-1]])
            site.last_seq = int(seq[mine[-1]])
            site.events += mine.size
            site.low = min(site.low, int(addr[mine].min()))
            site.high = max(site.high, int((addr[mine] + np.maximum(moved[mine], 1)).max()))
            site.moved += int(moved[mine].sum())
            yield self._index[name], site, mine


@dataclass
class _Site(SiteSums):
    # (launch, core) -> picoseconds aligning its copies would save
    saved: dict[tuple[int, int], float] = field(default_factory=dict)


class RunningUnalignedSites(RunningSites[_Site]):
    """The GM_UNALIGNED copies of the batches seen so far, per call site (tag,
    core kind code, tensor)."""

    def __init__(self, chip: ChipProfile):
        super().__init__("unaligned")
        self.chip = chip
        self.launches = LaunchCounter()

    def add(self, decoded: DecodedBatch) -> dict[tuple[str, int], int]:
        """One batch; returns the batch rows of each site's first and last copy
        so far (``("unaligned_first" | "unaligned_last", site index)``)."""
        batch, kind, _, src_space, core_kind, core, columns = decoded
        launch_of = self.launches.of(kind)
        rows = np.flatnonzero(
            (kind == EventKind.COPY) & ((columns["flags"] & int(Flag.GM_UNALIGNED)) != 0)
        )
        if not rows.size:
            return {}
        launch = launch_of[rows]
        tag = batch_column(batch, "tag").indices.to_numpy()[rows].astype(np.int64)
        tensor = batch_column(batch, "tensor").indices.to_numpy()[rows].astype(np.int64)
        site_key = (tag << 32) | (tensor << 3) | core_kind[rows].astype(np.int64)
        codes, keys = pd.factorize(site_key)
        tags = dictionary_labels(batch, "tag", keys >> 32)
        tensors = dictionary_labels(batch, "tensor", (keys >> 3) & ((1 << 29) - 1))
        src_addr = batch_column(batch, "src_addr").to_numpy()[rows]
        gm = gm_side_address(src_space[rows], src_addr, columns["addr"][rows])
        saved = misaligned_saving_ps(self.chip, batch_column(batch, "dur_ps").to_numpy()[rows])
        core_code = (core[rows].astype(np.int64) + 1) & (CORE_SPAN - 1)
        seq = columns["seq"][rows]
        located: dict[tuple[str, int], int] = {}
        names = [(tags[code], key & 7, tensors[code]) for code, key in enumerate(keys.tolist())]
        for _, site, mine in self.each_site(
            names, codes, rows, columns, gm, lambda first: _Site(int(seq[first])), located
        ):
            pairs, inverse = unique_codes(launch[mine] * CORE_SPAN + core_code[mine])
            slots = [(pair // CORE_SPAN, pair % CORE_SPAN) for pair in pairs.tolist()]
            site.cores.update(core - 1 for _, core in slots)
            sums = np.array([site.saved.get(slot, 0.0) for slot in slots])
            np.add.at(sums, inverse, saved[mine])  # one by one, in order
            site.saved.update(zip(slots, sums.tolist(), strict=True))
        return located

    def critical_saving_ps(self, site: _Site, modelled_time_ps: int) -> float:
        """The site's saving on the critical path: per launch its busiest
        core's, summed over the launches in order, at most ``modelled_time_ps``."""
        worst: dict[int, float] = {}
        for (launch, _), total in site.saved.items():
            worst[launch] = max(worst.get(launch, 0.0), total)
        return min(sum(worst[launch] for launch in sorted(worst)), modelled_time_ps)


def dictionary_labels(batch: pa.RecordBatch, column: str, indices: np.ndarray) -> list[str]:
    """The strings of a dictionary column at ``indices`` (entries the batch uses)."""
    return batch_column(batch, column).dictionary.take(pa.array(indices)).to_pylist()
