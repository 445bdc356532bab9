"""GM traffic per tensor and direction and the roofline's sums, batch by batch
(one slot per tensor and direction, however long the trace; the byte ranges of
:mod:`ubscope.analyzers.streaming.ranges`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ubscope.analyzers.model.arrays import unique_codes
from ubscope.analyzers.model.traffic import (
    operation_count,
    repeats_hit_l2,
    roofline,
    traffic_frame,
    with_atomic_reads,
)
from ubscope.analyzers.streaming.decoded import DecodedBatch
from ubscope.analyzers.streaming.ranges import RunningRanges
from ubscope.probe.chip import ChipProfile
from ubscope.probe.events import EventKind, Flag, Space
from ubscope.probe.trace_info import batch_column

# per (tensor, is_write): bytes, transfers, small transfers, workspace transfers
_BYTES, _TRANSFERS, _SMALL, _WORKSPACE = range(4)
# columns of TrafficModel.traffic that need byte ranges: unknown (NaN) when the
# ranges were given up
NEEDS_RANGES = (
    "distinct_bytes",
    "redundancy",
    "reloaded_bytes",
    "reloaded_on_one_core",
    "hbm_bytes",
)


class RunningTraffic:
    """The sums :attr:`TrafficModel.traffic` holds per tensor and direction,
    and the compute events and FLOPs of the roofline."""

    def __init__(self, chip: ChipProfile):
        self.chip = chip
        self.per_key: dict[tuple[str, bool], np.ndarray] = {}
        self.key_ids: dict[tuple[str, bool], int] = {}
        self.ranges = RunningRanges()
        self.flops = 0
        self.operations = 0  # the roofline's compute events
        # key ids whose first HBM (not workspace) transfer is kept
        self._first_kept: set[int] = set()

    def add(self, decoded: DecodedBatch) -> dict[tuple[str, int], int]:
        """One batch. Returns the rows to keep for the findings' locations: the
        first and last HBM transfer of each tensor and direction."""
        batch, kind, space, src_space = decoded[:4]
        core, columns = decoded.core_code(), decoded.columns
        compute = kind == EventKind.COMPUTE
        self.flops += int(columns["arg"][compute].sum())
        self.operations += operation_count(columns["flags"][compute])
        begins = np.flatnonzero(kind == EventKind.KERNEL_BEGIN)
        copy = kind == EventKind.COPY
        read = copy & (src_space == Space.GM)
        rows = np.flatnonzero(read | (copy & (space == Space.GM)))
        if not rows.size:
            for _ in begins:
                self.ranges.begin_launch()
            return {}
        tensor = batch_column(batch, "tensor")
        gm_source = read[rows]
        src_addr = batch_column(batch, "src_addr").to_numpy()[rows].astype(np.int64)
        gm_addr = np.where(gm_source, src_addr, columns["addr"][rows])
        flags = columns["flags"][rows]
        # per GM access, as TrafficModel.gm_accesses: an atomic copy's read, then its write
        atomic = with_atomic_reads(gm_source, (flags & int(Flag.ATOMIC)) != 0)
        positions, is_read = (slice(None), gm_source) if atomic is None else atomic
        rows, gm_addr, flags = rows[positions], gm_addr[positions], flags[positions]
        code = tensor.indices.to_numpy()[rows].astype(np.int64) * 2 + ~is_read
        codes, inverse = unique_codes(code)
        moved = columns["aligned_size"][rows]
        burst_len = batch_column(batch, "burst_len").to_numpy()[rows].astype(np.int64)
        burst_count = batch_column(batch, "burst_count").to_numpy()[rows].astype(np.int64)
        workspace = (flags & int(Flag.WORKSPACE)) != 0
        small = burst_len < self.chip.efficient_burst_bytes
        sums = np.stack(
            [
                np.bincount(inverse, weights=values, minlength=codes.size)
                for values in (moved, np.ones(rows.size), small, workspace)
            ],
            axis=1,
        ).astype(np.int64)
        names = tensor.dictionary.take(pa.array(codes // 2)).to_pylist()
        ids = np.zeros(codes.size, dtype=np.int64)
        for index, (name, value, row) in enumerate(zip(names, codes, sums, strict=True)):
            slot = (name, bool(value % 2))
            if slot in self.per_key:
                self.per_key[slot] += row
            else:
                self.per_key[slot] = row
                self.key_ids[slot] = len(self.key_ids)
            ids[index] = self.key_ids[slot]
        key = ids[inverse]
        # the launch each transfer belongs to: a KERNEL_BEGIN starts the next
        parts = np.split(np.arange(rows.size), np.searchsorted(rows, begins))
        for index, part in enumerate(parts):
            if index:
                self.ranges.begin_launch()
            self.ranges.add(
                key[part],
                core[rows[part]],
                gm_addr[part],
                moved[part],
                burst_len[part],
                burst_count[part],
            )
        return self._located(key, rows, workspace)

    def _located(
        self, key: np.ndarray, rows: np.ndarray, workspace: np.ndarray
    ) -> dict[tuple[str, int], int]:
        located: dict[tuple[str, int], int] = {}
        hbm = np.flatnonzero(~workspace)
        if not hbm.size:
            return located
        order = np.argsort(key[hbm], kind="stable")
        by_key = key[hbm][order]
        starts = np.flatnonzero(np.r_[True, by_key[1:] != by_key[:-1]])
        ends = np.r_[starts[1:], by_key.size] - 1
        for first, last in zip(starts.tolist(), ends.tolist(), strict=True):
            key_id = int(by_key[first])
            if key_id not in self._first_kept:
                self._first_kept.add(key_id)
                located["first_gm", key_id] = int(rows[hbm[order[first]]])
            located["last_gm", key_id] = int(rows[hbm[order[last]]])
        return located

    def finish(self) -> None:
        """The end of the trace: the last launch's ranges are summed."""
        self.ranges.end_launch()

    def frame(self) -> pd.DataFrame:
        """:attr:`TrafficModel.traffic` of every batch seen (the columns that need
        byte ranges NaN where the ranges were given up)."""
        slots = sorted(self.per_key, key=lambda slot: (slot[0] or "", slot[1]))
        sums = np.array([self.per_key[slot] for slot in slots], dtype=np.int64).reshape(-1, 4)
        ranges = self.ranges
        run = ranges.run_distinct()
        per_key = [
            [
                ranges.distinct.get(key_id, 0),
                ranges.reloaded.get(key_id, 0),
                ranges.reloaded_on_one_core.get(key_id, 0),
                run.get(key_id, 0),
            ]
            for key_id in (self.key_ids[slot] for slot in slots)
        ]
        known = np.array(per_key, dtype=np.float64 if ranges.given_up else np.int64)
        if ranges.given_up:
            known[:] = np.nan
        frame = traffic_frame(
            np.array([name for name, _ in slots], dtype=object),
            np.array([write for _, write in slots], dtype=bool),
            np.concatenate([sums, known.reshape(-1, 4)], axis=1),
            self.chip,
        )
        if ranges.given_up:
            frame["hbm_bytes"] = np.nan
        return frame

    def repeats_hit_l2(self) -> bool:
        """:attr:`TrafficModel.repeats_hit_l2` (False where the ranges were given up)."""
        if self.ranges.given_up:
            return False
        run = self.ranges.run_distinct()
        slots = list(self.per_key)
        touched = np.array([run.get(self.key_ids[slot], 0) for slot in slots], dtype=np.int64)
        workspace = np.array([self.per_key[slot][_WORKSPACE] > 0 for slot in slots], dtype=bool)
        return repeats_hit_l2(touched, workspace, self.chip)

    def roofline(self, traffic: pd.DataFrame, modelled_time_ps: int) -> dict[str, Any]:
        """:attr:`TrafficModel.roofline` (empty where the ranges were given up:
        the HBM bytes are unknown)."""
        if self.ranges.given_up:
            return {}
        return roofline(self.chip, self.operations, self.flops, traffic, modelled_time_ps)
