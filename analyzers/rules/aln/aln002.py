"""ALN002 truncated-copy."""

from __future__ import annotations

from typing import Any

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import on_chip_side, site_findings, where
from ubscope.probe.events import EventKind, Flag
from ubscope.probe.units import format_bytes


@register
class TruncatedCopy(Rule):
    """DataCopy length not a multiple of 32 B: the tail was dropped.

    ## What it does
    Flags contiguous DataCopy calls whose length is not a whole number of 32 B
    DataBlocks; the hardware rounds the length *down* and silently drops the
    tail ("若不对齐，搬运量将对32字节做向下取整"). Counted per call site with the
    bytes lost (requested - moved).

    ## Why it matters
    The kernel computes on stale bytes past the copied part, or the output's
    tail is never written: wrong results with no error.

    ## Example
    50 fp16 elements (100 B) per copy: 96 B arrive, 4 B are lost::

        tile = pool.allocate(64, np.float16)
        data_copy(tile, src[offset:], 50)

    ## How to fix
    Pad the length to 32 B (and mask the extra elements), or use DataCopyPad,
    which moves byte-exact lengths.
    """

    code = "ALN002"
    name = "truncated-copy"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        rows = ctx.flagged_rows(Flag.TRUNCATED, EventKind.COPY)
        copies = ctx.table.copies()
        requested = copies.at("requested_bytes", rows)
        lost = requested - copies.at("bytes", rows)
        space, addr = on_chip_side(ctx, rows)

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            # The exact count beside a rounded figure (1.4 KiB (1440 B)); bytes only once.
            lost = format_bytes(group.lost)
            exact = f"{int(group.lost)} B"
            lost += f" ({exact})" if lost != exact else ""
            message = (
                f"{group.events:,} DataCopy call(s) {where(group)} with lengths not a multiple of "
                f"32 B dropped {lost} of {format_bytes(group.requested)} requested"
            )
            evidence = {
                "bytes_lost": int(group.lost),
                "bytes_requested": int(group.requested),
                "flag": "TRUNCATED",
                "event_kinds": ["copy"],
            }
            suggestion = "Pad the copy length to 32 B or use DataCopyPad for byte-exact lengths."
            return message, evidence, suggestion, None

        values = {"lost": lost, "requested": requested}
        return site_findings(
            self,
            ctx,
            rows,
            describe,
            keys=("tag", "core_kind"),
            addr=addr,
            space=space,
            values=values,
        )
