"""ALN004 small-bursts."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, Threshold, register
from ubscope.analyzers.rules.helpers import (
    gain_text,
    moved_bytes,
    on_chip_side,
    site_findings,
    where,
)
from ubscope.probe.events import EventKind, Space
from ubscope.probe.units import format_bytes

PS_PER_NS = 1000


@register
class SmallBursts(Rule):
    """GM transfers in bursts too small to reach full bandwidth.

    ## What it does
    Flags DataCopy transfers between GM and on-chip memory whose contiguous
    burst is below the chip's efficient size (16 KiB on 910B), per call site,
    when a site has at least ``min_transfers`` of them. The modelled gain is
    the per-transfer latency saved by merging them into full-size transfers,
    on the core that saves most (cores run side by side).

    ## Why it matters
    Every transfer pays a fixed latency and small bursts cannot keep the
    memory system busy; single transfers of 16 KB or more reach the best
    bandwidth (Ascend C guide).

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
    }

    def check(self, ctx: TraceContext) -> list[Finding]:
        chip = ctx.chip
        copies = ctx.rows(EventKind.COPY)
        gm_side = (ctx.column("space")[copies] == Space.GM) | (
            ctx.column("src_space")[copies] == Space.GM
        )
        copies = copies[gm_side]
        rows = copies[ctx.column("burst_len")[copies] < chip.efficient_burst_bytes]
        space, addr = on_chip_side(ctx, rows)
        moved = moved_bytes(ctx, rows)
        # Merged into full-size transfers, each event's bytes pay a latency only in
        # proportion to how much of a full transfer they fill.
        latency_ps = chip.gm_latency_ns * PS_PER_NS
        saved = latency_ps * np.maximum(0, 1 - moved / chip.efficient_burst_bytes)

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            message = (
                f"{group.events} GM transfer(s) {where(group)} use bursts below "
                f"{format_bytes(chip.efficient_burst_bytes)} (average "
                f"{format_bytes(group.burst / group.events)}; {format_bytes(group.moved)} moved)"
            )
            evidence = {
                "bytes": int(group.moved),
                "mean_burst_bytes": round(group.burst / group.events),
                "event_kinds": ["copy"],
            }
            suggestion = (
                f"Move at least {format_bytes(chip.efficient_burst_bytes)} per contiguous burst: "
                "larger tiles or contiguous rows."
            )
            gain = gain_text(ctx, group.saved, "of modelled transfer latency")
            return message, evidence, suggestion, gain

        values = {"moved": moved, "burst": ctx.column("burst_len")[rows]}
        findings = site_findings(
            self,
            ctx,
            rows,
            describe,
            keys=("tag", "core_kind"),
            addr=addr,
            space=space,
            values=values,
            critical={"saved": saved},
        )
        return [f for f in findings if f.evidence["events"] >= self.limits["min_transfers"]]
