"""The analyzers' public API: what the CLI, TUI, HTML reports and CI checks call.

Views never parse files or events themselves; they take an :class:`Analysis`
(findings, metrics, vendor reports and the :class:`TraceContext` for derived
columnar data) from :func:`analyze_path` or :func:`analyze_trace`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pyarrow as pa

from ubscope.analyzers.config import Config
from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.correlate import correlate
from ubscope.analyzers.device_fault import DeviceFault, device_fault_of
from ubscope.analyzers.engine import run_rules, sort_findings
from ubscope.analyzers.findings import Finding
from ubscope.analyzers.metrics import build_metrics
from ubscope.analyzers.source_files import attach_source_files
from ubscope.analyzers.vendor.common import VendorReport
from ubscope.analyzers.vendor.registry import tool_named, tool_names, tool_of
from ubscope.analyzers.vendor.torch_npu.cluster import (
    ClusterView,
    RankMemory,
    cluster_report,
    cluster_view,
    rank_folders,
    rank_label,
    read_rank,
)
from ubscope.probe.chip import ChipProfile, load_chip
from ubscope.probe.errors import PartialReadWarning
from ubscope.probe.read_progress import reporting_reads
from ubscope.probe.trace import Trace, read_trace

PathLike = str | os.PathLike[str]
T = TypeVar("T")
# Names the facade hands out from here: the cluster view's, and the listener of
# an analysis' reads (a view's progress display).
__all__ = [
    "ClusterView",
    "RankMemory",
    "cluster_view",
    "rank_folders",
    "read_rank",
    "reporting_reads",
]


@dataclass
class Analysis:
    """Everything ubscope concluded about one trace and/or vendor outputs."""

    trace: Trace | None
    chip: ChipProfile
    findings: list[Finding]
    metrics: dict[str, Any]
    vendor: list[VendorReport] = field(default_factory=list)
    context: TraceContext | None = None
    warnings: list[str] = field(default_factory=list)
    config: Config = field(default_factory=Config)
    # The run wrote past on-chip capacity: it would fault on the device and its
    # numerics mean nothing (None: it stayed inside capacity).
    device_fault: DeviceFault | None = None
    # analyzed batch by batch (a trace bigger than memory, or --stream): the
    # context holds the kept events and one pass's series, not every event
    streamed: bool = False


def quietly(read: Callable[[], T]) -> T:
    """Run ``read`` without re-emitting partial-read warnings: the analysis keeps
    them (``Analysis.warnings``, from the trace's state and ``report.warnings``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PartialReadWarning)
        return read()


def _chip(config: Config, override: ChipProfile | None, trace: Trace | None) -> ChipProfile:
    if override is not None:
        return override
    if config.chip is not None:
        return load_chip(config.chip)
    return trace.chip if trace is not None else load_chip()


def analyze_trace(
    trace: Trace | None,
    config: Config | None = None,
    vendor: Sequence[VendorReport] = (),
    chip: ChipProfile | None = None,
    on_context: Callable[[TraceContext], None] | None = None,
) -> Analysis:
    """Analyze an already loaded trace (or None) together with vendor reports.
    ``on_context`` gets the trace's context before the rules run: a view that
    needs the events but not the findings (an export's slices) can start then."""
    config = config or Config()
    chip = _chip(config, chip, trace)
    context = TraceContext(trace, chip) if trace is not None else None
    if context is not None and on_context is not None:
        on_context(context)
    findings = run_rules(context, vendor, config)
    correlate(findings, context)
    if trace is not None:
        attach_source_files(findings, trace.meta)
    notes: list[str] = []
    if trace is not None and not trace.complete:
        detail = "; ".join(trace.problems)
        notes.append(
            f"{trace.path}: trace is truncated (recording was interrupted); analyzed the "
            f"{trace.event_count:,} events recovered" + (f" ({detail})" if detail else "")
        )
    for report in vendor:
        notes.extend(report.warnings)
    return Analysis(
        trace=trace,
        chip=chip,
        findings=findings,
        metrics=build_metrics(context, chip, findings),
        vendor=list(vendor),
        context=context,
        warnings=notes,
        config=config,
        device_fault=device_fault_of(trace),
    )


def read_vendor(kind: str, path: PathLike) -> VendorReport:
    """Read one vendor output with the reader of the tool named ``kind``; its
    partial-read warnings end up in ``report.warnings``."""
    return quietly(lambda: tool_named(kind).read(path))


def _stand_in_trace(reports: Sequence[VendorReport], chip: ChipProfile | None) -> Trace | None:
    """The trace of a kernel run with no NPU (on the simulator): the first
    report whose tool can make one stands in for the missing trace."""
    for report in reports:
        tool = tool_of(report)
        if tool is not None and tool.to_trace is not None:
            return tool.to_trace(report, chip)
    return None


def analyze_inputs(
    trace_path: PathLike | None,
    vendor: Sequence[tuple[str, PathLike]] = (),
    config: Config | None = None,
    chip: ChipProfile | None = None,
    stream: bool | None = False,
    on_context: Callable[[TraceContext], None] | None = None,
) -> Analysis:
    """Read a trace (or None) and any number of vendor outputs given as
    (reader kind, path) pairs, and analyze them together. A trace alone is
    streamed batch by batch (:mod:`ubscope.analyzers.streaming`: the metrics and
    rules one pass computes) when ``stream`` is True, or when None and its
    in-memory analysis would not fit the available memory. Views that need
    every event (TUI, report, export) keep the default, False. ``on_context``
    as for :func:`analyze_trace` (never called when streaming: no context)."""
    if trace_path is not None and not vendor and stream is not False:
        from ubscope.analyzers.streaming import analyze_streamed, streams

        if streams(trace_path, stream):
            return analyze_streamed(trace_path, config, chip)
    trace = quietly(lambda: read_trace(trace_path)) if trace_path is not None else None
    # Arrow keeps the decoded batches' memory pooled after the frame is built;
    # hand it back before the analysis allocates its own arrays.
    pa.default_memory_pool().release_unused()
    reports = [read_vendor(kind, source) for kind, source in vendor]
    if trace is None:
        trace = _stand_in_trace(reports, chip)
    return analyze_trace(trace, config, reports, chip, on_context)


def analyze_path(
    path: PathLike | None,
    config: Config | None = None,
    *,
    chip: ChipProfile | None = None,
    stream: bool | None = False,
    on_context: Callable[[TraceContext], None] | None = None,
    **vendor: PathLike | None,
) -> Analysis:
    """Read a trace (None: vendor output only) and the vendor outputs given by
    tool name (``sanitizer=LOG``, ``torch_npu=DIR``; None skips one), and analyze
    them; ``stream`` and ``on_context`` as for :func:`analyze_inputs`."""
    unknown = sorted(set(vendor) - set(tool_names()))
    if unknown:
        raise TypeError(f"analyze_path() got unknown vendor tool(s): {', '.join(unknown)}")
    inputs = [(kind, source) for kind, source in vendor.items() if source]
    return analyze_inputs(path, inputs, config, chip, stream, on_context)


def _for_rank(findings: list[Finding], rank: str) -> list[Finding]:
    """A rank's findings, each naming the rank (ranks share device names: NPU:0 on every node)."""
    for finding in findings:
        finding.message = f"{rank}: {finding.message}"
        finding.evidence = {"rank": rank, **finding.evidence}
        finding.location.tag = finding.location.tag or rank
    return findings


def analyze_cluster(
    root: PathLike,
    ranks: Sequence[VendorReport],
    config: Config | None = None,
    *,
    chip: ChipProfile | None = None,
    unread: Sequence[str] = (),
) -> Analysis:
    """A cluster profile: the torch_npu reports of its ranks (read by
    :func:`read_rank`, in parallel or not) analyzed each on its own, each
    finding named after its rank, plus the cluster's own view and findings
    (``TNPU004``/``TNPU005``). ``unread`` are warnings for ranks that could
    not be read; the cluster report comes first in ``Analysis.vendor``."""
    config = config or Config()
    chip = _chip(config, chip, None)
    cluster = cluster_report(root, ranks)
    findings = run_rules(None, [cluster], config)
    for report in ranks:
        findings += _for_rank(run_rules(None, [report], config), rank_label(report.path))
    findings = sort_findings(findings)
    notes = [*unread, *cluster.warnings, *(note for report in ranks for note in report.warnings)]
    return Analysis(
        trace=None,
        chip=chip,
        findings=findings,
        metrics=build_metrics(None, chip, findings),
        vendor=[cluster, *ranks],
        warnings=notes,
        config=config,
    )
