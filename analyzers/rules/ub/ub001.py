"""UB001 capacity-overflow."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.model.arrays import CORE_KIND_LABELS, group_parts
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import core_list, per_kind_and_space
from ubscope.probe.events import Space
from ubscope.probe.units import count_cores, format_bytes


@register
class CapacityOverflow(Rule):
    """On-chip buffers exceed the space's capacity.

    ## What it does
    Flags a core whose live allocations in UB, L1, L0A, L0B or L0C add up to
    more than the chip's capacity, or an allocation that ends past the
    capacity (the first such allocation's event is the location).

    ## Why it matters
    Nothing checks capacity on the NPU (TPipe's bound check runs only under
    ASCENDC_CPU_DEBUG), so the buffers silently overlap other data or run off
    the end of the memory: wrong results or an AI Core exception.

    ## Example
    Three 80 KiB tiles live at once in the 192 KiB UB of a 910B vector core::

        pool = UBBufPool(block.aiv)
        x = pool.allocate(40960, np.float16)  # [0, 80 KiB)
        y = pool.allocate(40960, np.float16)  # [80 KiB, 160 KiB)
        z = pool.allocate(40960, np.float16)  # ends at 240 KiB > 192 KiB

    ## How to fix
    Reset the pool every round, free tiles when done, or shrink the tile so
    that one round's buffers fit the capacity (on 910B keep UB within the
    184 KiB safe budget, see UB003).
    """

    code = "UB001"
    name = "capacity-overflow"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        peaks = ctx.peaks
        blocks = ctx.blocks
        capacity = ctx.capacities(blocks.gid % 8)
        past = np.flatnonzero((blocks.end > capacity) & (capacity > 0))
        past_kind, _, past_space = group_parts(blocks.gid[past])
        over = peaks[
            (peaks["peak_live_bytes"] > peaks["capacity"])
            | (peaks["high_water"] > peaks["capacity"])
        ]
        findings = []
        seq = ctx.column("seq")
        for kind, space, group in per_kind_and_space(over):
            worst = group.iloc[int(np.argmax(group["peak_live_bytes"].to_numpy()))]
            capacity_bytes = int(worst["capacity"])
            mine = past[(past_kind == CORE_KIND_LABELS.index(kind)) & (past_space == Space[space])]
            cores = sorted(int(c) for c in group["core"])
            peak = int(worst["peak_live_bytes"])
            evidence = {
                "cores": cores,
                "capacity_bytes": capacity_bytes,
                "peak_live_bytes": peak,
                "peak_core": int(worst["core"]),
                "peak_seq": int(worst["peak_seq"]),
                "bytes_over": max(peak, int(group["high_water"].max())) - capacity_bytes,
                "allocations_past_capacity": int(mine.size),
                "event_kinds": ["alloc"],
            }
            message = (
                f"{space} overflows on {count_cores(len(cores), kind)} ({core_list(kind, cores)}): "
                f"peak {format_bytes(peak)} live vs {format_bytes(capacity_bytes)} capacity"
            )
            if mine.size:
                first = mine[np.argmin(blocks.alloc_row[mine])]
                first_row = int(blocks.alloc_row[first])
                evidence["first_past_seq"] = int(seq[first_row])
                message += (
                    f"; {mine.size} allocation(s) end past capacity, up to "
                    f"{format_bytes(int(blocks.end[mine].max()))} (first: "
                    f"'{ctx.label('name', int(blocks.name[first]))}' at event {int(seq[first_row])})"
                )
                location = ctx.location(
                    blocks.alloc_row[mine],
                    addr_start=capacity_bytes,
                    addr_end=int(blocks.end[mine].max()),
                    tag=ctx.label("tag", int(blocks.tag[first])) or None,
                )
            else:
                location = ctx.location(
                    ctx.rows_of_seq(np.array([int(worst["peak_seq"])])),
                    core=int(worst["core"]),
                    space=space,
                )
            findings.append(
                self.finding(
                    message,
                    location,
                    evidence=evidence,
                    suggestion=f"Keep each {kind} core's live {space} buffers within "
                    f"{format_bytes(capacity_bytes)}: reset the pool between rounds, free tiles "
                    "when done, or shrink the tile.",
                )
            )
        return findings
