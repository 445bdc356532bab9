"""UB005 never-freed."""

from __future__ import annotations

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import core_list
from ubscope.analyzers.rules.ub.buffers import block_frame, buffer_location, per_buffer
from ubscope.probe.units import count_cores, format_bytes


@register
class NeverFreed(Rule):
    """Allocations still live when their kernel ended.

    ## What it does
    Flags on-chip blocks with no matching free (or pool reset) by the end of
    the launch, per buffer name. A truncated trace, or one a device fault
    stopped (a raw GM access caught by a guard page), is skipped: the frees
    after the cut were not recorded or never ran.

    ## Why it matters
    A pool or queue that is never released keeps its bytes for the rest of
    the kernel; in a loop this is how a pool grows until it overflows.

    ## Example
    A tile allocated every round and never freed::

        for round_ in range(4):
            tile = pool.allocate(8192, np.float16)  # no free, no pool.reset()
            data_copy(tile, src[round_ * 8192 :], 8192)

    ## How to fix
    Free the tensor (FreeTensor / free) or reset the pool when the round is
    done.
    """

    code = "UB005"
    name = "never-freed"
    severity = Severity.WARNING

    def check(self, ctx: TraceContext) -> list[Finding]:
        if not ctx.ran_to_end:
            return []
        findings = []
        for labels, group in per_buffer(ctx, block_frame(ctx, ctx.never_freed())):
            kind, cores = labels["kind"], labels["cores"]
            total = int(group["bytes"].sum())
            message = (
                f"{len(group):,} '{labels['name']}' {labels['space']} block(s) "
                f"({format_bytes(total)}) never freed on {count_cores(len(cores), kind)} "
                f"({core_list(kind, cores)})"
            )
            findings.append(
                self.finding(
                    message,
                    buffer_location(ctx, group),
                    evidence={
                        "cores": cores,
                        "blocks": len(group),
                        "bytes": total,
                        "event_kinds": ["alloc"],
                    },
                    suggestion="Free the buffer or reset its pool at the end of each round.",
                )
            )
        return findings
