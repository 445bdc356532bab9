"""FRG004 high-water-gap."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, Threshold, register
from ubscope.analyzers.rules.helpers import core_list, per_kind_and_space
from ubscope.probe.units import count_cores, format_bytes


@register
class HighWaterGap(Rule):
    """The address range used is much larger than the peak of live bytes.

    ## What it does
    Measures the high-water mark (highest address ever allocated) minus the
    peak of live bytes, per core and memory, and flags a gap of at least
    ``min_gap_fraction`` of the high-water mark and ``min_gap_bytes`` (PyTorch's
    "gaps": reserved address space no live data ever filled at once).

    ## Why it matters
    The allocator places blocks higher than it needs to, so the kernel runs out
    of capacity sooner than its data requires.

    ## Example
    A bump pool that is freed tile by tile but never reset: each round's 16 KiB
    tile lands above the last, so after 4 rounds the high-water mark is 64 KiB
    while only 16 KiB were ever live at once.

    ## How to fix
    Reuse freed ranges (reset the pool, allocate in a fixed order) so the
    layout stays compact.
    """

    code = "FRG004"
    name = "high-water-gap"
    severity = Severity.INFO
    thresholds = {
        "min_gap_fraction": Threshold(
            0.25, "gap as a fraction of the high-water mark from which it is flagged"
        ),
        "min_gap_bytes": Threshold(4096, "smallest gap in bytes that is flagged"),
    }

    def check(self, ctx: TraceContext) -> list[Finding]:
        peaks = ctx.peaks
        if peaks.empty:
            return []
        gap = peaks["high_water"] - peaks["peak_live_bytes"]
        wide = peaks[
            (gap >= self.limits["min_gap_fraction"] * peaks["high_water"])
            & (gap >= self.limits["min_gap_bytes"])
        ].assign(gap=gap)
        findings = []
        for kind, space, group in per_kind_and_space(wide):
            worst = group.iloc[int(np.argmax(group["gap"].to_numpy()))]
            cores = sorted(int(c) for c in group["core"])
            message = (
                f"{space} high-water mark exceeds the peak of live bytes by up to "
                f"{format_bytes(int(worst['gap']))} on {count_cores(len(cores), kind)} "
                f"({core_list(kind, cores)}): {format_bytes(int(worst['high_water']))} of "
                f"address space for {format_bytes(int(worst['peak_live_bytes']))} live at peak"
            )
            location = ctx.location(
                ctx.rows_of_seq(np.array([int(worst["peak_seq"])])),
                core=int(worst["core"]),
                space=space,
            )
            evidence = {
                "cores": cores,
                "gap_bytes": int(worst["gap"]),
                "high_water_bytes": int(worst["high_water"]),
                "peak_live_bytes": int(worst["peak_live_bytes"]),
            }
            findings.append(
                self.finding(
                    message,
                    location,
                    evidence=evidence,
                    suggestion="Reuse freed ranges so the layout stays compact.",
                )
            )
        return findings
