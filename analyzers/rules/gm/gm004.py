"""GM004 gm-out-of-bounds."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import gm_address, moved_bytes, site_findings, where
from ubscope.probe.events import EventKind, Flag, Space
from ubscope.probe.units import format_bytes


@register
class GmOutOfBounds(Rule):
    """GM access outside the tensor's extent.

    ## What it does
    Flags DataCopy transfers that read or write GM bytes past the end (or
    before the start) of their tensor, per call site and tensor.

    ## Why it matters
    Reads return another tensor's data, writes corrupt it; on the NPU
    msSanitizer reports them as illegal read/write or out of bounds.

    ## Example
    The last core's tile of a 1000-element tensor copied at full tile size::

        data_copy(tile, gm_x[960:], 64)  # elements 1000..1023 do not exist

    ## How to fix
    Clamp the last tile (tail handling) and check per-core offsets.
    """

    code = "GM004"
    name = "gm-out-of-bounds"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        rows = ctx.flagged_rows(Flag.OUT_OF_BOUNDS, EventKind.COPY)

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            message = (
                f"{group.events} transfer(s) {where(group)} reach outside tensor "
                f"'{group.tensor}' ({format_bytes(group.moved)} moved)"
            )
            evidence = {"bytes": int(group.moved), "flag": "OUT_OF_BOUNDS", "event_kinds": ["copy"]}
            return message, evidence, "Clamp the tail tile and check per-core offsets.", None

        values = {"moved": moved_bytes(ctx, rows)}
        gm = np.full(rows.size, int(Space.GM))
        return site_findings(
            self,
            ctx,
            rows,
            describe,
            keys=("tag", "core_kind", "tensor"),
            addr=gm_address(ctx, rows),
            space=gm,
            values=values,
        )
