"""The shared logic of the two msMemScope-style idle-time checks (UB009, UB010)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.model.touches import BlockUsage
from ubscope.analyzers.rules.base import Rule, Threshold
from ubscope.analyzers.rules.ub.buffers import block_frame, buffer_location, per_buffer
from ubscope.probe.units import count_cores, format_time_ps

PS_PER_US = 1_000_000


class IdleRule(Rule):
    """Shared logic of the two msMemScope-style idle-time checks."""

    thresholds = {
        "min_idle_us": Threshold(1.0, "idle time in microseconds from which a block is flagged"),
        "min_idle_fraction": Threshold(
            0.75, "idle time as a fraction of the block's lifetime from which it is flagged"
        ),
    }
    severity = Severity.INFO

    def idle_ps(self, ctx: TraceContext) -> tuple[np.ndarray, np.ndarray]:
        """(idle picoseconds, block lifetime picoseconds) per block (0 idle if unused)."""
        t_alloc, t_end, usage = self.block_times(ctx)
        if self.from_allocation:
            idle = np.where(usage.first_ps >= 0, usage.first_ps - t_alloc, 0)
        else:
            idle = np.where(usage.last_end_ps >= 0, t_end - usage.last_end_ps, 0)
        return np.maximum(idle, 0), t_end - t_alloc

    def check(self, ctx: TraceContext) -> list[Finding]:
        idle, lifetime = self.idle_ps(ctx)
        if not ctx.ran_to_end:  # a block live at the cut has an unknown lifetime
            idle = np.where(ctx.blocks.free_row >= 0, idle, 0)
        flagged = np.flatnonzero(
            (idle >= self.limits["min_idle_us"] * PS_PER_US)
            & (idle >= self.limits["min_idle_fraction"] * np.maximum(lifetime, 1))
        )
        frame = block_frame(ctx, flagged, idle=idle[flagged], lifetime=lifetime[flagged])
        findings = []
        for labels, group in per_buffer(ctx, frame):
            share = float(group["idle"].sum() / max(1, group["lifetime"].sum()))
            mean_idle = float(group["idle"].mean())
            message = self.describe(labels, len(group), mean_idle, share)
            findings.append(
                self.finding(
                    message,
                    buffer_location(ctx, group),
                    evidence={
                        "cores": labels["cores"],
                        "blocks": len(group),
                        "mean_idle_ps": round(mean_idle),
                        "idle_share": round(share, 3),
                        "bytes": int(group["bytes"].sum()),
                    },
                    suggestion=self.suggestion,
                )
            )
        return findings

    def describe(self, labels: dict[str, Any], count: int, mean_idle: float, share: float) -> str:
        return (
            f"{count} '{labels['name']}' {labels['space']} block(s) on "
            f"{count_cores(len(labels['cores']), labels['kind'])} {self.verb} on average {format_time_ps(mean_idle)} "
            f"{self.relative_to} ({share:.0%} of their lifetime idle)"
        )

    suggestion = ""
    from_allocation = True  # idle from allocation to first use, else from last use to free
    verb = ""  # "allocated" / "freed"
    relative_to = ""  # "before first use" / "after last use"

    @staticmethod
    def block_times(ctx: TraceContext) -> tuple[np.ndarray, np.ndarray, BlockUsage]:
        """(allocation time, end of life, usage) per block; a block never freed lives
        until the end of the trace."""
        blocks = ctx.blocks
        start = ctx.column("start_ps")
        t_alloc = start[blocks.alloc_row]
        freed = blocks.free_row >= 0
        end_of_trace = ctx.modelled_end_ps if not freed.all() else 0
        t_end = np.where(freed, start[np.where(freed, blocks.free_row, 0)], end_of_trace)
        return t_alloc, np.maximum(t_end, t_alloc), ctx.block_usage
