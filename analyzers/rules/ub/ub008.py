"""UB008 pipe-buffer-limit."""

from __future__ import annotations

from typing import Any

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import core_list
from ubscope.analyzers.rules.ub.queue_counts import (
    limit_findings,
    queue_counts,
)
from ubscope.probe.events import Flag
from ubscope.probe.units import count_cores


@register
class PipeBufferLimit(Rule):
    """More buffers on one TPipe than QBUF_MAX_LEN (64).

    ## What it does
    Flags a TPipe whose InitBuffer calls add up to more than ``QBUF_MAX_LEN``
    buffers.

    ## Why it matters
    The TPipe's buffer table has that many slots; beyond it buffers overwrite
    each other's bookkeeping.

    ## Example
    Seventy single-buffered TBuf-like queues on one pipe (spread over
    positions, so no position passes its own limit)::

        for i in range(70):
            pipe.init_buffer(TQue(TPosition.VECCALC, name=f"t{i}"), 1, 256)

    ## How to fix
    Use fewer, larger buffers (one TBuf sliced into tensors).
    """

    code = "UB008"
    name = "pipe-buffer-limit"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        counts = queue_counts(ctx)
        if counts.empty:
            return []
        limit = ctx.chip.qbuf_max_len
        flagged = (counts["flags"] & int(Flag.PIPE_LIMIT)) != 0
        over = counts[(counts["pipe_buffers"] > limit) | flagged]

        def describe(
            key: Any, kind: str, cores: list[int], most: int, names: list[str]
        ) -> tuple[str, str]:
            message = (
                f"{most} buffers on one TPipe on {count_cores(len(cores), kind)} "
                f"({core_list(kind, cores)}); the limit is {limit} (QBUF_MAX_LEN)"
            )
            return message, "Merge buffers: one TBuf sliced into tensors counts once."

        return limit_findings(self, ctx, over, ["core_kind"], "pipe_buffers", describe)
