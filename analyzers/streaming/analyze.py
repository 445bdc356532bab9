"""One pass over a trace's batches, giving the :class:`Analysis` views read."""

from __future__ import annotations

import os
from collections.abc import Callable
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
    gm_metrics,
    kv_metrics,
    max_external,
    roofline_metrics,
)
from ubscope.analyzers.model.alignment import UNALIGNED_SITE_KEYS
from ubscope.analyzers.model.arrays import (
    CORE_KIND_LABELS,
    SPACE_LABELS,
    group_id,
    group_parts,
)
from ubscope.analyzers.model.blocks import BlockLives, RoundingWaste
from ubscope.analyzers.model.bursts import SMALL_BURST_SITE_KEYS
from ubscope.analyzers.model.cached import cached_property
from ubscope.analyzers.model.fragmentation import DEFAULT_MIN_FREE_FRACTION, WorstFragmentation
from ubscope.analyzers.model.groups import gid_of
from ubscope.analyzers.model.overruns import Overruns
from ubscope.analyzers.model.single_buffered import SingleBufferedBlocks
from ubscope.analyzers.model.touches import BlockUsage
from ubscope.analyzers.rules.base import Rule
from ubscope.analyzers.source_files import attach_source_files
from ubscope.analyzers.streaming import ranges
from ubscope.analyzers.streaming.bursts import RunningSmallBursts, site_columns
from ubscope.analyzers.streaming.busy import BatchWork, RunningBusy
from ubscope.analyzers.streaming.decoded import DecodedBatch, decode
from ubscope.analyzers.streaming.fragmentation import RunningFragmentation
from ubscope.analyzers.streaming.kept import (
    KeptRows,
    OpenAllocations,
    PipeResets,
    watched_ends,
)
from ubscope.analyzers.streaming.layouts import RunningPeakLayouts
from ubscope.analyzers.streaming.occupancy import BatchPoints, RunningOccupancy
from ubscope.analyzers.streaming.overlaps import RunningOverlaps
from ubscope.analyzers.streaming.overruns import OVERRUN_RULE, RunningOverruns
from ubscope.analyzers.streaming.regrowth import RunningRegrowths
from ubscope.analyzers.streaming.single_buffered import RunningSingleBuffered
from ubscope.analyzers.streaming.sites import RunningUnalignedSites
from ubscope.analyzers.streaming.traffic import RunningTraffic
from ubscope.analyzers.streaming.usage import RunningBlockUsage
from ubscope.probe.chip import ON_CHIP, ChipProfile, load_chip
from ubscope.probe.events import EventKind
from ubscope.probe.trace import Trace, read_metadata, scan_trace
from ubscope.probe.trace_info import RunningCounts
from ubscope.probe.validate import checked_chip

# rules whose findings one pass gives exactly as the in-memory analysis does
# (tests/analyzers/test_streaming.py compares them): every trace rule
STREAMED_RULES = frozenset(
    "ALN001 ALN002 ALN003 ALN004 ALN005 FRG001 FRG002 FRG003 FRG004 FRG005 GM001 GM002 GM003 GM004 "
    "SYN001 UB001 UB002 UB003 UB004 UB005 UB006 UB007 UB008 UB009 UB010 UB011 UB012 UB013 "
    "UB014".split()
)
# rules that judge how each block was used: past the blocks the streamed
# usage records (:mod:`ubscope.analyzers.streaming.usage`) they cover the
# blocks before
USAGE_RULES = ("UB009", "UB010", "UB011")
# rules that pair kept events with later ones: past the kept-events limit a
# call whose partner was not kept would look unpaired, so they are not run
PAIRING_RULES = ("SYN001",)
# rules and metrics that need the GM byte ranges, which a trace with more
# scattered transfers than RANGE_LIMIT gives up
RANGE_RULES = ("GM001", "GM002", "GM003")
RANGE_METRICS = ("gm.redundant_read_ratio", "roofline.intensity", "roofline.bound")


_AFTER_EVERY_LAUNCH = np.iinfo(np.int64).max


class _Stream:
    """The running state every batch updates."""

    def __init__(self, path: str | os.PathLike[str], chip: ChipProfile, rules: list[Rule]):
        self.capacity = np.array([int(chip.capacity.get(s, 0)) for s in SPACE_LABELS])
        self.counts = RunningCounts()
        self.occupancy = RunningOccupancy(self.capacity)
        self.fragmentation = RunningFragmentation(self.capacity, _free_fractions(rules))
        self.traffic = RunningTraffic(chip)
        self.kept = KeptRows(Path(path), watched_ends(chip, self.capacity))
        self.pipe_resets = PipeResets()
        self.open_allocations = OpenAllocations()
        self.overlaps = RunningOverlaps(self.kept.limit)
        self.peak_layouts = RunningPeakLayouts()
        self.regrowths = RunningRegrowths(self.kept.limit)
        self.unaligned = RunningUnalignedSites(chip)
        self.busy = RunningBusy()
        self.bursts = RunningSmallBursts(chip, self.busy)
        self.single_buffered = RunningSingleBuffered(chip)
        self.usage = RunningBlockUsage(rules)
        self.overruns = RunningOverruns(rules, self.capacity)
        # events rules locate findings at: each group's peak, each core kind and
        # space's first and last allocation, each GM tensor and direction's first
        # and last HBM transfer, the first and last copy or compute
        self.located_events: dict[tuple[str, int], pa.RecordBatch] = {}
        self.failed_with_enough_free = 0

    def _keep(self, batch: pa.RecordBatch, located: dict[tuple[str, int], int]) -> None:
        if not located:
            return
        # one take per batch (a take per event cost ~1 s per 10 M events in
        # small batches); each kept event a slice of it
        rows = sorted(set(located.values()))
        taken = batch.take(pa.array(rows))
        for name, row in located.items():
            self.located_events[name] = taken.slice(rows.index(row), 1)

    def _add_work(self, decoded: DecodedBatch) -> BatchWork:
        """The batch's copies and computes into the busy runs, after its
        single-buffered blocks' copies hold them; the blocks and runs of the
        launches it ended are finished."""
        work = self.busy.work(decoded)
        self.single_buffered.add(decoded, work.launch, self.busy)
        self.busy.add(decoded, work)
        self.single_buffered.finish_early(self.busy)
        running = int(work.launch[-1]) if work.launch.size else 0
        self.single_buffered.end_launches_before(running, self.busy)
        self.busy.runs.end_launches_before(running)
        return work

    def finish_busy(self) -> None:
        """End the last launch's busy runs and single-buffered blocks."""
        self.single_buffered.end_launches_before(_AFTER_EVERY_LAUNCH, self.busy)
        self.busy.runs.end_launches_before(_AFTER_EVERY_LAUNCH)

    @property
    def single_buffered_out_of_order(self) -> bool:
        """Whether UB013 cannot judge the single-buffered blocks exactly for
        work out of order: a copy or other work of a core that started before
        time already judged, or two launches of a core that overlap in time."""
        return bool(self.single_buffered.init_seq) and (
            self.busy.floor_broken
            or self.single_buffered.copies_out_of_order
            or self.busy.launch_spans_overlap()
        )

    def add(self, batch: pa.RecordBatch) -> None:
        self.counts.add(batch)
        decoded = decode(batch)
        kind, space, core_kind, core = decoded.kind, decoded.space, decoded.core_kind, decoded.core
        columns = decoded.columns
        gid = group_id(core_kind, core, space)
        live = self.occupancy.add(kind, gid, columns)
        located = dict(live.bounding_allocs)
        located.update(
            (("peak", group), row)
            for group, row in zip(live.peaked.tolist(), live.peak_rows.tolist(), strict=True)
        )
        overlapping = self.fragmentation.add(batch, kind, gid, columns, live.rows, live.delta)
        self.overlaps.add(batch, overlapping, gid, columns, self.occupancy, self.open_allocations)
        self.peak_layouts.add(batch, live, columns, self.occupancy, self.open_allocations)
        regrown = self.regrowths.add(batch, kind, gid, columns, self.occupancy)
        self.usage.add(decoded, self.occupancy, self.open_allocations)
        overruns = self.overruns.add(decoded, self.occupancy, self.open_allocations)
        self.open_allocations.add(batch, live.left_open, live.ended_seq)
        located.update(self.traffic.add(decoded))
        located.update(self.unaligned.add(decoded))
        work = self._add_work(decoded)
        located.update(self.bursts.add(decoded, work))
        # GM003 locates the roofline at the first and last copy or compute
        if work.rows.size:
            if ("first_work", 0) not in self.located_events:
                located["first_work", 0] = int(work.rows[0])
            located["last_work", 0] = int(work.rows[-1])
        self._keep(batch, located)
        end = columns["addr"] + columns["aligned_size"]
        keep = self.kept.reported_mask(batch, kind, space, columns["flags"], end)
        keep |= self.pipe_resets.first_after_init(kind, gid // 8)
        keep[overlapping] = True
        keep[regrown] = True
        keep[overruns] = True
        self.kept.add(batch, keep, kind)
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
    the whole trace: the peaks, bounded occupancy and fragmentation series, the
    worst fragmentation, rounding waste, GM traffic with its distinct bytes and
    the roofline (empty where a trace of very scattered transfers gave the
    distinct bytes up: :mod:`ubscope.analyzers.streaming.ranges`)."""

    def __init__(self, trace: Trace, chip: ChipProfile, stream: _Stream):
        super().__init__(trace, chip)
        self._stream = stream
        # the kept events end where the last one kept does: a launch the trace
        # cuts short ends where the trace's latest event does (as in memory)
        self.launch_model.trace_end_ps = stream.counts.modelled_end_ps
        self._peaks = stream.occupancy.peaks()
        self._sketch = stream.occupancy.sketch
        self._traffic = stream.traffic.frame()
        self._roofline = stream.traffic.roofline(self._traffic, stream.counts.modelled_time_ps())
        self.occupancy = self._sketched_occupancy
        self.core_spaces = self._peaks[["core_kind", "core", "space", "capacity"]].copy
        self.worst_fragmentation = self._worst_fragmentation
        self.fragmentation = self._sketched_fragmentation
        self.rounding_waste = self._rounding_waste
        self.never_freed = self._never_freed
        self.regrown = self._regrown
        self.overlapping_allocs = self._overlapping_allocs
        self.overlapped = self._overlapped

    @property
    def group_ids(self) -> np.ndarray:
        return self._stream.occupancy.group_ids()

    def _worst_fragmentation(self, gid: int, min_free_fraction: float) -> WorstFragmentation:
        worst = self._stream.fragmentation.worst(gid, min_free_fraction)
        if worst is None:
            return WorstFragmentation(0.0, -1, 0, 0)
        external, seq, free_bytes, largest_free = worst
        row = int(self.rows_of_seq(np.array([seq]))[0])
        return WorstFragmentation(external, row, free_bytes, largest_free)

    def _overlapping_allocs(self) -> np.ndarray:
        allocs = self.rows(EventKind.ALLOC)
        return allocs[np.isin(self.column("seq")[allocs], self._stream.overlaps.seq())]

    def _overlapped(self, block: int) -> int | None:
        alloc_seq = self.column("seq")[self.blocks.alloc_row]
        partner = self._stream.overlaps.overlapped.get(int(alloc_seq[block]))
        return None if partner is None else int(np.flatnonzero(alloc_seq == partner)[0])

    def _never_freed(self) -> np.ndarray:
        return self._blocks_allocated_at(self._stream.occupancy.never_freed_seq())

    def _regrown(self) -> np.ndarray:
        return self._blocks_allocated_at(self._stream.regrowths.seq())

    def _blocks_allocated_at(self, seq: np.ndarray) -> np.ndarray:
        """The kept blocks whose ALLOC is one of ``seq`` (indices, ascending)."""
        alloc_seq = self.column("seq")[self.blocks.alloc_row]
        return np.flatnonzero(np.isin(alloc_seq, seq))

    @cached_property
    def _lives_and_usage(self) -> tuple[BlockLives, BlockUsage]:
        alloc_row = self.blocks.alloc_row
        return self._stream.usage.lives_and_usage(
            self.column("seq")[alloc_row], alloc_row, self.column("start_ps")[alloc_row]
        )

    @property
    def block_lives(self) -> BlockLives:
        """The kept blocks' lives as the pass over every batch saw them
        (:mod:`ubscope.analyzers.streaming.usage`)."""
        return self._lives_and_usage[0]

    @cached_property
    def overruns(self) -> Overruns:
        """The writes past their block's end the pass over every batch found."""
        return self._stream.overruns.overruns(self.column("seq"))

    @property
    def block_usage(self) -> BlockUsage:
        """The kept blocks' touches as the pass over every batch saw them."""
        return self._lives_and_usage[1]

    def _rounding_waste(self) -> list[RoundingWaste]:
        occupancy = self._stream.occupancy
        kind, core, space = group_parts(np.flatnonzero(occupancy.allocating))
        out = []
        for key in np.flatnonzero(occupancy.first_alloc_seq >= 0).tolist():
            seq = np.array([occupancy.first_alloc_seq[key], occupancy.last_alloc_seq[key]])
            out.append(
                RoundingWaste(
                    CORE_KIND_LABELS[key // 8],
                    SPACE_LABELS[key % 8],
                    int(occupancy.waste_by_kind_space[key]),
                    int(occupancy.allocated_by_kind_space[key]),
                    sorted(set(core[kind * 8 + space == key].tolist())),
                    self.rows_of_seq(seq),
                )
            )
        return out

    def _sketched_occupancy(self, core_kind: str, core: int, space: str) -> pd.DataFrame:
        """[t_ps, seq, live_bytes] at the extremes of each bucket of a core's
        ALLOC/FREE events (:mod:`ubscope.analyzers.streaming.sketch`)."""
        return self._sketch.series(gid_of(core_kind, core, space))

    def _sketched_fragmentation(self, core_kind: str, core: int, space: str) -> pd.DataFrame:
        """[t_ps, seq, free_bytes, largest_free, external] at the extremes of
        external fragmentation in each bucket of a core's ALLOC/FREE events."""
        return self._stream.fragmentation.sketch.series(gid_of(core_kind, core, space))

    @property
    def peaks(self) -> pd.DataFrame:
        return self._peaks

    @property
    def lifetimes(self) -> pd.DataFrame:
        """The blocks live just after each on-chip core and space's peak
        (:mod:`ubscope.analyzers.streaming.layouts`), in the columns of
        :attr:`BlockModel.lifetimes`, with the frees that ended them."""
        frame = self.block_model.lifetimes
        alloc_seq, free_seq, t_free = self._stream.peak_layouts.blocks()
        frame = frame[np.isin(frame["alloc_seq"].to_numpy(), alloc_seq)].reset_index(drop=True)
        at = np.searchsorted(alloc_seq, frame["alloc_seq"].to_numpy())
        t_alloc = frame["t_alloc_ps"].to_numpy()
        frame["free_seq"] = free_seq[at]
        frame["t_free_ps"] = np.where(free_seq[at] >= 0, np.maximum(t_free[at], t_alloc), -1)
        return frame

    @property
    def traffic(self) -> pd.DataFrame:
        return self._traffic

    @property
    def roofline(self) -> dict[str, Any]:
        return self._roofline

    @property
    def repeats_hit_l2(self) -> bool:
        return self._stream.traffic.repeats_hit_l2()

    @property
    def unaligned_gm_sites(self) -> pd.DataFrame:
        running = self._stream.unaligned
        keys = list(running.sites)
        sites = list(running.sites.values())
        first = self.rows_of_seq(np.array([site.first_seq for site in sites], dtype=np.int64))
        last = self.rows_of_seq(np.array([site.last_seq for site in sites], dtype=np.int64))
        modelled = self.modelled_time_ps
        frame = pd.DataFrame(
            {
                "events": [site.events for site in sites],
                "first_row": first,
                "last_row": last,
                "addr_start": [site.low for site in sites],
                "addr_end": [site.high for site in sites],
                "cores": [sorted(site.cores) for site in sites],
                "tag": self.labels("tag")[self.column("tag")[first]].astype(str),
                "core_kind": np.array(CORE_KIND_LABELS)[[key[1] for key in keys]].astype(str),
                "tensor": self.labels("tensor")[self.column("tensor")[first]].astype(str),
                "where_space": "GM",
                "moved": np.array([site.moved for site in sites], dtype=np.int64),
                "saved": [float(running.critical_saving_ps(site, modelled)) for site in sites],
            }
        )
        order = list(UNALIGNED_SITE_KEYS)
        return frame.sort_values(order, kind="stable").reset_index(drop=True)

    @property
    def small_burst_count(self) -> int:
        return self._stream.bursts.count

    @cached_property
    def single_buffered(self) -> SingleBufferedBlocks:
        running = self._stream.single_buffered
        return running.blocks(self.rows_of_seq(np.array(running.init_seq, dtype=np.int64)))

    @property
    def small_burst_sites(self) -> pd.DataFrame:
        running = self._stream.bursts
        sites = list(running.sites.values())
        first = self.rows_of_seq(np.array([site.first_seq for site in sites], dtype=np.int64))
        last = self.rows_of_seq(np.array([site.last_seq for site in sites], dtype=np.int64))
        frame = pd.DataFrame(
            {
                **site_columns(sites, list(running.sites)),
                "first_row": first,
                "last_row": last,
                "tensor": self.labels("tensor")[self.column("tensor")[first]].astype(str),
            }
        )
        frame = frame.sort_values(list(SMALL_BURST_SITE_KEYS), kind="stable")
        position = np.empty(len(frame), dtype=np.int64)
        position[frame.index.to_numpy()] = np.arange(len(frame))
        frame = frame.reset_index(drop=True)
        frame["saved"] = running.site_savings(position, self.modelled_time_ps)
        return frame


def streamed_chip(
    path: str | os.PathLike[str], config: Config, chip: ChipProfile | None = None
) -> ChipProfile:
    """The chip a streamed analysis of ``path`` judges against: ``chip``, else
    the configured one, else the trace's own."""
    meta = read_metadata(path)
    trace_chip = ChipProfile.from_dict(meta.get("chip", {}), source=f"{path} (metadata)")
    chip = chip or (load_chip(config.chip) if config.chip is not None else trace_chip)
    return checked_chip(chip, path)


def analyze_streamed(
    path: str | os.PathLike[str],
    config: Config | None = None,
    chip: ChipProfile | None = None,
    on_batch: Callable[[pa.RecordBatch, BatchPoints], None] | None = None,
) -> Analysis:
    """Analyze the trace at ``path`` in one pass over its batches, in memory
    bounded by the live blocks and the few events the streamed rules report.
    ``on_batch`` gets each validated batch, in order, once the analysis has
    taken it in, with the live bytes after each of its ALLOC/FREE events."""
    config = config or Config()
    chip = streamed_chip(path, config, chip)
    rules = build_rules(config)
    stream = _Stream(path, chip, rules)

    def each_batch(batch: pa.RecordBatch) -> None:
        stream.add(batch)
        if on_batch is not None:
            on_batch(batch, stream.occupancy.batch_points)

    scan = quietly(lambda: scan_trace(path, columns=[], each_batch=each_batch))
    stream.fragmentation.finish()
    stream.traffic.finish()
    stream.usage.finish()
    stream.finish_busy()
    kept = StreamedTrace(
        path=scan.path,
        meta=scan.meta,
        events=stream.kept.frame(
            [
                *stream.located_events.values(),
                *stream.fragmentation.events(),
                *stream.open_allocations.batches(),
                *stream.overlaps.events,
                *stream.peak_layouts.events(),
                *stream.usage.events,
                *stream.overruns.events,
            ]
        ),
        complete=not scan.problems,
        problems=scan.problems,
        events_read=scan.decoder.rows,
    )
    pa.default_memory_pool().release_unused()
    ctx = StreamContext(kept, chip, stream)
    findings: list[Finding] = []
    left_out = set(RANGE_RULES) if stream.traffic.ranges.given_up else set()
    if stream.bursts.given_up:
        left_out.add("ALN004")
    limited = stream.busy.holds_given_up and not stream.busy.floor_broken
    if stream.single_buffered.init_seq and (limited or stream.single_buffered_out_of_order):
        left_out.add("UB013")
    if stream.kept.dropped:
        left_out.update(PAIRING_RULES)
    for rule in rules:
        if rule.code in STREAMED_RULES and rule.code not in left_out:
            findings.extend(rule.check(ctx))
    findings = sort_findings(findings)
    correlate(findings, ctx)
    attach_source_files(findings, scan.meta)
    notes = [streaming_note()]
    if stream.traffic.ranges.given_up:
        notes.append(
            f"{kept.path}: more than {ranges.RANGE_LIMIT:,} scattered GM byte ranges to track: "
            f"rules not run: {', '.join(RANGE_RULES)}; metrics not computed: "
            f"{', '.join(RANGE_METRICS)}"
        )
    busy_rules = [
        code
        for code, out in (
            ("ALN004", stream.bursts.given_up),
            ("UB013", limited and bool(stream.single_buffered.init_seq)),
        )
        if out
    ]
    if busy_rules:
        notes.append(
            f"{kept.path}: more than {ranges.RANGE_LIMIT:,} busy intervals of one launch "
            f"to track: {_rules_not_run(busy_rules)}"
        )
    if stream.single_buffered_out_of_order and not limited:
        notes.append(
            f"{kept.path}: a core's work ran far out of program order, or two of its "
            f"launches overlap in time: {_rules_not_run(['UB013'])}"
        )
    if stream.usage.dropped:
        notes.append(
            f"{kept.path}: more than {stream.usage.limit:,} blocks to judge by their use; "
            f"the findings of {', '.join(USAGE_RULES)} cover the blocks that ended before them"
        )
    if stream.overruns.dropped:
        notes.append(
            f"{kept.path}: more than {stream.overruns.limit:,} writes past the end of "
            f"their buffer; the findings of {OVERRUN_RULE} cover the first of them"
        )
    if stream.kept.dropped:
        notes.append(
            f"{kept.path}: {stream.kept.dropped:,} events to report past the "
            f"{stream.kept.limit} a streamed analysis keeps; the findings of "
            f"{', '.join(sorted(STREAMED_RULES - set(PAIRING_RULES) - set(USAGE_RULES)))} "
            "cover the events "
            f"before them (the metrics cover every event); rules not run: "
            f"{', '.join(PAIRING_RULES)}"
        )
    if scan.problems:
        notes.append(
            f"{kept.path}: trace is truncated (recording was interrupted); analyzed the "
            f"{scan.decoder.rows:,} events recovered ({'; '.join(scan.problems)})"
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


def _rules_not_run(codes: list[str]) -> str:
    return f"{'rule' if len(codes) == 1 else 'rules'} not run: {', '.join(codes)}"


def _free_fractions(rules: list[Rule]) -> tuple[float, ...]:
    """The minimum free fractions fragmentation is judged at: the summary's and FRG002's."""
    fractions = [DEFAULT_MIN_FREE_FRACTION]
    fractions += [rule.limits["min_free_fraction"] for rule in rules if rule.code == "FRG002"]
    return tuple(dict.fromkeys(float(f) for f in fractions))


def streaming_note() -> str:
    """The one line saying the analysis was streamed."""
    return (
        "streamed analysis (trace larger than memory allows, or --stream): "
        "every trace rule run in one pass"
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
            "gm": gm_metrics(ctx),
            "fragmentation": {
                "max_external": max_external(ctx),
                "failed_allocs_with_enough_free": stream.failed_with_enough_free,
                "internal_waste_bytes": occupancy.internal_waste,
            },
            "kv_cache": kv_metrics(ctx),
        }
    )
    if stream.traffic.ranges.given_up:
        body["gm"]["redundant_read_ratio"] = None
    else:
        body["roofline"] = roofline_metrics(ctx.roofline)
    return body


def _per_space(peaks: pd.DataFrame, column: str) -> dict[str, int]:
    most = peaks.groupby("space")[column].max().to_dict() if len(peaks) else {}
    return {space: int(most.get(space, 0)) for space in ON_CHIP}
