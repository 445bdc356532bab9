"""UB014 buffer-overrun."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import site_findings, where
from ubscope.probe.events import EventKind
from ubscope.probe.units import format_bytes

KEYS = ("tag", "core_kind", "space")


@register
class BufferOverrun(Rule):
    """A write ran past the end of its own buffer into the memory after it.

    ## What it does
    Flags copies and vector or cube operations whose on-chip destination
    starts inside a live buffer and ends past that buffer's end, per call
    site, with the bytes written past the buffer's end (up to the space's
    capacity; bytes past the capacity are UB002's) and the buffer they landed
    in, located at those bytes.

    ## Why it matters
    Nothing on the NPU stops such a write: the bytes past the end overwrite
    whatever buffer follows (the other half of a ping-pong queue, another
    queue's tile), whose data is then silently wrong, in this round or the
    next, far from the line that wrote them.

    ## Example
    512 halves (1 KiB) written into a queue buffer of 128 halves (256 B)::

        pipe.InitBuffer(outQueue, 1, 128 * sizeof(half));
        LocalTensor<half> y = outQueue.AllocTensor<half>();
        Muls(y, x, (half)2.0, 512);  // 768 B past y's end, into the next buffer

    ## How to fix
    Make the element count (or the copy length) fit the destination buffer,
    or make the buffer as large as what is written into it (the InitBuffer
    length, the pool allocation).
    """

    code = "UB014"
    name = "buffer-overrun"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        overruns = ctx.overruns
        rows = overruns.rows
        past = overruns.past_end - overruns.past_start

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            # the group's first write stands for it: its op, buffer and neighbour
            first = int(np.searchsorted(rows, group.first_row))
            row, block_row = int(rows[first]), int(overruns.block_row[first])
            neighbour_row = int(overruns.neighbour_row[first])
            op = _operation(ctx, row)
            buffer = ctx.label("name", int(ctx.column("name")[block_row]))
            size = int(ctx.table.footprint()[block_row])
            neighbour = (
                ctx.label("name", int(ctx.column("name")[neighbour_row]))
                if neighbour_row >= 0
                else None
            )
            into = f"'{neighbour}'" if neighbour is not None else "memory no live buffer holds"
            message = (
                f"{group.events:,} write(s) {where(group)} ran past the end of their "
                f"{group.space} buffer ({format_bytes(group.past)} past the ends in all); "
                f"first: {op} wrote {format_bytes(int(past[first]))} past the end of "
                f"'{buffer}' ({format_bytes(size)}) into {into}"
            )
            evidence = {
                "bytes_past_buffer_end": int(group.past),
                "first_op": op,
                "first_buffer": buffer,
                "first_buffer_bytes": size,
                "first_bytes_past_end": int(past[first]),
                "first_into": neighbour,
                "event_kinds": ["copy", "compute"],
            }
            suggestion = (
                f"Make the count written fit '{buffer}' ({format_bytes(size)}), "
                "or allocate the buffer as large as what is written into it."
            )
            return message, evidence, suggestion, None

        # located at the bytes past the buffers' ends, not where the writes began
        return site_findings(
            self,
            ctx,
            rows,
            describe,
            KEYS,
            addr=overruns.past_start,
            end=overruns.past_end,
            values={"past": past},
        )


def _operation(ctx: TraceContext, row: int) -> str:
    """A compute's op name; a copy is a DataCopy (its name column holds the buffer)."""
    if ctx.column("kind")[row] == EventKind.COMPUTE:
        return ctx.label("name", int(ctx.column("name")[row]))
    return "DataCopy"
