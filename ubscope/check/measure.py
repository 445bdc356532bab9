"""Measuring: traces read and analyzed into one :class:`Measurement` per kernel
configuration. The only module of ``ubscope.check`` that reads traces."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ubscope.analyzers import Severity, analyze_path
from ubscope.check.measurement import (
    Measurement,
    measurement_from_metrics,
    merge_repeats,
    name_chips,
)
from ubscope.probe.errors import TraceError


def measure_traces(paths: Sequence[str | os.PathLike[str]]) -> list[Measurement]:
    """Analyze every trace and merge the runs of each configuration (worst
    value); traces of several chips name their chip (:func:`name_chips`).

    A truncated trace is refused: its smaller figures would pass as improvements.
    """
    measured = []
    for path in paths:
        analysis = analyze_path(path)
        if analysis.trace is not None and not analysis.trace.complete:
            raise TraceError(path, "trace is truncated; a partial run cannot be compared")
        severities: dict[str, Severity] = {}
        code_lines: dict[str, str] = {}
        for finding in analysis.findings:  # the worst first
            known = severities.get(finding.code, finding.severity)
            severities[finding.code] = max(finding.severity, known)
            if finding.location.file:
                code_lines.setdefault(finding.code, finding.location.file)
        fault = analysis.device_fault.describe() if analysis.device_fault is not None else ""
        measurement = measurement_from_metrics(analysis.metrics, severities, os.fspath(path), fault)
        measurement.code_lines = code_lines
        measured.append(measurement)
    return name_chips(merge_repeats(measured))
