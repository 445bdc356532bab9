"""A finding as the advisor gives them: about a whole run (no location), its
suggestion numbered steps on lines of their own."""

from __future__ import annotations

from ubscope.analyzers import Finding, Location, Severity


def whole_run_advice(suggestion: str) -> Finding:
    return Finding(
        code="ADV002",
        severity=Severity.WARNING,
        message="Memory Operator Issues",
        location=Location(),
        suggestion=suggestion,
    )
