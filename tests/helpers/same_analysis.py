"""The check that a streamed analysis gives the metrics and the findings exactly
as the in-memory analysis does (the independent implementation), on any trace
within the streamed analysis' bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ubscope.analyzers.api import Analysis, analyze_path
from ubscope.analyzers.streaming import analyze_streamed


def _flat(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, dict) and key not in ("params", "by_code"):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _findings(analysis: Analysis) -> list[tuple]:
    return sorted(
        (
            f.code,
            str(f.severity),
            f.message,
            repr(f.location),
            repr(f.evidence),
            f.suggestion,
            f.estimated_gain,
        )
        for f in analysis.findings
    )


def assert_same_analysis(path: Path) -> None:
    whole, streamed = analyze_path(path, stream=False), analyze_streamed(path)
    assert not [note for note in streamed.warnings if "not run" in note]  # nothing given up
    assert _flat(streamed.metrics) == _flat(whole.metrics)
    assert _findings(streamed) == _findings(whole)
    assert streamed.trace is not None and whole.trace is not None
    assert streamed.trace.event_count == whole.trace.event_count
