"""One pass over a trace's batches, giving the :class:`Analysis` views read."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ubscope.analyzers.api import Analysis, quietly
from ubscope.analyzers.config import Config
from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.correlate import correlate
from ubscope.analyzers.device_fault import device_fault_of
from ubscope.analyzers.engine import build_rules, sort_findings
from ubscope.analyzers.findings import Finding
from ubscope.analyzers.metrics import (
    SCHEMA,
    config_key,
    empty_metrics,
    finding_counts,
    kv_metrics,
)
from ubscope.analyzers.model.arrays import (
    CORE_KIND_LABELS,
    KIND_LABELS,
    SPACE_LABELS,
    group_id,
)
from ubscope.analyzers.model.groups import gid_of
from ubscope.analyzers.streaming.kept import KeptRows, kept_mask
from ubscope.analyzers.streaming.occupancy import RunningOccupancy
from ubscope.analyzers.streaming.traffic import RunningTraffic
from ubscope.probe.chip import ON_CHIP, ChipProfile, load_chip
from ubscope.probe.events import EventKind
from ubscope.probe.trace import Trace, read_metadata, scan_trace
from ubscope.probe.trace_info import RunningCounts, batch_column, enum_values
from ubscope.probe.validate import checked_chip

# rules whose findings one pass gives exactly as the in-memory analysis does
# (tests/analyzers/test_streaming.py compares them)
STREAMED_RULES = frozenset(
    {"ALN001", "ALN002", "ALN005", "FRG001", "FRG004", "FRG005", "GM004", "UB001", "UB002", "UB012"}
)
# needed byte ranges, lifetimes or the whole timeline: not run when streaming
SKIPPED_RULES = (
    "ALN003 ALN004 FRG002 FRG003 GM001 GM002 GM003 SYN001 "
    "UB003 UB004 UB005 UB006 UB007 UB008 UB009 UB010 UB011 UB013"
).split()
# metrics the summary leaves None when streaming
SKIPPED_METRICS = (
    "gm.redundant_read_ratio",
    "fragmentation.max_external",
    "roofline.intensity",
    "roofline.bound",
)
_INT_COLUMNS = ("addr", "aligned_size", "size", "seq", "start_ps", "flags", "arg")


class _Stream:
    """The running state every batch updates."""

    def __init__(self, path: str | os.PathLike[str], chip: ChipProfile):
        self.capacity = np.array([int(chip.capacity.get(s, 0)) for s in SPACE_LABELS])
        self.counts = RunningCounts()
        self.occupancy = RunningOccupancy(self.capacity)
        self.traffic = RunningTraffic(chip.efficient_burst_bytes)
        self.kept = KeptRows(Path(path))
        self.peak_events: dict[int, pa.RecordBatch] = {}
        self.failed_with_enough_free = 0

    def add(self, batch: pa.RecordBatch) -> None:
        self.counts.add(batch)
        kind = enum_values(batch_column(batch, "kind"), KIND_LABELS)
        space = enum_values(batch_column(batch, "space"), SPACE_LABELS)
        src_space = enum_values(batch_column(batch, "src_space"), SPACE_LABELS)
        core_kind = enum_values(batch_column(batch, "core_kind"), CORE_KIND_LABELS)
        core = batch_column(batch, "core").to_numpy()
        columns = {name: batch_column(batch, name).to_numpy() for name in _INT_COLUMNS}
        gid = group_id(core_kind, core, space)
        peaked, rows = self.occupancy.add(kind, gid, columns)
        for group, row in zip(peaked.tolist(), rows.tolist(), strict=True):
            # rules locate a peak by its event: keep the one each group peaks at
            self.peak_events[group] = batch.take(pa.array([row]))
        self.traffic.add(batch, kind, space, src_space)
        end = columns["addr"] + columns["aligned_size"]
        self.kept.add(batch, kept_mask(kind, columns["flags"], end, self.capacity[space]), kind)
        # a failed allocation's arg is the free bytes it saw
        fails = kind == EventKind.ALLOC_FAIL
        self.failed_with_enough_free += int(
            (columns["arg"][fails] >= columns["aligned_size"][fails]).sum()
        )


@dataclass
class StreamedTrace(Trace):
    """The kept events of a streamed trace, counting every event it read."""

    events_read: int = 0

    @property
    def event_count(self) -> int:
        return self.events_read


class StreamContext(TraceContext):
    """The analysis model of the kept events, with what one pass measured over
    the whole trace: the peaks, bounded occupancy series and GM traffic. The
    roofline needs every compute event and the distinct bytes: empty."""

    def __init__(self, trace: Trace, chip: ChipProfile, stream: _Stream):
        super().__init__(trace, chip)
        self._peaks = stream.occupancy.peaks()
        self._sketch = stream.occupancy.sketch
        self._traffic = stream.traffic.frame()
        self.occupancy = self._sketched_occupancy
        self.core_spaces = self._peaks[["core_kind", "core", "space", "capacity"]].copy

    def _sketched_occupancy(self, core_kind: str, core: int, space: str) -> pd.DataFrame:
        """[t_ps, seq, live_bytes] at the extremes of each bucket of a core's
        ALLOC/FREE events (:mod:`ubscope.analyzers.streaming.sketch`)."""
        return self._sketch.series(gid_of(core_kind, core, space))

    @property
    def peaks(self) -> pd.DataFrame:
        return self._peaks

    @property
    def traffic(self) -> pd.DataFrame:
        return self._traffic

    @property
    def roofline(self) -> dict[str, Any]:
        return {}


def analyze_streamed(
    path: str | os.PathLike[str], config: Config | None = None, chip: ChipProfile | None = None
) -> Analysis:
    """Analyze the trace at ``path`` in one pass over its batches, in memory
    bounded by the live blocks and the few events the streamed rules report."""
    config = config or Config()
    meta = read_metadata(path)
    trace_chip = ChipProfile.from_dict(meta.get("chip", {}), source=f"{path} (metadata)")
    chip = chip or (load_chip(config.chip) if config.chip is not None else trace_chip)
    chip = checked_chip(chip, path)
    stream = _Stream(path, chip)
    scan = quietly(lambda: scan_trace(path, columns=[], each_batch=stream.add))
    kept = StreamedTrace(
        path=scan.path,
        meta=scan.meta,
        events=stream.kept.frame(list(stream.peak_events.values())),
        complete=not scan.problems,
        problems=scan.problems,
        events_read=scan.decoder.rows,
    )
    pa.default_memory_pool().release_unused()
    ctx = StreamContext(kept, chip, stream)
    findings: list[Finding] = []
    for rule in build_rules(config):
        if rule.code in STREAMED_RULES:
            findings.extend(rule.check(ctx))
    findings = sort_findings(findings)
    correlate(findings, ctx)
    notes = [streaming_note(config)]
    if stream.kept.dropped:
        notes.append(
            f"{kept.path}: {stream.kept.dropped} events to report past the "
            f"{stream.kept.limit} a streamed analysis keeps; the findings of "
            f"{', '.join(sorted(STREAMED_RULES))} cover the events before them "
            "(the metrics cover every event)"
        )
    if scan.problems:
        notes.append(
            f"{kept.path}: trace is truncated (recording was interrupted); analyzed the "
            f"{scan.decoder.rows} events recovered ({'; '.join(scan.problems)})"
        )
    metrics = {
        "schema": SCHEMA,
        **_trace_metrics(ctx, stream),
        "findings": finding_counts(findings),
    }
    return Analysis(
        trace=kept,
        chip=chip,
        findings=findings,
        metrics=metrics,
        context=ctx,
        warnings=notes,
        config=config,
        device_fault=device_fault_of(kept),
        streamed=True,
    )


def streaming_note(config: Config) -> str:
    """The one line saying what a streamed analysis left out."""
    skipped = [code for code in SKIPPED_RULES if config.enabled(code)]
    return (
        "streamed analysis (trace larger than memory allows, or --stream): "
        f"rules not run: {', '.join(skipped) or 'none'}; "
        f"metrics not computed: {', '.join(SKIPPED_METRICS)}"
    )


def _trace_metrics(ctx: StreamContext, stream: _Stream) -> dict[str, Any]:
    occupancy = stream.occupancy
    peaks = ctx.peaks
    body = empty_metrics(ctx.chip)
    meta = ctx.trace.meta
    body.update(
        {
            "kernel": ctx.trace.kernel,
            "preset": meta.get("preset") if isinstance(meta.get("preset"), str) else None,
            "params": ctx.params,
            "config_key": config_key(ctx.trace.kernel, ctx.params),
            "modelled_time_ps": stream.counts.modelled_time_ps(),
            "peak_bytes": _per_space(peaks, "peak_live_bytes"),
            "high_water_bytes": _per_space(peaks, "high_water"),
            "total_alloc_bytes": {
                space: int(occupancy.allocated[SPACE_LABELS.index(space)]) for space in ON_CHIP
            },
            "gm": stream.traffic.gm_metrics(ctx.minimal_traffic),
            "fragmentation": {
                "max_external": None,
                "failed_allocs_with_enough_free": stream.failed_with_enough_free,
                "internal_waste_bytes": occupancy.internal_waste,
            },
            "kv_cache": kv_metrics(ctx),
        }
    )
    body["roofline"] = {**body["roofline"], "intensity": None, "bound": None}
    return body


def _per_space(peaks: pd.DataFrame, column: str) -> dict[str, int]:
    most = peaks.groupby("space")[column].max().to_dict() if len(peaks) else {}
    return {space: int(most.get(space, 0)) for space in ON_CHIP}
