"""GM001 redundant-reloads."""

from __future__ import annotations

from typing import Any

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, Threshold, register
from ubscope.analyzers.rules.gm.transfers import reload_saving_ps, transfer_rows
from ubscope.analyzers.rules.helpers import gain_severity, gain_text, saving_share
from ubscope.probe.units import format_bytes


@register
class RedundantReloads(Rule):
    """A core reads the same GM bytes more than once.

    ## What it does
    Compares, per GM tensor, bytes read with the distinct bytes each core read
    within each launch, and flags a ratio of at least ``min_redundancy`` when
    the reloaded bytes reach ``min_extra_bytes``. Other cores reading the same
    bytes need their own copy, and each launch must read its inputs again (each
    decode step re-reads the live KV cache): neither is a reload. It warns when
    dropping the reloads would save at least ``min_gain_share`` of the modelled
    time (at the L2 rate where the model serves them from L2, else at full HBM
    bandwidth down to the roofline of the rest); below that it is information.
    (Strided transfers count as repeated only when the same transfer repeats
    exactly: their row pitch is not recorded.)

    ## Why it matters
    Every reload occupies the core's copy pipe again, and costs HBM bandwidth
    once the data no longer fits in L2; memory-bound kernels run slower.

    ## Example
    The same 64 KiB of weights loaded three times by one core (192 KiB read for
    64 KiB distinct, redundancy 3.0)::

        for _ in range(3):
            data_copy(w_tile, gm_weights, 32768)

    ## How to fix
    Keep the reused tile on chip (larger L1/UB tiles, loop order that reuses
    the resident operand), or reorder the loops so each core reads its slice
    once.
    """

    code = "GM001"
    name = "redundant-reloads"
    severity = Severity.WARNING
    thresholds = {
        "min_redundancy": Threshold(
            1.5,
            "bytes read over the distinct bytes each core read, per tensor, from which it is flagged",
        ),
        "min_extra_bytes": Threshold(65536, "smallest number of bytes read again that is flagged"),
        "min_gain_share": Threshold(
            0.05, "estimated saving, as a share of the modelled time, from which it is a warning"
        ),
    }

    def check(self, ctx: TraceContext) -> list[Finding]:
        traffic = ctx.traffic
        if traffic.empty:
            return []
        reads = traffic[(traffic["direction"] == "read") & ~traffic["workspace"]]
        needed = reads["bytes"] - reads["reloaded_bytes"]
        redundancy = reads["bytes"] / needed.clip(lower=1)
        hot = (redundancy >= self.limits["min_redundancy"]) & (
            reads["reloaded_bytes"] >= self.limits["min_extra_bytes"]
        )
        findings = []
        row: Any  # a row of ctx.traffic
        for row, ratio in zip(
            reads[hot].itertuples(index=False), redundancy[hot].tolist(), strict=True
        ):
            surplus = int(row.reloaded_bytes)
            message = (
                f"tensor '{row.tensor}' is read {ratio:.2f}x by the same cores: "
                f"{format_bytes(row.bytes)} read for {format_bytes(row.bytes - surplus)} each "
                f"core needs ({format_bytes(surplus)} reloaded)"
            )
            rows = transfer_rows(ctx, True, row.tensor)
            location = ctx.location(rows, tensor=row.tensor, space="GM", core=None, core_kind=None)
            evidence = {
                "bytes_read": int(row.bytes),
                "reloaded_bytes": surplus,
                "redundancy": round(ratio, 3),
                "event_kinds": ["copy"],
            }
            saved = reload_saving_ps(ctx, surplus, row.reloaded_on_one_core)
            findings.append(
                self.finding(
                    message,
                    location,
                    severity=gain_severity(
                        saving_share(ctx, saved), self.limits["min_gain_share"], self.severity
                    ),
                    evidence=evidence,
                    suggestion=f"Keep reused tiles of '{row.tensor}' on chip instead of reloading.",
                    estimated_gain=gain_text(ctx, saved, "of modelled copy time"),
                )
            )
        return findings
