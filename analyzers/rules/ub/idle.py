"""The shared logic of the two msMemScope-style idle-time checks (UB009, UB010)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.model.blocks import BlockLives
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
    reads_block_usage = True

    def idle_of(
        self, lives: BlockLives, first_ps: np.ndarray, last_end_ps: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(idle picoseconds, lifetime picoseconds) per block, from its life and
        its first and last touch (-1: never touched, then 0 idle)."""
        if self.from_allocation:
            idle = np.where(first_ps >= 0, first_ps - lives.t_alloc_ps, 0)
        else:
            idle = np.where(last_end_ps >= 0, lives.t_end_ps - last_end_ps, 0)
        return np.maximum(idle, 0), lives.t_end_ps - lives.t_alloc_ps

    def flagged(self, idle: np.ndarray, lifetime: np.ndarray) -> np.ndarray:
        """Which blocks are idle long enough, absolutely and as part of their lifetime."""
        return (idle >= self.limits["min_idle_us"] * PS_PER_US) & (
            idle >= self.limits["min_idle_fraction"] * np.maximum(lifetime, 1)
        )

    def check(self, ctx: TraceContext) -> list[Finding]:
        lives, usage = ctx.block_lives, ctx.block_usage
        idle, lifetime = self.idle_of(lives, usage.first_ps, usage.last_end_ps)
        if not ctx.ran_to_end:  # a block live at the cut has an unknown lifetime
            idle = np.where(lives.freed, idle, 0)
        flagged = np.flatnonzero(self.flagged(idle, lifetime))
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
            f"{count:,} '{labels['name']}' {labels['space']} block(s) on "
            f"{count_cores(len(labels['cores']), labels['kind'])} {self.verb} on average {format_time_ps(mean_idle)} "
            f"{self.relative_to} ({share:.0%} of their lifetime idle)"
        )

    suggestion = ""
    from_allocation = True  # idle from allocation to first use, else from last use to free
    verb = ""  # "allocated" / "freed"
    relative_to = ""  # "before first use" / "after last use"
