"""GM002 traffic-above-minimum."""

from __future__ import annotations

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, Threshold, register
from ubscope.analyzers.rules.gm.transfers import traffic_saving_ps, transfer_rows
from ubscope.analyzers.rules.helpers import gain_severity, gain_text, saving_share
from ubscope.probe.units import format_bytes


@register
class TrafficAboveMinimum(Rule):
    """GM traffic well above what the kernel's math needs.

    ## What it does
    Compares HBM bytes read (or written) with the kernel's minimal traffic
    (each launch reads its inputs once and writes its outputs once; from the
    trace's metadata) and flags a ratio of at least ``max_ratio``. HBM bytes
    are the cost model's: every write, and every read but those it serves from
    L2 (repeated reads, when all the run touches fits in L2). It warns
    when moving only the minimum would save at least ``min_gain_share`` of the
    modelled time (the surplus at full bandwidth, down to the roofline of the
    rest); below that it is information. Core-to-core workspaces (L2-resident)
    are not counted.

    ## Why it matters
    Extra traffic is time on memory-bound kernels, and energy always.

    ## Example
    A kernel whose minimal traffic is 64 KiB of reads loads its input three
    times: 192 KiB read, 3.0x the minimum.

    ## How to fix
    See GM001 for reloads; also avoid spilling intermediates to GM and writing
    outputs twice.
    """

    code = "GM002"
    name = "traffic-above-minimum"
    severity = Severity.WARNING
    thresholds = {
        "max_ratio": Threshold(
            1.25,
            "bytes moved over the kernel's minimal traffic, per direction, from which it is flagged",
        ),
        "min_gain_share": Threshold(
            0.05, "estimated saving, as a share of the modelled time, from which it is a warning"
        ),
    }

    def check(self, ctx: TraceContext) -> list[Finding]:
        minimal = ctx.minimal_traffic
        traffic = ctx.traffic
        findings = []
        for direction in ("read", "write"):
            least = minimal.get(direction, 0)
            if least <= 0 or traffic.empty:
                continue
            mine = traffic[(traffic["direction"] == direction) & ~traffic["workspace"]]
            moved = int(mine["hbm_bytes"].sum())
            ratio = moved / least
            if ratio < self.limits["max_ratio"]:
                continue
            surplus = moved - int(least)
            message = (
                f"HBM {direction}s are {ratio:.2f}x the kernel's minimum: {format_bytes(moved)} "
                f"vs {format_bytes(least)} needed"
            )
            rows = transfer_rows(ctx, direction == "read")
            location = ctx.location(rows, space="GM", core=None, core_kind=None)
            evidence = {
                "bytes": moved,
                "minimal_bytes": int(least),
                "ratio": round(ratio, 3),
                "event_kinds": ["copy"],
            }
            saved = traffic_saving_ps(ctx, surplus)
            findings.append(
                self.finding(
                    message,
                    location,
                    severity=gain_severity(
                        saving_share(ctx, saved), self.limits["min_gain_share"], self.severity
                    ),
                    evidence=evidence,
                    suggestion="Read each input once and write each output once (see GM001).",
                    estimated_gain=gain_text(ctx, saved, "at full bandwidth"),
                )
            )
        return findings
