"""ALN003 gm-unaligned."""

from __future__ import annotations

from typing import Any

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.model.alignment import UNALIGNED_SITE_KEYS
from ubscope.analyzers.rules.base import Rule, Threshold, register
from ubscope.analyzers.rules.helpers import (
    bounded_saving_ps,
    findings_for_sites,
    gain_severity,
    gain_text,
    saving_share,
    where,
)
from ubscope.probe.units import format_bytes


@register
class GmUnaligned(Rule):
    """GM address not 512 B aligned: the copy runs at reduced bandwidth.

    ## What it does
    Flags DataCopy transfers whose GM address is not on a 512 B boundary, per
    call site, with the bytes moved and the modelled time lost. It warns when
    aligning them would save at least ``min_gain_share`` of the modelled time
    and is info below (a few small misaligned copies cost next to nothing).

    ## Why it matters
    GM transfers go in 128/256/512 B bursts; an unaligned start splits them,
    and measured single-core bandwidth drops to about 70 % of the aligned case
    (Ascend C guide, "GM地址尽量512B对齐").

    ## Example
    Rows of 1000 fp16 elements (2000 B) copied one by one: every row after the
    first starts off a 512 B boundary::

        for row in range(rows):
            data_copy(tile, gm_x[row * 1000 :], 1008)

    ## How to fix
    Align tensor offsets (tile starts, row pitches) to 512 B, pad rows to a
    multiple of 512 B, or shift the split so each core starts aligned.
    """

    code = "ALN003"
    name = "gm-unaligned"
    severity = Severity.WARNING
    thresholds = {
        "min_gain_share": Threshold(
            0.05, "share of the modelled time aligning the copies must save to warn (info below)"
        ),
    }

    def check(self, ctx: TraceContext) -> list[Finding]:
        chip = ctx.chip

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            message = (
                f"{group.events:,} GM transfer(s) of tensor '{group.tensor}' {where(group)} start "
                f"off the {chip.gm_alignment} B boundary ({format_bytes(group.moved)} moved at "
                f"~{chip.misaligned_gm_factor:.0%} bandwidth)"
            )
            evidence = {
                "bytes": int(group.moved),
                "saved_ps": round(group.saved),
                "saved_share": round(saving_share(ctx, bounded_saving_ps(ctx, group.saved)), 3),
                "flag": "GM_UNALIGNED",
                "event_kinds": ["copy"],
            }
            suggestion = f"Align GM offsets of '{group.tensor}' to {chip.gm_alignment} B."
            gain = gain_text(ctx, group.saved, "of modelled copy time")
            return message, evidence, suggestion, gain

        findings = findings_for_sites(
            self, ctx, ctx.unaligned_gm_sites, describe, UNALIGNED_SITE_KEYS
        )
        for finding in findings:
            finding.severity = gain_severity(
                finding.evidence["saved_share"], self.limits["min_gain_share"], self.severity
            )
        return findings
