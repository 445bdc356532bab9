"""GM004 gm-out-of-bounds."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import (
    Describe,
    gm_address,
    moved_bytes,
    site_findings,
    where,
)
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

    On the CPU twin, a read or write through a raw ``__gm__`` pointer past its
    tensor meets a guard page: the run stops there (the device would fault)
    and the finding names the tensor's byte and the last call recorded
    before the access.

    ## How to fix
    Clamp the last tile (tail handling) and check per-core offsets.
    """

    code = "GM004"
    name = "gm-out-of-bounds"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        rows = ctx.flagged_rows(Flag.OUT_OF_BOUNDS, EventKind.COPY)
        guarded = (ctx.column("flags")[rows] & int(Flag.GUARD_PAGE)) != 0
        copies, raw = rows[~guarded], rows[guarded]
        return self._per_site(
            ctx, copies, _describe_copies, {"moved": moved_bytes(ctx, copies)}
        ) + self._per_site(ctx, raw, _describe_raw_access, _raw_access_values(ctx, raw))

    def _per_site(
        self, ctx: TraceContext, rows: np.ndarray, describe: Describe, values: dict[str, np.ndarray]
    ) -> list[Finding]:
        return site_findings(
            self,
            ctx,
            rows,
            describe,
            keys=("tag", "core_kind", "tensor"),
            addr=gm_address(ctx, rows),
            space=np.full(rows.size, int(Space.GM)),
            values=values,
        )


def _describe_copies(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
    message = (
        f"{group.events:,} transfer(s) {where(group)} reach outside tensor "
        f"'{group.tensor}' ({format_bytes(group.moved)} moved)"
    )
    evidence = {"bytes": int(group.moved), "flag": "OUT_OF_BOUNDS", "event_kinds": ["copy"]}
    return message, evidence, "Clamp the tail tile and check per-core offsets.", None


def _raw_access_values(ctx: TraceContext, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The twin's raw-pointer accesses a guard page caught: the tensor's byte,
    and from GM for a read, to GM for a write, both when the twin could not
    tell. One such access ends a run, so a group's sums are its values."""
    copies = ctx.table.copies()
    return {
        "byte": copies.at("raw_byte", rows),
        "read": (copies.at("src_space", rows) == Space.GM).astype(np.int64),
        "wrote": (copies.at("dst_space", rows) == Space.GM).astype(np.int64),
    }


def _describe_raw_access(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
    verb = {(1, 0): "read", (0, 1): "wrote"}.get((group.read, group.wrote), "read or wrote")
    side = "past its end" if group.byte >= 0 else "before its start"
    message = (
        f"a raw __gm__ pointer {verb} tensor '{group.tensor}' at byte {group.byte}, "
        f"{side}, after the last recorded call {where(group)}; a guard page stopped "
        "the run there (the device would fault)"
    )
    evidence = {"byte": int(group.byte), "flag": "GUARD_PAGE", "event_kinds": ["copy"]}
    return message, evidence, "Bound the pointer arithmetic by the tensor's size.", None
