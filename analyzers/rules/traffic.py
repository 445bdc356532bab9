"""GM traffic rules: redundant reloads, traffic above the kernel's minimum, the
roofline position, and accesses outside a tensor."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.alignment import gain_text
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.ub import site_findings, where
from ubscope.probe.events import EventKind, Flag, Space
from ubscope.probe.units import format_bytes, format_rate, format_time_ps

PS_PER_S = 1e12


def transfer_rows(ctx: TraceContext, read: bool, tensor: str | None = None) -> np.ndarray:
    """Rows of HBM transfers (workspace excluded) in one direction, optionally of one tensor."""
    moves = ctx.gm_transfers
    pick = (moves["read"] == read) & ~moves["workspace"]
    if tensor is not None:
        pick &= ctx.labels("tensor")[moves["tensor"]] == tensor
    return moves["rows"][pick]


def at_bandwidth(ctx: TraceContext, nbytes: float) -> float:
    """Picoseconds to move ``nbytes`` at the chip's full GM bandwidth."""
    return nbytes / ctx.chip.gm_bandwidth * PS_PER_S


@register
class RedundantReloads(Rule):
    """The same GM bytes are read more than once.

    What: per GM tensor, bytes read over distinct bytes read, when the
    ratio is at least ``min_redundancy`` and the extra reads reach
    ``min_extra_bytes``. (Strided transfers count as repeated only when
    the same transfer repeats exactly: their row pitch is not recorded.)
    Why: every reload costs HBM bandwidth; memory-bound kernels run
    proportionally slower.
    Fix: keep the reused tile on chip (larger L1/UB tiles, loop order that
    reuses the resident operand), or reorder blocks so each core reads its
    slice once.
    """

    code = "GM001"
    name = "redundant-reloads"
    severity = Severity.WARNING
    thresholds = {"min_redundancy": 1.5, "min_extra_bytes": 65536}

    def check(self, ctx: TraceContext) -> list[Finding]:
        traffic = ctx.traffic
        if traffic.empty:
            return []
        reads = traffic[(traffic["direction"] == "read") & ~traffic["workspace"]]
        extra = reads["bytes"] - reads["distinct_bytes"]
        hot = reads[(reads["redundancy"] >= self.limits["min_redundancy"])
                    & (extra >= self.limits["min_extra_bytes"])]  # fmt: skip
        findings = []
        for row in hot.itertuples(index=False):
            surplus = int(row.bytes - row.distinct_bytes)
            message = (
                f"tensor '{row.tensor}' is read {row.redundancy:.2f}x: {format_bytes(row.bytes)} "
                f"read for {format_bytes(row.distinct_bytes)} distinct "
                f"({format_bytes(surplus)} reloaded)"
            )
            rows = transfer_rows(ctx, True, row.tensor)
            location = ctx.location(rows, tensor=row.tensor, space="GM", core=None, core_kind=None)
            evidence = {"bytes_read": int(row.bytes), "distinct_bytes": int(row.distinct_bytes),
                        "redundancy": round(float(row.redundancy), 3), "event_kinds": ["copy"]}  # fmt: skip
            findings.append(
                self.finding(
                    message,
                    location,
                    evidence=evidence,
                    suggestion=f"Keep reused tiles of '{row.tensor}' on chip instead of reloading.",
                    estimated_gain=gain_text(ctx, at_bandwidth(ctx, surplus), "at full bandwidth"),
                )  # fmt: skip
            )
        return findings


@register
class TrafficAboveMinimum(Rule):
    """GM traffic well above what the kernel's math needs.

    What: HBM bytes read (or written) over the kernel's minimal traffic
    (each input read once, each output written once; from the trace's
    metadata), when the ratio is at least ``max_ratio``. Core-to-core
    workspaces (L2-resident) are not counted.
    Why: extra traffic is time on memory-bound kernels, and energy always.
    Fix: see GM001 for reloads; also avoid spilling intermediates to GM and
    writing outputs twice.
    """

    code = "GM002"
    name = "traffic-above-minimum"
    severity = Severity.WARNING
    thresholds = {"max_ratio": 1.25}

    def check(self, ctx: TraceContext) -> list[Finding]:
        minimal = ctx.minimal_traffic
        traffic = ctx.traffic
        findings = []
        for direction in ("read", "write"):
            least = minimal.get(direction, 0)
            if least <= 0 or traffic.empty:
                continue
            mine = traffic[(traffic["direction"] == direction) & ~traffic["workspace"]]
            moved = int(mine["bytes"].sum())
            ratio = moved / least
            if ratio < self.limits["max_ratio"]:
                continue
            surplus = moved - int(least)
            message = (
                f"GM {direction}s are {ratio:.2f}x the kernel's minimum: {format_bytes(moved)} "
                f"vs {format_bytes(least)} needed"
            )
            rows = transfer_rows(ctx, direction == "read")
            location = ctx.location(rows, space="GM", core=None, core_kind=None)
            evidence = {"bytes": moved, "minimal_bytes": int(least), "ratio": round(ratio, 3),
                        "event_kinds": ["copy"]}  # fmt: skip
            findings.append(
                self.finding(
                    message,
                    location,
                    evidence=evidence,
                    suggestion="Read each input once and write each output once (see GM001).",
                    estimated_gain=gain_text(ctx, at_bandwidth(ctx, surplus), "at full bandwidth"),
                )  # fmt: skip
            )
        return findings


@register
class Roofline(Rule):
    """Where the kernel sits on the roofline: memory- or compute-bound.

    What: arithmetic intensity (FLOPs per HBM byte) against the chip's
    ridge point (peak FP16 FLOP/s over GM bandwidth), the modelled time and
    the time the roofline allows; reported once per trace.
    Why: a memory-bound kernel speeds up only by moving fewer bytes (GM001,
    GM002, ALN003/ALN004); a compute-bound one by using the cube better.
    Fix: for memory-bound kernels raise data reuse (bigger tiles, fused
    ops); for compute-bound ones check cube utilisation.
    """

    code = "GM003"
    name = "roofline"
    severity = Severity.INFO

    def check(self, ctx: TraceContext) -> list[Finding]:
        roof = ctx.roofline
        if not roof["flops"] and not roof["hbm_bytes"]:
            return []
        memory_ps = at_bandwidth(ctx, roof["hbm_bytes"])
        compute_ps = roof["flops"] / roof["peak_flops"] * PS_PER_S
        bound_ps = max(memory_ps, compute_ps)
        modelled = roof["modelled_time_ps"]
        intensity = roof["intensity"]
        achieved = roof["hbm_bytes"] / (modelled / PS_PER_S) if modelled else 0.0
        message = (
            f"{roof['bound']}-bound: {intensity:.3g} FLOP/B vs ridge {roof['ridge']:.0f} FLOP/B; "
            f"modelled {format_time_ps(modelled)}, roofline {format_time_ps(bound_ps)} "
            f"(GM at {format_rate(achieved)}, {achieved / roof['bandwidth']:.0%} of peak)"
        )
        rows = ctx.rows(EventKind.COPY, EventKind.COMPUTE)
        location = ctx.location(rows if rows.size else np.array([0]), core=None, core_kind=None,
                                space=None)  # fmt: skip
        evidence = {
            "flops": roof["flops"],
            "hbm_bytes": roof["hbm_bytes"],
            "intensity": intensity if np.isfinite(intensity) else None,
            "ridge": round(roof["ridge"], 2),
            "modelled_time_ps": modelled,
            "roofline_time_ps": round(bound_ps),
            "achieved_bandwidth": round(achieved),
        }
        suggestion = (
            "Memory-bound: move fewer bytes (reuse tiles on chip, fuse ops)."
            if roof["bound"] == "memory"
            else "Compute-bound: check cube utilisation and tile shapes."
        )
        gain = gain_text(ctx, modelled - bound_ps, "if the kernel reached the roofline")
        return [self.finding(message, location, evidence=evidence, suggestion=suggestion,
                             estimated_gain=gain)]  # fmt: skip


@register
class GmOutOfBounds(Rule):
    """GM access outside the tensor's extent.

    What: DataCopy transfers that read or write GM bytes past the end (or
    before the start) of their tensor, per call site and tensor.
    Why: reads return another tensor's data, writes corrupt it; on the NPU
    msSanitizer reports them as illegal read/write or out of bounds.
    Fix: clamp the last tile (tail handling) and check per-core offsets.
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

        values = {"moved": ctx.column("aligned_size")[rows]}
        read = ctx.column("src_space")[rows] == Space.GM
        gm_addr = np.where(read, ctx.column("src_addr")[rows], ctx.column("addr")[rows])
        gm = np.full(rows.size, int(Space.GM))
        return site_findings(self, ctx, rows, describe, keys=("tag", "core_kind", "tensor"),
                             addr=gm_addr, space=gm, values=values)  # fmt: skip
