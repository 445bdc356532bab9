"""Measuring: the flat metrics of each kernel configuration, read from its traces.

Several traces of one configuration (repeated runs) are merged by keeping the
worst value of every metric. Only :func:`measure_traces` reads files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ubscope.analyzers.api import analyze_path
from ubscope.analyzers.findings import Severity
from ubscope.analyzers.metric_catalog import flatten_metrics
from ubscope.probe.errors import TraceError


def worst_of(flats: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """The worst (largest) value of every metric over several runs of one case."""
    worst: dict[str, float] = {}
    for flat in flats:
        for name, value in flat.items():
            worst[name] = max(value, worst.get(name, value))
    return worst


@dataclass
class Measurement:
    """One kernel configuration as measured: flat metrics (the worst over its
    traces), the severity of each finding code seen, and the traces read."""

    kernel: str
    params: dict[str, Any]
    chip: str
    metrics: dict[str, float]
    code_severity: dict[str, Severity] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    preset: str | None = None

    @property
    def params_key(self) -> str:
        """The parameters as canonical JSON: what identifies the configuration."""
        return json.dumps(self.params, sort_keys=True, separators=(",", ":"), default=str)

    @property
    def name(self) -> str:
        """``pool_demo[n=16384,tile=1024]``: the configuration for people."""
        params = ",".join(f"{key}={self.params[key]}" for key in sorted(self.params))
        return f"{self.kernel}[{params}]"


def measurement_from_metrics(
    metrics: Mapping[str, Any],
    code_severity: Mapping[str, Severity] | None = None,
    source: str | None = None,
) -> Measurement:
    """A :class:`Measurement` of one metrics summary."""
    return Measurement(
        kernel=str(metrics.get("kernel", "?")),
        params=dict(metrics.get("params") or {}),
        chip=str(metrics.get("chip", "?")),
        metrics=flatten_metrics(metrics),
        code_severity=dict(code_severity or {}),
        sources=[source] if source else [],
        preset=metrics.get("preset"),
    )


def merge_repeats(measurements: Sequence[Measurement]) -> list[Measurement]:
    """Group measurements of the same kernel, parameters and chip and keep the
    worst value of every metric (for repeated runs), in first-seen order."""
    groups: dict[tuple[str, str, str], list[Measurement]] = {}
    for item in measurements:
        groups.setdefault((item.kernel, item.params_key, item.chip), []).append(item)
    merged = []
    for items in groups.values():
        severities: dict[str, Severity] = {}
        for item in items:
            for code, severity in item.code_severity.items():
                severities[code] = max(severity, severities.get(code, severity))
        first = items[0]
        merged.append(
            Measurement(
                kernel=first.kernel,
                params=first.params,
                chip=first.chip,
                metrics=worst_of(item.metrics for item in items),
                code_severity=severities,
                sources=[source for item in items for source in item.sources],
                preset=first.preset,
            )
        )
    return merged


def measure_traces(paths: Sequence[str | os.PathLike[str]]) -> list[Measurement]:
    """Analyze every trace and merge the runs of each configuration (worst value).

    A truncated trace is refused: its smaller figures would pass as improvements.
    """
    measured = []
    for path in paths:
        analysis = analyze_path(path)
        if analysis.trace is not None and not analysis.trace.complete:
            raise TraceError(path, "trace is truncated; a partial run cannot be compared")
        severities: dict[str, Severity] = {}
        for finding in analysis.findings:
            known = severities.get(finding.code, finding.severity)
            severities[finding.code] = max(finding.severity, known)
        measured.append(measurement_from_metrics(analysis.metrics, severities, os.fspath(path)))
    return merge_repeats(measured)
