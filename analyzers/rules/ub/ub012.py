"""UB012 partial-overlap."""

from __future__ import annotations

from typing import Any

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import site_findings, where
from ubscope.probe.events import EventKind, Flag


@register
class PartialOverlap(Rule):
    """A vector op's destination partly overlaps one of its sources.

    ## What it does
    Flags vector instructions whose source and destination ranges overlap
    but do not coincide, per call site.

    ## Why it matters
    Ascend C supports only 100 % overlap (in-place) within one iteration; a
    partial overlap reads data the same instruction already overwrote, so
    results depend on the hardware's internal order.

    ## Example
    Adding a tile to itself shifted by 16 elements::

        vector.add(a[16:144], a[0:128], b[0:128], 128)  # dst starts inside src

    ## How to fix
    Compute into a separate buffer, or make the operation fully in place.
    """

    code = "UB012"
    name = "partial-overlap"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        rows = ctx.flagged_rows(Flag.PARTIAL_OVERLAP, EventKind.COMPUTE)

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            message = f"{group.events:,} vector op(s) {where(group)} partly overlap a source"
            evidence = {"flag": "PARTIAL_OVERLAP", "event_kinds": ["compute"]}
            return message, evidence, "Use a separate destination buffer.", None

        return site_findings(self, ctx, rows, describe)
