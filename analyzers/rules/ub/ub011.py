"""UB011 unused-allocation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import core_list
from ubscope.analyzers.rules.ub.buffers import block_frame, buffer_location, per_buffer
from ubscope.probe.units import count_cores, format_bytes


def spare_queue_blocks(ctx: TraceContext, unused: np.ndarray) -> np.ndarray:
    """Which of the ``unused`` blocks are a later block of a queue whose first
    block was used: the spare of a ping-pong pair that a loop of fewer rounds
    than the queue has buffers never reached."""
    blocks = ctx.blocks
    allocs = ctx.table.allocs()
    queue_block = allocs.at("queue_block", blocks.alloc_row[unused])
    # InitBuffer records a queue's blocks one after another, block 0 first
    first = unused - queue_block
    later = (queue_block > 0) & (first >= 0)
    first = np.where(later, first, unused)
    same_queue = (
        later
        & (blocks.gid[first] == blocks.gid[unused])
        & (blocks.name[first] == blocks.name[unused])
        & (allocs.at("queue_block", blocks.alloc_row[first]) == 0)
    )
    return same_queue & (ctx.block_usage.last_row[first] >= 0)


@register
class UnusedAllocation(Rule):
    """Buffers allocated and never touched.

    ## What it does
    Flags blocks that no copy or compute event wrote or read while they were
    live (as msSanitizer's "unused memory"), per buffer name. A CPU-twin
    kernel's scalar ``SetValue`` / ``GetValue`` on a block counts as a use. A later block of
    a multi-buffered queue whose first block was used (the second ping-pong
    buffer of a loop that ran a single round) is reported as info only. In a
    truncated trace, or one a device fault stopped, blocks still live at the
    cut are not judged.

    ## Why it matters
    The bytes are reserved for nothing; in UB that is capacity the tiles could
    have used. A spare ping-pong buffer costs its bytes only on short loops:
    the same kernel over more tiles uses it.

    ## Example
    A buffer allocated but a different one passed to the copy::

        used = pool.allocate(2048, np.float16)
        idle = pool.allocate(2048, np.float16)  # never read or written
        data_copy(used, src, 2048)

    ## How to fix
    Drop the allocation, or check that the kernel uses the buffer it meant to
    (a wrong tensor passed to a copy leaves the intended one unused). A spare
    ping-pong buffer needs no fix unless the loop is always that short.
    """

    code = "UB011"
    name = "unused-allocation"
    severity = Severity.WARNING
    reads_block_usage = True

    def check(self, ctx: TraceContext) -> list[Finding]:
        # in a truncated or fault-stopped trace a block live at the cut may be used after it
        whole_life = ctx.block_lives.freed | ctx.ran_to_end
        unused = np.flatnonzero((ctx.block_usage.last_row < 0) & whole_life)
        frame = block_frame(ctx, unused, spare=spare_queue_blocks(ctx, unused))
        findings = []
        for spare, part in frame.groupby("spare", sort=True):
            for labels, group in per_buffer(ctx, part):
                findings.append(self._finding(ctx, labels, group, bool(spare)))
        return findings

    def _finding(
        self, ctx: TraceContext, labels: dict[str, Any], group: pd.DataFrame, spare: bool
    ) -> Finding:
        total = int(group["bytes"].sum())
        what = (
            f"{len(group):,} '{labels['name']}' {labels['space']} block(s) ({format_bytes(total)})"
        )
        where = (
            f"{count_cores(len(labels['cores']), labels['kind'])} "
            f"({core_list(labels['kind'], labels['cores'])})"
        )
        if spare:
            message = (
                f"{what} of a multi-buffered queue never used on {where}: the loop ran fewer "
                "rounds than the queue has buffers"
            )
            suggestion = (
                "Nothing to fix unless the loop is always this short (then use one buffer)."
            )
        else:
            message = f"{what} allocated but never used on {where}"
            suggestion = "Drop the allocation or make sure the kernel uses it."
        return self.finding(
            message,
            buffer_location(ctx, group),
            severity=Severity.INFO if spare else None,
            evidence={
                "cores": labels["cores"],
                "blocks": len(group),
                "bytes": total,
                "spare_queue_blocks": spare,
                "event_kinds": ["alloc"],
            },
            suggestion=suggestion,
        )
