"""ALN005 copy-param-range."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import on_chip_side, site_findings, where
from ubscope.probe.events import EventKind, Flag
from ubscope.probe.memory.copy_ranges import PARAM_NAMES


@register
class CopyParamRange(Rule):
    """DataCopy or DataCopyPad parameters outside the range the device accepts.

    ## What it does
    Flags DataCopy and DataCopyPad calls with a parameter outside its range on
    the device, per call site, naming the parameters: DataCopy's blockCount
    1..4095 (a 12-bit field), blockLen 1..65535 blocks and strides 0..65535;
    DataCopyPad's blockCount 0..4095, blockLen 0..2,097,151 B (21 bits; GM ->
    UB a whole number of elements), and leftPadding / rightPadding of at most
    32 B of elements each.

    ## Why it matters
    The runtime does not report such a value: the instruction takes the low
    bits of a field or reads a length it was not given, and the copy moves
    other bytes than the kernel asked for, or none. The emulator performs the
    copy as written, so its numerics say nothing about the device's.

    ## Example
    4096 rows of one DataBlock in one DataCopy: blockCount has 12 bits::

        data_copy(tile, x, params=CopyParams(4096, 1))

    ## How to fix
    Split the copy into calls within the ranges (at most 4095 blocks each),
    move wider rows with DataCopyPad's byte lengths, and pad at most 32 B per
    side.
    """

    code = "ALN005"
    name = "copy-param-range"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        rows = ctx.flagged_rows(Flag.PARAM_RANGE, EventKind.COPY)
        copies = ctx.table.copies()
        bits = copies.at("out_of_range", rows)
        padded = (ctx.column("flags")[rows] & int(Flag.PADDED)) != 0
        space, addr = on_chip_side(ctx, rows)
        values = {name: (bits & param) != 0 for param, name in PARAM_NAMES.items()}
        values["pad_calls"] = padded

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            counts = {name: int(getattr(group, name)) for name in PARAM_NAMES.values()}
            named = {name: count for name, count in counts.items() if count}
            calls = {"DataCopyPad": int(group.pad_calls)}
            calls["DataCopy"] = int(group.events) - calls["DataCopyPad"]
            api = " / ".join(name for name, count in calls.items() if count)
            listed = ", ".join(f"{name} ({count}x)" for name, count in named.items())
            message = (
                f"{group.events:,} {api} call(s) {where(group)} with parameters outside the "
                f"device's range: {listed}"
            )
            evidence = {
                "parameters": named,
                "flag": "PARAM_RANGE",
                "event_kinds": ["copy"],
            }
            suggestion = (
                "Split the copy so blockCount, blockLen and the strides stay within their "
                "fields (`ubscope rule ALN005` lists the ranges)."
            )
            return message, evidence, suggestion, None

        return site_findings(
            self,
            ctx,
            rows,
            describe,
            keys=("tag", "core_kind"),
            addr=addr,
            space=space,
            values={name: np.asarray(value, dtype=np.int64) for name, value in values.items()},
        )
