"""FRG003 rounding-waste."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.model.arrays import CORE_KIND_LABELS, SPACE_LABELS, group_parts
from ubscope.analyzers.rules.base import Rule, Threshold, register
from ubscope.probe.units import count_cores, format_bytes


@register
class RoundingWaste(Rule):
    """Allocation sizes rounded up waste a noticeable share of the bytes.

    ## What it does
    Sums the internal fragmentation (aligned size minus requested size) over
    the allocations of one memory and core kind (PyTorch's "rounding waste")
    and flags it when it reaches ``max_waste_fraction`` of the bytes
    allocated.

    ## Why it matters
    UB/L1 round to 32 B, L0A/L0B to 512 B; many small or odd-sized buffers
    lose capacity to padding.

    ## Example
    Many 100 B UB buffers, each rounded up to 128 B (22 % waste)::

        for i in range(64):
            pool.allocate(50, np.float16)

    ## How to fix
    Size tiles in whole alignment units, or pack small buffers into one
    allocation.
    """

    code = "FRG003"
    name = "rounding-waste"
    severity = Severity.INFO
    thresholds = {
        "max_waste_fraction": Threshold(
            0.1, "share of the allocated bytes lost to rounding from which it is flagged"
        ),
    }

    def check(self, ctx: TraceContext) -> list[Finding]:
        blocks = ctx.blocks
        waste_all = blocks.aligned - blocks.size
        kind, _, space = group_parts(blocks.gid)
        findings = []
        for key in np.unique(kind * 8 + space):
            mine = np.flatnonzero(kind * 8 + space == key)
            waste, total = int(waste_all[mine].sum()), int(blocks.aligned[mine].sum())
            if not total or waste < self.limits["max_waste_fraction"] * total:
                continue
            kind_label, space_label = CORE_KIND_LABELS[key // 8], SPACE_LABELS[key % 8]
            cores = sorted({int(c) for c in group_parts(blocks.gid[mine])[1]})
            message = (
                f"{format_bytes(waste)} of {format_bytes(total)} allocated in {space_label} on "
                f"{count_cores(len(cores), kind_label)} is rounding waste ({waste / total:.0%}): "
                f"requested sizes are not multiples of the "
                f"{ctx.chip.space_alignment(space_label)} B alignment"
            )
            findings.append(
                self.finding(
                    message,
                    ctx.location(blocks.alloc_row[mine]),
                    evidence={
                        "cores": cores,
                        "waste_bytes": waste,
                        "allocated_bytes": total,
                        "event_kinds": ["alloc"],
                    },
                    suggestion="Size tiles in whole alignment units or pack small buffers.",
                )
            )
        return findings
