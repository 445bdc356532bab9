"""ALN004 small-bursts."""

from __future__ import annotations

from typing import Any

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.model.bursts import SMALL_BURST_SITE_KEYS
from ubscope.analyzers.rules.base import Rule, Threshold, register
from ubscope.analyzers.rules.helpers import (
    bounded_saving_ps,
    findings_for_sites,
    gain_severity,
    gain_text,
    saving_share,
    where,
)
from ubscope.probe.costmodel import PS_PER_NS
from ubscope.probe.units import format_bytes, format_time_ps


@register
class SmallBursts(Rule):
    """GM transfers so small that the model charges them extra pipe time.

    ## What it does
    Flags, per call site, GM copies below the chip's efficient transfer size
    (16 KiB on 910B) or with bursts not whole 32 B blocks, when the cost model
    charges them a real cost: every GM copy occupies its MTE pipe for a fixed
    issue time (``gm_copy_issue_ns``) besides its bytes, and each burst is
    rounded up to 32 B. Merging the site's bytes into copies of at least the
    efficient size, one contiguous run each, saves the extra issues and the
    rounding; the gain is that saving on the critical path (per core and
    launch, less the longer first merged copy the core waits for, and at most
    the core's time beyond its busiest other work; the cores of a launch run
    side by side). A strided copy of 64 x 512 B costs what a
    contiguous 32 KiB copy costs, so it is not flagged. It warns when the gain
    reaches ``min_gain_share`` of the modelled time, and is info below.

    ## Why it matters
    Small copies spend their MTE pipe's time on issuing rather than moving
    bytes; single transfers of 16 KB or more reach the best bandwidth
    (Ascend C guide).

    ## Example
    A 64 KiB tile loaded as 32 copies of 2 KiB::

        for part in range(32):
            data_copy(tile[part * 1024 :], gm_x[part * 1024 :], 1024)

    ## How to fix
    Copy larger tiles (more rows per DataCopy), make rows contiguous in GM, or
    batch several small copies into one strided DataCopy.
    """

    code = "ALN004"
    name = "small-bursts"
    severity = Severity.WARNING
    thresholds = {
        "min_transfers": Threshold(
            8, "small-burst transfers a call site makes before it is flagged"
        ),
        "min_gain_share": Threshold(
            0.05,
            "share of the modelled time merging the transfers must save to warn (info below)",
        ),
    }

    def check(self, ctx: TraceContext) -> list[Finding]:
        chip = ctx.chip
        if ctx.small_burst_count < max(1, self.limits["min_transfers"]):
            # no call site can reach min_transfers: skip the critical-path sweep
            # over every copy and compute of the trace
            return []
        issue_ps = chip.gm_issue_ns * PS_PER_NS

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            gain = bounded_saving_ps(ctx, float(group.saved))
            share = saving_share(ctx, gain)
            rounded = (
                f" and {format_bytes(group.rounding)} of 32 B rounding" if group.rounding else ""
            )
            message = (
                f"{group.events:,} GM transfer(s) {where(group)} move "
                f"{format_bytes(group.moved / group.events)} each on average in bursts of "
                f"{format_bytes(group.burst / group.events)}: the model charges "
                f"{format_time_ps(issue_ps)} of MTE pipe time per copy{rounded}; copies of "
                f"{format_bytes(chip.efficient_burst_bytes)} or more would save "
                f"{format_time_ps(gain)} ({share:.0%} of the modelled time)"
            )
            evidence = {
                "bytes": int(group.moved),
                "mean_burst_bytes": round(group.burst / group.events),
                "rounding_bytes": int(group.rounding),
                "saved_ps": round(gain),
                "saved_share": round(share, 3),
                "event_kinds": ["copy"],
            }
            suggestion = (
                f"Move at least {format_bytes(chip.efficient_burst_bytes)} per DataCopy: "
                "larger tiles, contiguous rows or one strided copy."
            )
            return message, evidence, suggestion, gain_text(ctx, gain, "of MTE pipe time")

        findings = findings_for_sites(
            self, ctx, ctx.small_burst_sites, describe, SMALL_BURST_SITE_KEYS
        )
        kept = [
            f
            for f in findings
            if f.evidence["events"] >= self.limits["min_transfers"] and f.evidence["saved_ps"] > 0
        ]
        for finding in kept:
            finding.severity = gain_severity(
                finding.evidence["saved_share"], self.limits["min_gain_share"], self.severity
            )
        return kept
