"""UB006 pool-never-reset."""

from __future__ import annotations

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, Threshold, register
from ubscope.analyzers.rules.helpers import core_list, per_kind_and_space
from ubscope.analyzers.rules.ub.buffers import block_frame
from ubscope.probe.units import count_cores, format_bytes


@register
class PoolNeverReset(Rule):
    """A pool hands out the same buffers again every round without a reset.

    ## What it does
    Flags the same buffer name and call site allocated again at a higher
    address while the previous one is still live and no pool reset happened in
    between, after the previous one was used (a new round), when a core does
    so at least ``min_repeats`` times.

    ## Why it matters
    The article's bump pool only rewinds on Reset(); without it every round
    stacks a new set of tiles on top of the last until UB runs out (then UB001
    fires): the footprint grows with the input size.

    ## Example
    The same loop as UB005's: each round's 'tile' lands 16 KiB above the last
    because ``pool.reset()`` is never called::

        for round_ in range(4):
            tile = pool.allocate(8192, np.float16)
            data_copy(tile, src[round_ * 8192 :], 8192)

    ## How to fix
    Call Reset() (or free the round's tiles) at the end of every round.
    """

    code = "UB006"
    name = "pool-never-reset"
    severity = Severity.WARNING
    thresholds = {
        "min_repeats": Threshold(
            2,
            "allocations of one buffer at growing addresses on one core, without a reset, before it is flagged",
        ),
    }

    def check(self, ctx: TraceContext) -> list[Finding]:
        frame = block_frame(ctx, ctx.regrown())
        findings = []
        for kind, space, group in per_kind_and_space(frame):
            per_core = group.groupby(["core", "name_code"]).size()
            if per_core.max() < self.limits["min_repeats"]:
                continue
            cores = sorted({int(c) for c in group["core"]})
            names = sorted({ctx.label("name", int(n)) for n in group["name_code"]})
            growth = int(group.groupby("core")["bytes"].sum().max() / max(1, per_core.max()))
            message = (
                f"{', '.join(repr(n) for n in names)} allocated again up to {int(per_core.max())} "
                f"time(s) at growing {space} addresses with no pool reset between rounds on "
                f"{count_cores(len(cores), kind)} ({core_list(kind, cores)}); the pool grows by about "
                f"{format_bytes(growth)} per round"
            )
            location = ctx.location(group["row"].to_numpy())
            findings.append(
                self.finding(
                    message,
                    location,
                    evidence={
                        "cores": cores,
                        "buffers": names,
                        "max_repeats": int(per_core.max()),
                        "growth_per_round_bytes": growth,
                        "event_kinds": ["alloc"],
                    },
                    suggestion="Reset the pool (or free the round's tiles) at the end of every round.",
                )
            )
        return findings
