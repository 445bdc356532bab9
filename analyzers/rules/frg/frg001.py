"""FRG001 alloc-failed-with-enough-free."""

from __future__ import annotations

from typing import Any

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import site_findings, where
from ubscope.probe.units import format_bytes


@register
class FailedWithEnoughFree(Rule):
    """An allocation failed although enough bytes were free in total.

    ## What it does
    Flags allocations the allocator refused while the free bytes added up to
    at least the request: no single free block was large enough (external
    fragmentation), per call site, with the free total and largest block.

    ## Why it matters
    The kernel has the memory but cannot use it; it falls back to a slower
    path, flushes buffers, or fails.

    ## Example
    A free list with A [0, 64 KiB), B [64, 96 KiB), C [96, 160 KiB); A and C
    are freed, then a 128 KiB request fails: 160 KiB are free in total, but the
    largest free block is 96 KiB.

    ## How to fix
    Allocate long-lived buffers first (or from a separate pool) so short-lived
    tiles do not leave holes, use one tile size, or switch to a TPipe / bump
    pool that is reset every round.
    """

    code = "FRG001"
    name = "alloc-failed-with-enough-free"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        failures = ctx.table.alloc_failures()
        enough = failures.total_free >= failures.aligned_size
        rows = failures.rows[enough]
        needed, free = failures.aligned_size[enough], failures.total_free[enough]
        largest = failures.largest_free[enough]

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            events = int(group.events)
            message = (
                f"{events} allocation(s) failed {where(group)} although enough {group.space} "
                f"was free: on average {format_bytes(group.needed / events)} needed, "
                f"{format_bytes(group.free / events)} free in total but the largest free block "
                f"was {format_bytes(group.largest / events)}"
            )
            evidence = {
                "mean_requested_bytes": round(group.needed / events),
                "mean_free_bytes": round(group.free / events),
                "mean_largest_free_bytes": round(group.largest / events),
                "event_kinds": ["alloc_fail"],
            }
            suggestion = (
                "Allocate long-lived buffers first or from their own pool, use one tile size, "
                "or reset a bump pool every round."
            )
            return message, evidence, suggestion, None

        values = {"needed": needed, "free": free, "largest": largest}
        return site_findings(self, ctx, rows, describe, values=values)
