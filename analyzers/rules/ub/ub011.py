"""UB011 unused-allocation."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import core_list
from ubscope.analyzers.rules.ub.buffers import block_frame, buffer_location, per_buffer
from ubscope.probe.units import count_cores, format_bytes


@register
class UnusedAllocation(Rule):
    """Buffers allocated and never touched.

    ## What it does
    Flags blocks that no copy or compute event wrote or read while they were
    live (as msSanitizer's "unused memory"), per buffer name. In a truncated
    trace, blocks still live at the cut are not judged.

    ## Why it matters
    The bytes are reserved for nothing; in UB that is capacity the tiles could
    have used.

    ## Example
    A buffer allocated but a different one passed to the copy::

        used = pool.allocate(2048, np.float16)
        idle = pool.allocate(2048, np.float16)  # never read or written
        data_copy(used, src, 2048)

    ## How to fix
    Drop the allocation, or check that the kernel uses the buffer it meant to
    (a wrong tensor passed to a copy leaves the intended one unused).
    """

    code = "UB011"
    name = "unused-allocation"
    severity = Severity.WARNING

    def check(self, ctx: TraceContext) -> list[Finding]:
        blocks = ctx.blocks
        # in a truncated trace a block still live at the cut may be used after it
        whole_life = (blocks.free_row >= 0) | ctx.trace.complete
        unused = np.flatnonzero((ctx.block_usage.last_row < 0) & whole_life)
        findings = []
        for labels, group in per_buffer(ctx, block_frame(ctx, unused)):
            total = int(group["bytes"].sum())
            message = (
                f"{len(group)} '{labels['name']}' {labels['space']} block(s) "
                f"({format_bytes(total)}) allocated but never used on "
                f"{count_cores(len(labels['cores']), labels['kind'])} ({core_list(labels['kind'], labels['cores'])})"
            )
            findings.append(
                self.finding(
                    message,
                    buffer_location(ctx, group),
                    evidence={
                        "cores": labels["cores"],
                        "blocks": len(group),
                        "bytes": total,
                        "event_kinds": ["alloc"],
                    },
                    suggestion="Drop the allocation or make sure the kernel uses it.",
                )
            )
        return findings
