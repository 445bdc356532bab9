"""UB002 red-zone-write."""

from __future__ import annotations

from typing import Any

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import site_findings, where
from ubscope.probe.units import format_bytes


@register
class RedZoneWrite(Rule):
    """Writes landed past the end of an on-chip memory (in the red zone).

    ## What it does
    Counts the copies and vector ops that wrote bytes beyond the space's
    capacity, per call site, with the bytes written and the bytes past the
    end, located at the addresses written past the end (not where the
    writes started, which may be valid memory).

    ## Why it matters
    On the NPU these bytes hit whatever lies beyond (another buffer's data,
    or an illegal address that raises an AI Core exception); the emulator
    catches them in a red zone so the run can be diagnosed.

    ## Example
    A 4 KiB copy into a tile at 190 KiB of a 910B's 192 KiB UB::

        pool.allocate(190 * 512, np.float16)  # [0, 190 KiB)
        tail = pool.allocate(2048, np.float16)  # [190 KiB, 194 KiB)
        data_copy(tail, src, 2048)  # the last 2 KiB land in the red zone

    ## How to fix
    Find the allocation that runs past capacity (UB001) and make the round's
    buffers fit; check the copy length and destination offset.
    """

    code = "UB002"
    name = "red-zone-write"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        writes = ctx.table.redzone_writes()
        rows = writes.rows

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            # Amounts first: "N bytes past the capacity" alone reads like an address.
            message = (
                f"{format_bytes(group.past)} written past the "
                f"{format_bytes(ctx.capacity_of(group.space))} {group.space} capacity across "
                f"{group.events:,} write(s) {where(group)} (into the red zone; "
                f"{format_bytes(group.written)} written by these writes in all)"
            )
            evidence = {
                "bytes_written": int(group.written),
                "bytes_past_capacity": int(group.past),
                "event_kinds": ["redzone_write"],
            }
            return (
                message,
                evidence,
                "Make the buffers this call site writes fit the capacity.",
                None,
            )

        values = {"written": writes.bytes, "past": writes.past_capacity}
        return site_findings(self, ctx, rows, describe, values=values)
