"""FRG002 external-fragmentation."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.model.arrays import split_group
from ubscope.analyzers.model.fragmentation import DEFAULT_MIN_FREE_FRACTION, WorstFragmentation
from ubscope.analyzers.rules.base import Rule, Threshold, register
from ubscope.analyzers.rules.helpers import core_list
from ubscope.probe.units import count_cores, format_bytes


def per_space(items: list[dict[str, Any]], key: str) -> dict:
    """``items`` (one per group, with kind/core/space) collected per (kind, space),
    each list sorted worst first by ``key``."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in items:
        out.setdefault((item["kind"], item["space"]), []).append(item)
    return {k: sorted(v, key=lambda i: -i[key]) for k, v in sorted(out.items())}


@register
class ExternalFragmentation(Rule):
    """Free on-chip memory is split into holes.

    ## What it does
    Reports the worst external fragmentation over time, 1 - largest free block
    / total free bytes, per core and memory (replayed after every allocation
    and free), when it reaches ``max_external``. Free bytes are counted inside
    the allocator's own pool (a free list records its extent; elsewhere the
    whole memory), judged only while at least ``min_free_fraction`` of the pool
    is free, and never inside a teardown (a TPipe's Reset or destruction, a
    bump pool's Reset: the trace lists their frees one by one before the
    POOL_RESET, but they release everything at once).

    ## Why it matters
    A fragmented free list cannot serve large tiles even with plenty of free
    bytes (see FRG001); it typically comes from buffers with different
    lifetimes interleaved in one free list.

    ## Example
    FRG001's free list after A and C are freed: 160 KiB free in two holes of
    64 KiB and 96 KiB, so 1 - 96/160 = 40 % external fragmentation (flagged
    with ``max_external = 0.3``).

    ## How to fix
    Separate long-lived and per-round buffers, allocate in a fixed order and
    size, or use TPipe queues / a bump pool reset per round.
    """

    code = "FRG002"
    name = "external-fragmentation"
    severity = Severity.WARNING
    thresholds = {
        "max_external": Threshold(
            0.5,
            "external fragmentation (1 - largest free block / free bytes) from which it is flagged",
        ),
        "min_free_fraction": Threshold(
            DEFAULT_MIN_FREE_FRACTION,
            "fraction of the pool that must be free for fragmentation to be judged at all",
        ),
    }

    def check(self, ctx: TraceContext) -> list[Finding]:
        items = []
        for gid in ctx.group_ids:
            worst = ctx.worst_fragmentation(int(gid), self.limits["min_free_fraction"])
            if worst.external >= self.limits["max_external"]:
                kind, core, space = split_group(int(gid))
                items.append(
                    {
                        "kind": kind,
                        "core": core,
                        "space": space,
                        "external": worst.external,
                        "worst": worst,
                    }
                )
        findings = []
        for (kind, space), group in per_space(items, "external").items():
            first: WorstFragmentation = group[0]["worst"]
            core = group[0]["core"]
            cores = sorted(i["core"] for i in group)
            seq = int(ctx.column("seq")[first.row])
            message = (
                f"{space} external fragmentation up to {first.external:.0%} on "
                f"{count_cores(len(cores), kind)} ({core_list(kind, cores)}): at event {seq} on "
                f"{kind}{core}, {format_bytes(first.free_bytes)} free but the "
                f"largest free block is {format_bytes(first.largest_free)}"
            )
            location = ctx.location(np.array([first.row]), core=core, space=space)
            evidence = {
                "cores": cores,
                "max_external": round(first.external, 4),
                "free_bytes": first.free_bytes,
                "largest_free_bytes": first.largest_free,
            }
            findings.append(
                self.finding(
                    message,
                    location,
                    evidence=evidence,
                    suggestion="Keep long-lived and per-round buffers apart; allocate tiles in a "
                    "fixed order and size.",
                )
            )
        return findings
