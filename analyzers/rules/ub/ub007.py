"""UB007 queue-position-limit."""

from __future__ import annotations

from typing import Any

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import core_list
from ubscope.analyzers.rules.ub.queue_counts import (
    limit_findings,
    position_name,
    queue_counts,
)
from ubscope.probe.events import Flag, Space
from ubscope.probe.memory.positions import POSITION_SPACE
from ubscope.probe.units import count_cores


@register
class QueuePositionLimit(Rule):
    """More queue buffers on one TPosition than the chip has event ids for.

    ## What it does
    Flags InitBuffer calls that put more than ``QUE_MAX_EVENT`` queue buffers
    (8 on A2/A3 and 310P, 4 on 910A) on one queue position (VECIN, VECOUT,
    A1...). Only TQue/TQueBind buffers count: a TBuf (the trace's ``TBUF``
    flag) takes no event id, however many share a position.

    ## Why it matters
    Every queue buffer needs a hardware event id for its EnQue/DeQue
    synchronisation; past the limit AllocTensor / FreeTensor wait forever and
    the NPU hangs (the CPU debug build reports "max buffer number in same
    queue position is N").

    ## Example
    Five double-buffered VECIN queues: 10 buffers on a position that has 8::

        pipe = TPipe(block.aiv)
        for i in range(5):
            pipe.init_buffer(TQue(TPosition.VECIN, name=f"in{i}"), 2, 1024)

    ## How to fix
    Use fewer or shallower queues on that position (double buffering takes 2
    per queue: at most 4 double-buffered queues on A2), merge queues into one
    larger buffer, or make a scratch buffer that needs no EnQue/DeQue a TBuf.
    """

    code = "UB007"
    name = "queue-position-limit"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        counts = queue_counts(ctx)
        if counts.empty:
            return []
        limit = ctx.chip.que_max_event
        gm_positions = [int(p) for p, space in POSITION_SPACE.items() if space is Space.GM]
        flagged = (counts["flags"] & int(Flag.QUEUE_LIMIT)) != 0
        queue = (counts["flags"] & int(Flag.TBUF)) == 0
        over = counts[
            ((counts["position_buffers"] > limit) | flagged)
            & queue
            & ~counts["position"].isin(gm_positions)
        ]

        def describe(
            key: Any, kind: str, cores: list[int], most: int, names: list[str]
        ) -> tuple[str, str]:
            position = position_name(int(key[1]))
            message = (
                f"{most} queue buffers on {position} ({', '.join(names)}) on "
                f"{count_cores(len(cores), kind)} ({core_list(kind, cores)}); {ctx.chip.name} allows {limit} per position "
                "(QUE_MAX_EVENT): this hangs a real NPU"
            )
            return message, f"Keep at most {limit} buffers on {position}."

        return limit_findings(
            self, ctx, over, ["core_kind", "position"], "position_buffers", describe
        )
