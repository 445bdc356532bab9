"""ALN001 misaligned-address."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.model.arrays import SPACE_LABELS
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import on_chip_side, site_findings, where
from ubscope.probe.events import ON_CHIP_SPACES, EventKind, Flag


@register
class MisalignedAddress(Rule):
    """On-chip address not aligned for its memory.

    ## What it does
    Flags allocations, copies and vector ops whose UB/L1 address is not a
    multiple of 32 B, L0A/L0B of 512 B or L0C of 64 B, per call site.

    ## Why it matters
    The hardware requires these alignments; a misaligned UB operand raises
    "Illegal instruction ... unaligned UB addresses" (EZ9999 / aivec error
    0x10) or silently reads the wrong bytes.

    ## Example
    A vector op on a sub-tensor 3 fp16 elements (6 B) off a 32 B boundary::

        a = pool.allocate(64, np.float16)
        vector.adds(a[3:35], a[3:35], 1.0, 32)

    ## How to fix
    Allocate through TPipe / an aligned pool, and offset sub-tensors by whole
    32 B blocks (16 fp16 / 8 fp32 elements).
    """

    code = "ALN001"
    name = "misaligned-address"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        flagged = ctx.flagged_rows(Flag.MISALIGNED, EventKind.COPY, EventKind.COMPUTE)
        allocs = ctx.rows(EventKind.ALLOC)
        alignment = np.array(
            [
                ctx.chip.space_alignment(s) if s in [x.name for x in ON_CHIP_SPACES] else 1
                for s in SPACE_LABELS
            ]
        )
        misplaced = allocs[ctx.column("addr")[allocs] % alignment[ctx.column("space")[allocs]] != 0]
        rows = np.union1d(flagged, misplaced)
        space, addr = on_chip_side(ctx, rows)
        misaligned_by = addr % alignment[space]

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            required = ctx.chip.space_alignment(group.space)
            message = (
                f"{group.events:,} {group.space} access(es) {where(group)} at addresses not "
                f"{required} B aligned (first 0x{int(group.addr_start):x})"
            )
            evidence = {"required_alignment": required, "event_kinds": ["alloc", "copy", "compute"]}
            suggestion = f"Place {group.space} buffers and sub-tensors on {required} B boundaries."
            return message, evidence, suggestion, None

        return site_findings(
            self, ctx, rows, describe, addr=addr, space=space, values={"offset": misaligned_by}
        )
