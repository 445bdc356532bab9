"""The check that a streamed analysis gives the metrics and the findings of the
rules it runs exactly as the in-memory analysis does (the independent
implementation), on any trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ubscope.analyzers.api import Analysis, analyze_path
from ubscope.analyzers.streaming import STREAMED_RULES, analyze_streamed


def _flat(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, dict) and key not in ("params", "by_code"):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _findings(analysis: Analysis, codes: frozenset[str]) -> list[tuple]:
    return sorted(
        (f.code, str(f.severity), f.message, repr(f.location), repr(f.evidence), f.suggestion)
        for f in analysis.findings
        if f.code in codes
    )


def assert_same_analysis(path: Path) -> None:
    whole, streamed = analyze_path(path, stream=False), analyze_streamed(path)
    expected, got = _flat(whole.metrics), _flat(streamed.metrics)
    for name, value in expected.items():
        if name.startswith("findings."):
            continue  # counts of the rules not run differ by design
        else:
            assert got[name] == value, name
    by_code = expected["findings.by_code"]
    assert got["findings.by_code"] == {c: n for c, n in by_code.items() if c in STREAMED_RULES}
    assert _findings(streamed, STREAMED_RULES) == _findings(whole, STREAMED_RULES)
    assert streamed.trace is not None and whole.trace is not None
    assert streamed.trace.event_count == whole.trace.event_count
