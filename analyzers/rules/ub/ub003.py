"""UB003 ub-scratch-overlap."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import site_findings, where
from ubscope.probe.events import Space
from ubscope.probe.units import format_bytes


@register
class ScratchOverlap(Rule):
    """UB buffers reach into the scratch area built-in APIs use.

    ## What it does
    On chips that reserve the top of UB (910B: [184 KiB, 192 KiB)), flags
    allocations that extend into that area, per core kind.

    ## Why it matters
    Compare/select and some binary ops use it as temporary space through
    GetTemporaryBufferAddr; a kernel buffer there is overwritten behind its
    back when such an API runs (a reading of the CANN source, not a
    documented rule).

    ## Example
    One 186 KiB UB buffer on a 910B vector core: its last 2 KiB lie in the
    scratch area::

        big = pool.allocate(186 * 512, np.float16)  # [0, 186 KiB)

    ## How to fix
    Keep the sum of UB buffers within ``chip.ub_safe_budget`` (184 KiB on
    910B), or make sure none of those APIs are called.
    """

    code = "UB003"
    name = "ub-scratch-overlap"
    severity = Severity.WARNING

    def check(self, ctx: TraceContext) -> list[Finding]:
        chip = ctx.chip
        if chip.ub_scratch_bytes <= 0:
            return []
        blocks = ctx.blocks
        budget, capacity = chip.ub_safe_budget, chip.capacity["UB"]
        hits = np.flatnonzero(
            (blocks.gid % 8 == Space.UB) & (blocks.end > budget) & (blocks.addr < capacity)
        )
        rows = blocks.alloc_row[hits]

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            message = (
                f"{group.events:,} UB allocation(s) {where(group)} reach into the top "
                f"{format_bytes(chip.ub_scratch_bytes)} of UB (from {format_bytes(budget)}) that "
                f"built-in APIs use as scratch on {chip.name}, up to {format_bytes(group.addr_end)}"
            )
            evidence = {"safe_budget_bytes": budget, "event_kinds": ["alloc"]}
            suggestion = f"Keep UB buffers below {format_bytes(budget)} on {chip.name}."
            return message, evidence, suggestion, None

        return site_findings(self, ctx, rows, describe, keys=("tag", "core_kind"))
