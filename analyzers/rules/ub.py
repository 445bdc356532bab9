"""On-chip capacity rules: overflow past capacity, red-zone writes, the UB scratch
area built-in APIs use, and vector ops whose operands partly overlap."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ubscope.analyzers.context import CORE_KIND_LABELS, TraceContext, group_parts
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.probe.events import EventKind, Flag, Space
from ubscope.probe.units import count_cores, format_bytes

Describe = Callable[[Any], tuple[str, dict[str, Any], str, str | None]]


def core_list(kind: str, cores: list[int], limit: int = 8) -> str:
    """``aiv0, aiv1, ... (+6 more)``."""
    shown = ", ".join(f"{kind}{c}" for c in cores[:limit])
    return shown + (f" (+{len(cores) - limit} more)" if len(cores) > limit else "")


def site_findings(
    rule: Rule,
    ctx: TraceContext,
    rows: np.ndarray,
    describe: Describe,
    keys: tuple[str, ...] = ("tag", "core_kind", "space"),
    **options: Any,
) -> list[Finding]:
    """One finding per call-site group of ``rows``; ``describe(group)`` returns
    (message, evidence, suggestion, estimated gain) for a row of ctx.site_groups."""
    findings = []
    if not rows.size:
        return findings
    for group in ctx.site_groups(rows, keys, **options).itertuples(index=False):
        message, evidence, suggestion, gain = describe(group)
        fields = {"space": group.where_space if group.where_space != "NONE" else None}
        if "core_kind" in keys:
            fields["core_kind"] = group.core_kind
        location = ctx.location(
            np.array([group.first_row, group.last_row]),
            core=group.cores[0],
            tag=group.tag or None,
            tensor=group.tensor or None,
            addr_start=int(group.addr_start),
            addr_end=int(group.addr_end),
            **fields,
        )
        evidence = {"events": int(group.events), "cores": group.cores, **evidence}
        findings.append(
            rule.finding(
                message, location, evidence=evidence, suggestion=suggestion, estimated_gain=gain
            )  # fmt: skip
        )
    return findings


def where(group: Any) -> str:
    """``at call site 'copyin' on 8 aiv cores``."""
    site = f"at call site '{group.tag}'" if group.tag else "at an untagged call site"
    return f"{site} on {count_cores(len(group.cores), group.core_kind)}"


def on_chip_side(ctx: TraceContext, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(space, address) of the on-chip end of each event (the source of a copy out)."""
    space = ctx.column("space")[rows]
    out = space == Space.GM
    return (
        np.where(out, ctx.column("src_space")[rows], space),
        np.where(out, ctx.column("src_addr")[rows], ctx.column("addr")[rows]),
    )


@register
class CapacityOverflow(Rule):
    """On-chip buffers exceed the space's capacity.

    What: a core's live allocations in UB, L1, L0A, L0B or L0C add up to more
    than the chip's capacity, or an allocation ends past the capacity (the
    first such allocation's event is the location).
    Why: nothing checks capacity on the NPU (TPipe's bound check runs only
    under ASCENDC_CPU_DEBUG), so the buffers silently overlap other data or
    run off the end of the memory: wrong results or an AI Core exception.
    Fix: reset the pool every round, free tiles when done, or shrink the tile
    so that one round's buffers fit the capacity (on 910B keep UB within the
    184 KiB safe budget, see UB003).
    """

    code = "UB001"
    name = "capacity-overflow"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        peaks = ctx.peaks
        blocks = ctx.blocks
        capacity = ctx.capacities(blocks.gid % 8)
        past = np.flatnonzero((blocks.end > capacity) & (capacity > 0))
        past_kind, _, past_space = group_parts(blocks.gid[past])
        over = peaks[
            (peaks["peak_live_bytes"] > peaks["capacity"])
            | (peaks["high_water"] > peaks["capacity"])
        ]
        findings = []
        seq = ctx.column("seq")
        for (kind, space), group in over.groupby(["core_kind", "space"], sort=True):
            worst = group.loc[group["peak_live_bytes"].idxmax()]
            capacity_bytes = int(worst["capacity"])
            mine = past[(past_kind == CORE_KIND_LABELS.index(kind)) & (past_space == Space[space])]
            cores = sorted(int(c) for c in group["core"])
            peak = int(worst["peak_live_bytes"])
            evidence = {
                "cores": cores,
                "capacity_bytes": capacity_bytes,
                "peak_live_bytes": peak,
                "peak_core": int(worst["core"]),
                "peak_seq": int(worst["peak_seq"]),
                "bytes_over": max(peak, int(group["high_water"].max())) - capacity_bytes,
                "allocations_past_capacity": int(mine.size),
                "event_kinds": ["alloc"],
            }
            message = (
                f"{space} overflows on {count_cores(len(cores), kind)} ({core_list(kind, cores)}): "
                f"peak {format_bytes(peak)} live vs {format_bytes(capacity_bytes)} capacity"
            )
            if mine.size:
                first = mine[np.argmin(blocks.alloc_row[mine])]
                first_row = int(blocks.alloc_row[first])
                evidence["first_past_seq"] = int(seq[first_row])
                message += (
                    f"; {mine.size} allocation(s) end past capacity, up to "
                    f"{format_bytes(int(blocks.end[mine].max()))} (first: "
                    f"'{ctx.label('name', int(blocks.name[first]))}' at event {int(seq[first_row])})"
                )
                location = ctx.location(
                    blocks.alloc_row[mine],
                    addr_start=capacity_bytes,
                    addr_end=int(blocks.end[mine].max()),
                    tag=ctx.label("tag", int(blocks.tag[first])) or None,
                )
            else:
                location = ctx.location(
                    np.array([int(worst["peak_seq"])]), core=int(worst["core"]), space=space
                )
            findings.append(
                self.finding(
                    message,
                    location,
                    evidence=evidence,
                    suggestion=f"Keep each {kind} core's live {space} buffers within "
                    f"{format_bytes(capacity_bytes)}: reset the pool between rounds, free tiles "
                    "when done, or shrink the tile.",
                )
            )
        return findings


@register
class RedZoneWrite(Rule):
    """Writes landed past the end of an on-chip memory (in the red zone).

    What: copies or vector ops that wrote bytes beyond the space's capacity,
    counted per call site with the bytes written and the bytes past the end.
    Why: on the NPU these bytes hit whatever lies beyond (another buffer's
    data, or an illegal address that raises an AI Core exception); the
    emulator catches them in a red zone so the run can be diagnosed.
    Fix: find the allocation that runs past capacity (UB001) and make the
    round's buffers fit; check the copy length and destination offset.
    """

    code = "UB002"
    name = "red-zone-write"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        rows = ctx.rows(EventKind.REDZONE_WRITE)
        past = ctx.column("aligned_size")[rows]

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            # Amounts first: "N bytes past the capacity" alone reads like an address.
            message = (
                f"{format_bytes(group.past)} written past the "
                f"{format_bytes(ctx.capacity_of(group.space))} {group.space} capacity across "
                f"{group.events} write(s) {where(group)} (into the red zone; "
                f"{format_bytes(group.written)} written by these writes in all)"
            )
            evidence = {"bytes_written": int(group.written), "bytes_past_capacity": int(group.past),
                        "event_kinds": ["redzone_write"]}  # fmt: skip
            return (
                message,
                evidence,
                "Make the buffers this call site writes fit the capacity.",
                None,
            )

        values = {"written": ctx.column("size")[rows], "past": past}
        return site_findings(self, ctx, rows, describe, values=values)


@register
class ScratchOverlap(Rule):
    """UB buffers reach into the scratch area built-in APIs use.

    What: on chips that reserve the top of UB (910B: [184 KiB, 192 KiB)),
    allocations that extend into that area, per core kind.
    Why: compare/select and some binary ops use it as temporary space through
    GetTemporaryBufferAddr; a kernel buffer there is overwritten behind its
    back when such an API runs (a reading of the CANN source, not a
    documented rule).
    Fix: keep the sum of UB buffers within ``chip.ub_safe_budget`` (184 KiB on
    910B), or make sure none of those APIs are called.
    """

    code = "UB003"
    name = "ub-scratch-overlap"
    severity = Severity.WARNING

    def check(self, ctx: TraceContext) -> list[Finding]:
        chip = ctx.chip
        if chip.ub_scratch_bytes <= 0:
            return []
        blocks = ctx.blocks
        budget, capacity = chip.ub_safe_budget, chip.capacity["UB"]
        hits = np.flatnonzero(
            (blocks.gid % 8 == Space.UB) & (blocks.end > budget) & (blocks.addr < capacity)
        )
        rows = blocks.alloc_row[hits]

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            message = (
                f"{group.events} UB allocation(s) {where(group)} reach into the top "
                f"{format_bytes(chip.ub_scratch_bytes)} of UB (from {format_bytes(budget)}) that "
                f"built-in APIs use as scratch on {chip.name}, up to {format_bytes(group.addr_end)}"
            )
            evidence = {"safe_budget_bytes": budget, "event_kinds": ["alloc"]}
            suggestion = f"Keep UB buffers below {format_bytes(budget)} on {chip.name}."
            return message, evidence, suggestion, None

        return site_findings(self, ctx, rows, describe, keys=("tag", "core_kind"))


@register
class PartialOverlap(Rule):
    """A vector op's destination partly overlaps one of its sources.

    What: vector instructions whose source and destination ranges overlap
    but do not coincide, per call site.
    Why: Ascend C supports only 100 % overlap (in-place) within one
    iteration; a partial overlap reads data the same instruction already
    overwrote, so results depend on the hardware's internal order.
    Fix: compute into a separate buffer, or make the operation fully in place.
    """

    code = "UB012"
    name = "partial-overlap"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        rows = ctx.flagged_rows(Flag.PARTIAL_OVERLAP, EventKind.COMPUTE)

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            message = f"{group.events} vector op(s) {where(group)} partly overlap a source"
            evidence = {"flag": "PARTIAL_OVERLAP", "event_kinds": ["compute"]}
            return message, evidence, "Use a separate destination buffer.", None

        return site_findings(self, ctx, rows, describe)
