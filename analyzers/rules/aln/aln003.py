"""ALN003 gm-unaligned."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, Threshold, register
from ubscope.analyzers.rules.helpers import (
    bounded_saving_ps,
    gain_severity,
    gain_text,
    gm_address,
    moved_bytes,
    saving_share,
    site_findings,
    where,
)
from ubscope.probe.events import EventKind, Flag, Space
from ubscope.probe.units import format_bytes

PS_PER_NS = 1000


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
        rows = ctx.flagged_rows(Flag.GM_UNALIGNED, EventKind.COPY)
        chip = ctx.chip
        # a copy's pipe time is its issue plus its bytes; only the bytes slow down
        transfer = np.maximum(ctx.column("dur_ps")[rows] - chip.gm_issue_ns * PS_PER_NS, 0)
        saved = transfer * (1 - chip.misaligned_gm_factor)

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            message = (
                f"{group.events} GM transfer(s) of tensor '{group.tensor}' {where(group)} start "
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

        findings = site_findings(
            self,
            ctx,
            rows,
            describe,
            keys=("tag", "core_kind", "tensor"),
            addr=gm_address(ctx, rows),
            space=np.full(rows.size, int(Space.GM)),
            values={"moved": moved_bytes(ctx, rows)},
            critical={"saved": saved},
        )
        for finding in findings:
            finding.severity = gain_severity(
                finding.evidence["saved_share"], self.limits["min_gain_share"], self.severity
            )
        return findings
