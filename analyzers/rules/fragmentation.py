"""Fragmentation rules, modelled on PyTorch's memory snapshot summary (rounding
waste vs gaps): failed allocations with enough free bytes, external
fragmentation over time, rounding waste, high water vs peak, KV-cache slots."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.analyzers.context import (
    CORE_KIND_LABELS,
    SPACE_LABELS,
    TraceContext,
    group_parts,
    split_group,
)
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.ub import core_list, site_findings, where
from ubscope.probe.events import EventKind
from ubscope.probe.units import count_cores, format_bytes

# Fragmentation is judged only while this share of the capacity is free.
DEFAULT_MIN_FREE_FRACTION = 0.1


@register
class FailedWithEnoughFree(Rule):
    """An allocation failed although enough bytes were free in total.

    What: allocations the allocator refused while the free bytes added up to
    at least the request: no single free block was large enough (external
    fragmentation), per call site, with the free total and largest block.
    Why: the kernel has the memory but cannot use it; it falls back to a
    slower path, flushes buffers, or fails.
    Fix: allocate long-lived buffers first (or from a separate pool) so
    short-lived tiles do not leave holes, use one tile size, or switch to a
    TPipe / bump pool that is reset every round.
    """

    code = "FRG001"
    name = "alloc-failed-with-enough-free"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        rows = ctx.rows(EventKind.ALLOC_FAIL)
        total_free = ctx.column("arg")[rows]
        rows = rows[total_free >= ctx.column("aligned_size")[rows]]
        needed, free = ctx.column("aligned_size")[rows], ctx.column("arg")[rows]
        largest = ctx.column("arg2")[rows]

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            events = int(group.events)
            message = (
                f"{events} allocation(s) failed {where(group)} although enough {group.space} "
                f"was free: on average {format_bytes(group.needed / events)} needed, "
                f"{format_bytes(group.free / events)} free in total but the largest free block "
                f"was {format_bytes(group.largest / events)}"
            )
            evidence = {
                "mean_requested_bytes": round(group.needed / events),
                "mean_free_bytes": round(group.free / events),
                "mean_largest_free_bytes": round(group.largest / events),
                "event_kinds": ["alloc_fail"],
            }
            suggestion = (
                "Allocate long-lived buffers first or from their own pool, use one tile size, "
                "or reset a bump pool every round."
            )
            return message, evidence, suggestion, None

        values = {"needed": needed, "free": free, "largest": largest}
        return site_findings(self, ctx, rows, describe, values=values)


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

    What: the worst external fragmentation over time, 1 - largest free block
    / total free bytes, per core and memory (replayed after every allocation
    and free; only while at least ``min_free_fraction`` of the capacity is
    free).
    Why: a fragmented free list cannot serve large tiles even with plenty
    of free bytes (see FRG001); it typically comes from buffers with
    different lifetimes interleaved in one free list.
    Fix: separate long-lived and per-round buffers, allocate in a fixed
    order and size, or use TPipe queues / a bump pool reset per round.
    """

    code = "FRG002"
    name = "external-fragmentation"
    severity = Severity.WARNING
    thresholds = {"max_external": 0.5, "min_free_fraction": DEFAULT_MIN_FREE_FRACTION}

    def check(self, ctx: TraceContext) -> list[Finding]:
        items = []
        for gid in ctx.group_ids:
            worst, row = ctx.max_external(int(gid), self.limits["min_free_fraction"])
            if worst >= self.limits["max_external"]:
                kind, core, space = split_group(int(gid))
                items.append({"kind": kind, "core": core, "space": space, "external": worst,
                              "row": row, "gid": int(gid)})  # fmt: skip
        findings = []
        for (kind, space), group in per_space(items, "external").items():
            worst = group[0]
            cover = ctx.coverage(worst["gid"])
            at = int(np.flatnonzero(cover.rows == worst["row"])[0])
            cores = sorted(i["core"] for i in group)
            message = (
                f"{space} external fragmentation up to {worst['external']:.0%} on "
                f"{count_cores(len(cores), kind)} ({core_list(kind, cores)}): at event {worst['row']} on "
                f"{kind}{worst['core']}, {format_bytes(int(cover.free_bytes[at]))} free but the "
                f"largest free block is {format_bytes(int(cover.largest_free[at]))}"
            )
            location = ctx.location(np.array([worst["row"]]), core=worst["core"], space=space)
            evidence = {
                "cores": cores,
                "max_external": round(worst["external"], 4),
                "free_bytes": int(cover.free_bytes[at]),
                "largest_free_bytes": int(cover.largest_free[at]),
            }
            findings.append(
                self.finding(
                    message,
                    location,
                    evidence=evidence,
                    suggestion="Keep long-lived and per-round buffers apart; allocate tiles in a "
                    "fixed order and size.",
                )  # fmt: skip
            )
        return findings


@register
class RoundingWaste(Rule):
    """Allocation sizes rounded up waste a noticeable share of the bytes.

    What: internal fragmentation: aligned size minus requested size summed
    over the allocations of one memory and core kind (PyTorch's "rounding
    waste"), when it exceeds ``max_waste_fraction`` of the bytes allocated.
    Why: UB/L1 round to 32 B, L0A/L0B to 512 B; many small or odd-sized
    buffers lose capacity to padding.
    Fix: size tiles in whole alignment units, or pack small buffers into
    one allocation.
    """

    code = "FRG003"
    name = "rounding-waste"
    severity = Severity.INFO
    thresholds = {"max_waste_fraction": 0.1}

    def check(self, ctx: TraceContext) -> list[Finding]:
        blocks = ctx.blocks
        waste_all = blocks.aligned - blocks.size
        kind, _, space = group_parts(blocks.gid)
        findings = []
        for key in np.unique(kind * 8 + space):
            mine = np.flatnonzero(kind * 8 + space == key)
            waste, total = int(waste_all[mine].sum()), int(blocks.aligned[mine].sum())
            if not total or waste < self.limits["max_waste_fraction"] * total:
                continue
            kind_label, space_label = CORE_KIND_LABELS[key // 8], SPACE_LABELS[key % 8]
            cores = sorted({int(c) for c in group_parts(blocks.gid[mine])[1]})
            message = (
                f"{format_bytes(waste)} of {format_bytes(total)} allocated in {space_label} on "
                f"{count_cores(len(cores), kind_label)} is rounding waste ({waste / total:.0%}): "
                f"requested sizes are not multiples of the "
                f"{ctx.chip.space_alignment(space_label)} B alignment"
            )
            findings.append(
                self.finding(
                    message,
                    ctx.location(blocks.alloc_row[mine]),
                    evidence={
                        "cores": cores,
                        "waste_bytes": waste,
                        "allocated_bytes": total,
                        "event_kinds": ["alloc"],
                    },  # fmt: skip
                    suggestion="Size tiles in whole alignment units or pack small buffers.",
                )
            )
        return findings


@register
class HighWaterGap(Rule):
    """The address range used is much larger than the peak of live bytes.

    What: high-water mark (highest address ever allocated) minus the peak of
    live bytes, per core and memory, when the gap exceeds
    ``min_gap_fraction`` of the high-water mark and ``min_gap_bytes``
    (PyTorch's "gaps": reserved address space no live data ever filled at once).
    Why: the allocator places blocks higher than it needs to, so the kernel
    runs out of capacity sooner than its data requires.
    Fix: reuse freed ranges (reset the pool, allocate in a fixed order) so
    the layout stays compact.
    """

    code = "FRG004"
    name = "high-water-gap"
    severity = Severity.INFO
    thresholds = {"min_gap_fraction": 0.25, "min_gap_bytes": 4096}

    def check(self, ctx: TraceContext) -> list[Finding]:
        peaks = ctx.peaks
        if peaks.empty:
            return []
        gap = peaks["high_water"] - peaks["peak_live_bytes"]
        wide = peaks[(gap >= self.limits["min_gap_fraction"] * peaks["high_water"])
                     & (gap >= self.limits["min_gap_bytes"])].assign(gap=gap)  # fmt: skip
        findings = []
        for (kind, space), group in wide.groupby(["core_kind", "space"], sort=True):
            worst = group.loc[group["gap"].idxmax()]
            cores = sorted(int(c) for c in group["core"])
            message = (
                f"{space} high-water mark exceeds the peak of live bytes by up to "
                f"{format_bytes(int(worst['gap']))} on {count_cores(len(cores), kind)} "
                f"({core_list(kind, cores)}): {format_bytes(int(worst['high_water']))} of "
                f"address space for {format_bytes(int(worst['peak_live_bytes']))} live at peak"
            )
            location = ctx.location(
                np.array([int(worst["peak_seq"])]), core=int(worst["core"]), space=space
            )
            evidence = {"cores": cores, "gap_bytes": int(worst["gap"]),
                        "high_water_bytes": int(worst["high_water"]),
                        "peak_live_bytes": int(worst["peak_live_bytes"])}  # fmt: skip
            findings.append(
                self.finding(
                    message,
                    location,
                    evidence=evidence,
                    suggestion="Reuse freed ranges so the layout stays compact.",
                )  # fmt: skip
            )
        return findings


@register
class KvCacheWaste(Rule):
    """KV-cache pages hold far fewer tokens than they reserve.

    What: per KV cache, the share of reserved bytes that hold no token:
    unused slots in partly filled pages, or whole contiguous reservations
    sized for the longest sequence.
    Why: HBM reserved for empty slots limits the batch size and number of
    concurrent sequences (the reason for PagedAttention).
    Fix: use smaller pages (block_size) or paged allocation instead of a
    contiguous max-length reservation per sequence.
    """

    code = "FRG005"
    name = "kv-cache-waste"
    severity = Severity.WARNING
    thresholds = {"max_waste_fraction": 0.25}

    def check(self, ctx: TraceContext) -> list[Finding]:
        usage = ctx.kv_usage
        rows = ctx.rows(EventKind.KV_PAGE_ALLOC, EventKind.KV_PAGE_FREE)
        findings = []
        for cache in usage.itertuples(index=False):
            reserved, used = int(cache.reserved_bytes), int(cache.used_bytes)
            waste = 1 - used / reserved if reserved else 0.0
            if waste < self.limits["max_waste_fraction"]:
                continue
            message = (
                f"KV cache '{cache.cache}': {waste:.0%} of {format_bytes(reserved)} reserved holds "
                f"no token ({cache.pages} pages of {cache.slots_per_page} slots, "
                f"{cache.partly_filled} partly filled)"
            )
            mine = rows[ctx.labels("tensor")[ctx.column("tensor")[rows]] == cache.cache]
            location = ctx.location(mine, tensor=cache.cache, space="GM")
            evidence = {"reserved_bytes": reserved, "used_bytes": used,
                        "waste_ratio": round(waste, 4), "pages": int(cache.pages),
                        "partly_filled": int(cache.partly_filled)}  # fmt: skip
            findings.append(
                self.finding(
                    message,
                    location,
                    evidence=evidence,
                    suggestion="Use smaller pages or paged allocation instead of a contiguous "
                    "reservation per sequence.",
                )  # fmt: skip
            )
        return findings
