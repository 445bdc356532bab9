"""FRG005 kv-cache-waste."""

from __future__ import annotations

from typing import Any

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, Threshold, register
from ubscope.probe.events import EventKind
from ubscope.probe.units import format_bytes


@register
class KvCacheWaste(Rule):
    """KV-cache pages hold far fewer tokens than they reserve.

    ## What it does
    Measures, per KV cache, the share of reserved bytes that hold no token:
    unused slots in partly filled pages, or whole contiguous reservations
    sized for the longest sequence; flags it from ``max_waste_fraction``.

    ## Why it matters
    HBM reserved for empty slots limits the batch size and number of
    concurrent sequences (the reason for PagedAttention).

    ## Example
    ``ubscope run paged_attention --preset contiguous`` reserves every sequence
    for the longest one: most of the cache holds no token.

    ## How to fix
    Use smaller pages (block_size) or paged allocation instead of a contiguous
    max-length reservation per sequence.
    """

    code = "FRG005"
    name = "kv-cache-waste"
    severity = Severity.WARNING
    thresholds = {
        "max_waste_fraction": Threshold(
            0.25, "share of the reserved KV-cache bytes holding no token from which it is flagged"
        ),
    }

    def check(self, ctx: TraceContext) -> list[Finding]:
        usage = ctx.kv_usage
        rows = ctx.rows(EventKind.KV_PAGE_ALLOC, EventKind.KV_PAGE_FREE)
        findings = []
        cache: Any  # a row of ctx.kv_usage
        for cache in usage.itertuples(index=False):
            reserved, used = int(cache.reserved_bytes), int(cache.used_bytes)
            waste = 1 - used / reserved if reserved else 0.0
            if waste < self.limits["max_waste_fraction"]:
                continue
            message = (
                f"KV cache '{cache.cache}': {waste:.0%} of {format_bytes(reserved)} reserved holds "
                f"no token ({cache.pages} pages of {cache.slots_per_page} slots, "
                f"{cache.partly_filled} partly filled)"
            )
            mine = rows[ctx.labels("tensor")[ctx.column("tensor")[rows]] == cache.cache]
            location = ctx.location(mine, tensor=cache.cache, space="GM")
            evidence = {
                "reserved_bytes": reserved,
                "used_bytes": used,
                "waste_ratio": round(waste, 4),
                "pages": int(cache.pages),
                "partly_filled": int(cache.partly_filled),
            }
            findings.append(
                self.finding(
                    message,
                    location,
                    evidence=evidence,
                    suggestion="Use smaller pages or paged allocation instead of a contiguous "
                    "reservation per sequence.",
                )
            )
        return findings
