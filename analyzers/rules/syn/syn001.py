"""SYN001 unpaired-flag."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import site_findings, where

# The mark names the Ascend C twin records for these calls (set_flag/wait_flag too).
SET_FLAG, WAIT_FLAG = "SetFlag", "WaitFlag"
ALLOC_ID, RELEASE_ID = "AllocEventID", "ReleaseEventID"
SYNC_CALLS = (SET_FLAG, WAIT_FLAG, ALLOC_ID, RELEASE_ID)


@register
class UnpairedFlag(Rule):
    """A SetFlag no WaitFlag consumes, a WaitFlag no SetFlag feeds, an event ID never released.

    ## What it does
    Pairs, per core and per launch, the synchronisation calls an Ascend C kernel
    made on the CPU twin, in program order, per (HardEvent, event ID): each
    ``SetFlag`` (or ``set_flag``) must be followed by a ``WaitFlag`` of the same
    pair before the next ``SetFlag`` of it or the end of the kernel, each
    ``WaitFlag`` must follow a ``SetFlag`` not consumed yet, and each
    ``AllocEventID`` must be followed by a ``ReleaseEventID`` of its ID. Flags
    the ``SetFlag`` and ``WaitFlag`` call sites that break this as errors, an
    ``AllocEventID`` never released as a warning. In a truncated trace, or one
    a device fault stopped (a raw GM access caught by a guard page), the calls
    still open at the cut are not judged: their closing calls never ran.

    ## Why it matters
    On the device ``SetFlag`` sets a hardware flag bit once the source pipe's
    earlier instructions are done, and ``WaitFlag`` blocks the destination pipe
    while the bit is clear and clears it when it passes; the Ascend C
    documentation requires them in pairs. A ``WaitFlag`` with no ``SetFlag``
    before it blocks its pipe until one comes: with none, the kernel hangs. A
    ``SetFlag`` left unconsumed keeps the bit set, so the next ``WaitFlag`` of
    that event and ID (the next round of a loop, or a queue's own
    synchronisation reusing the ID) passes without waiting for its data, and
    setting a flag that is already set is illegal (CCE ``set_flag``). Event IDs
    are few (8 per HardEvent, 4 on 910A): IDs allocated and never released run
    out, and ``AllocEventID`` then fails.

    ## Example
    A load that signals the vector pipe but never waits for it::

        TEventID id = pipe.AllocEventID<HardEvent::MTE2_V>();
        DataCopy(tile, xGm, 64);
        SetFlag<HardEvent::MTE2_V>(id);   // SYN001: no WaitFlag consumes it
        Muls(tile, tile, 2.0f, 64);       // may read the tile before it lands

    ## How to fix
    Put the ``WaitFlag`` of the same HardEvent and ID before the instruction
    that needs the data, ``SetFlag`` before every ``WaitFlag`` (prime a
    ping-pong loop with one ``SetFlag`` before it and consume the last after
    it), and ``ReleaseEventID`` each ID ``AllocEventID`` handed out once its
    last ``WaitFlag`` is done.
    """

    code = "SYN001"
    name = "unpaired-flag"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        marks = ctx.table.marks()
        if not len(marks):
            return []
        names = ctx.table.labels("name")[marks.label]
        on_core = marks.core >= 0
        launch = np.searchsorted(ctx.table.launches().rows, marks.rows, "right")
        keys = (launch, marks.core_kind, marks.core, marks.code, marks.value)
        # the last launch of a truncated or fault-stopped trace ends at the cut:
        # what it would have waited on or released after it never ran
        ended = np.full(launch.size, ctx.ran_to_end) | (launch < launch.max())
        unconsumed, unfed = _unpaired(
            keys, on_core & (names == SET_FLAG), on_core & (names == WAIT_FLAG), ended
        )
        unreleased, _ = _unpaired(
            keys, on_core & (names == ALLOC_ID), on_core & (names == RELEASE_ID), ended
        )
        return [
            *self._site_findings(ctx, marks.rows[unconsumed], _SET_WITHOUT_WAIT),
            *self._site_findings(ctx, marks.rows[unfed], _WAIT_WITHOUT_SET),
            *self._site_findings(ctx, marks.rows[unreleased], _NEVER_RELEASED),
        ]

    def _site_findings(self, ctx: TraceContext, rows: np.ndarray, kind: _Unpaired) -> list[Finding]:
        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            message = f"{group.events:,} {kind.call} call(s) {where(group)} with {kind.problem}"
            return message, {"call": kind.call}, kind.suggestion, None

        found = site_findings(self, ctx, rows, describe, keys=("tag", "core_kind"))
        return [replace(finding, severity=kind.severity) for finding in found]


@dataclass(frozen=True)
class _Unpaired:
    call: str
    problem: str
    suggestion: str
    severity: Severity


_SET_WITHOUT_WAIT = _Unpaired(
    SET_FLAG,
    "no WaitFlag of the same HardEvent and ID after it (the flag stays set)",
    "Wait on the flag (WaitFlag of the same HardEvent and ID) before using the data.",
    Severity.ERROR,
)
_WAIT_WITHOUT_SET = _Unpaired(
    WAIT_FLAG,
    "no SetFlag of the same HardEvent and ID before it (its pipe blocks until one comes)",
    "Set the flag (SetFlag of the same HardEvent and ID) before waiting on it.",
    Severity.ERROR,
)
_NEVER_RELEASED = _Unpaired(
    ALLOC_ID,
    "an event ID never released (no ReleaseEventID)",
    "Release the ID with ReleaseEventID once its last WaitFlag is done.",
    Severity.WARNING,
)


def _unpaired(
    keys: tuple[np.ndarray, ...], opens: np.ndarray, closes: np.ndarray, ended: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(opening, closing) calls that break the pairing, as positions: per key
    (in program order), an opening call not directly followed by a closing one
    (the key's last call only where ``ended``: the kernel ran to its end), and
    a closing call not directly preceded by an opening one."""
    taken = np.flatnonzero(opens | closes)
    order = taken[np.lexsort((taken, *(key[taken] for key in reversed(keys))))]
    same_key = np.ones(max(order.size - 1, 0), dtype=bool)
    for key in keys:
        same_key &= key[order[1:]] == key[order[:-1]]
    opened = opens[order]
    closed_next = np.zeros(order.size, dtype=bool)
    closed_next[:-1] = same_key & closes[order[1:]]
    opened_before = np.zeros(order.size, dtype=bool)
    opened_before[1:] = same_key & opens[order[:-1]]
    at_cut = np.ones(order.size, dtype=bool)
    at_cut[:-1] = ~same_key
    at_cut &= ~ended[order]
    unclosed = opened & ~closed_next & ~at_cut
    return np.sort(order[unclosed]), np.sort(order[~opened & ~opened_before])
