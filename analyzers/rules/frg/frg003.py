"""FRG003 rounding-waste."""

from __future__ import annotations

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
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
        findings = []
        for waste in ctx.rounding_waste():
            lost, total = waste.waste_bytes, waste.allocated_bytes
            if not total or lost < self.limits["max_waste_fraction"] * total:
                continue
            message = (
                f"{format_bytes(lost)} of {format_bytes(total)} allocated in {waste.space} on "
                f"{count_cores(len(waste.cores), waste.core_kind)} is rounding waste "
                f"({lost / total:.0%}): requested sizes are not multiples of the "
                f"{ctx.chip.space_alignment(waste.space)} B alignment"
            )
            findings.append(
                self.finding(
                    message,
                    ctx.location(waste.rows),
                    evidence={
                        "cores": waste.cores,
                        "waste_bytes": lost,
                        "allocated_bytes": total,
                        "event_kinds": ["alloc"],
                    },
                    suggestion="Size tiles in whole alignment units or pack small buffers.",
                )
            )
        return findings
