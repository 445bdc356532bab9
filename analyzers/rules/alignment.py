"""Alignment rules in two tiers, as msSanitizer and Nsight Compute split them:
hard errors (misaligned on-chip addresses, truncated DataCopy lengths) and
efficiency warnings (GM not 512 B aligned, bursts too small for full bandwidth).
Each groups events per call site and core kind."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.analyzers.context import SPACE_LABELS, TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.ub import on_chip_side, site_findings, where
from ubscope.probe.events import ON_CHIP_SPACES, EventKind, Flag, Space
from ubscope.probe.units import format_bytes, format_time_ps

PS_PER_NS = 1000


def gain_text(ctx: TraceContext, saved_ps: float, what: str) -> str | None:
    """An estimated gain: a saving on the kernel's critical path, so never more than
    its modelled time."""
    saved_ps = min(saved_ps, ctx.modelled_time_ps)
    return f"~{format_time_ps(saved_ps)} {what}" if saved_ps > 0 else None


@register
class MisalignedAddress(Rule):
    """On-chip address not aligned for its memory.

    What: allocations, copies and vector ops whose UB/L1 address is not a
    multiple of 32 B, L0A/L0B of 512 B or L0C of 64 B, per call site.
    Why: the hardware requires these alignments; a misaligned UB operand
    raises "Illegal instruction ... unaligned UB addresses" (EZ9999 / aivec
    error 0x10) or silently reads the wrong bytes.
    Fix: allocate through TPipe / an aligned pool, and offset sub-tensors by
    whole 32 B blocks (16 fp16 / 8 fp32 elements).
    """

    code = "ALN001"
    name = "misaligned-address"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        flagged = ctx.flagged_rows(Flag.MISALIGNED, EventKind.COPY, EventKind.COMPUTE)
        allocs = ctx.rows(EventKind.ALLOC)
        alignment = np.array([ctx.chip.space_alignment(s) if s in [x.name for x in ON_CHIP_SPACES]
                              else 1 for s in SPACE_LABELS])  # fmt: skip
        misplaced = allocs[ctx.column("addr")[allocs] % alignment[ctx.column("space")[allocs]] != 0]
        rows = np.union1d(flagged, misplaced)
        space, addr = on_chip_side(ctx, rows)
        misaligned_by = addr % alignment[space]

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            required = ctx.chip.space_alignment(group.space)
            message = (
                f"{group.events} {group.space} access(es) {where(group)} at addresses not "
                f"{required} B aligned (first 0x{int(group.addr_start):x})"
            )
            evidence = {"required_alignment": required,
                        "event_kinds": ["alloc", "copy", "compute"]}  # fmt: skip
            suggestion = f"Place {group.space} buffers and sub-tensors on {required} B boundaries."
            return message, evidence, suggestion, None

        return site_findings(self, ctx, rows, describe, addr=addr, space=space,
                             values={"offset": misaligned_by})  # fmt: skip


@register
class TruncatedCopy(Rule):
    """DataCopy length not a multiple of 32 B: the tail was dropped.

    What: contiguous DataCopy calls whose length is not a whole number of
    32 B DataBlocks; the hardware rounds the length *down* and silently
    drops the tail ("若不对齐，搬运量将对32字节做向下取整"). Counted per call
    site with the bytes lost (requested - moved).
    Why: the kernel computes on stale bytes past the copied part, or the
    output's tail is never written: wrong results with no error.
    Fix: pad the length to 32 B (and mask the extra elements), or use
    DataCopyPad, which moves byte-exact lengths.
    """

    code = "ALN002"
    name = "truncated-copy"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        rows = ctx.flagged_rows(Flag.TRUNCATED, EventKind.COPY)
        lost = ctx.column("size")[rows] - ctx.column("aligned_size")[rows]
        space, addr = on_chip_side(ctx, rows)

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            message = (
                f"{group.events} DataCopy call(s) {where(group)} with lengths not a multiple of "
                f"32 B dropped {format_bytes(group.lost)} ({group.lost} B) of "
                f"{format_bytes(group.requested)} requested"
            )
            evidence = {"bytes_lost": int(group.lost), "bytes_requested": int(group.requested),
                        "flag": "TRUNCATED", "event_kinds": ["copy"]}  # fmt: skip
            suggestion = "Pad the copy length to 32 B or use DataCopyPad for byte-exact lengths."
            return message, evidence, suggestion, None

        values = {"lost": lost, "requested": ctx.column("size")[rows]}
        return site_findings(self, ctx, rows, describe, keys=("tag", "core_kind"), addr=addr,
                             space=space, values=values)  # fmt: skip


@register
class GmUnaligned(Rule):
    """GM address not 512 B aligned: the copy runs at reduced bandwidth.

    What: DataCopy transfers whose GM address is not on a 512 B boundary,
    per call site, with the bytes moved and the modelled time lost.
    Why: GM transfers go in 128/256/512 B bursts; an unaligned start splits
    them, and measured single-core bandwidth drops to about 70 % of the
    aligned case (Ascend C guide, "GM地址尽量512B对齐").
    Fix: align tensor offsets (tile starts, row pitches) to 512 B, pad rows
    to a multiple of 512 B, or shift the split so each core starts aligned.
    """

    code = "ALN003"
    name = "gm-unaligned"
    severity = Severity.WARNING

    def check(self, ctx: TraceContext) -> list[Finding]:
        rows = ctx.flagged_rows(Flag.GM_UNALIGNED, EventKind.COPY)
        chip = ctx.chip
        transfer = np.maximum(ctx.column("dur_ps")[rows] - chip.gm_latency_ns * PS_PER_NS, 0)
        saved = transfer * (1 - chip.misaligned_gm_factor)

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            message = (
                f"{group.events} GM transfer(s) of tensor '{group.tensor}' {where(group)} start "
                f"off the {chip.gm_alignment} B boundary ({format_bytes(group.moved)} moved at "
                f"~{chip.misaligned_gm_factor:.0%} bandwidth)"
            )
            evidence = {"bytes": int(group.moved), "saved_ps": round(group.saved),
                        "flag": "GM_UNALIGNED", "event_kinds": ["copy"]}  # fmt: skip
            suggestion = f"Align GM offsets of '{group.tensor}' to {chip.gm_alignment} B."
            gain = gain_text(ctx, group.saved, "of modelled copy time")
            return message, evidence, suggestion, gain

        read = ctx.column("src_space")[rows] == Space.GM
        gm_addr = np.where(read, ctx.column("src_addr")[rows], ctx.column("addr")[rows])
        return site_findings(self, ctx, rows, describe, keys=("tag", "core_kind", "tensor"),
                             addr=gm_addr, space=np.full(rows.size, int(Space.GM)),
                             values={"moved": ctx.column("aligned_size")[rows]},
                             critical={"saved": saved})  # fmt: skip


@register
class SmallBursts(Rule):
    """GM transfers in bursts too small to reach full bandwidth.

    What: DataCopy transfers between GM and on-chip memory whose contiguous
    burst is below the chip's efficient size (16 KiB on 910B), per call site,
    when a site has at least ``min_transfers`` of them. The modelled gain is
    the per-transfer latency saved by merging them into full-size transfers,
    on the core that saves most (cores run side by side).
    Why: every transfer pays a fixed latency and small bursts cannot keep
    the memory system busy; single transfers of 16 KB or more reach the best
    bandwidth (Ascend C guide).
    Fix: copy larger tiles (more rows per DataCopy), make rows contiguous in
    GM, or batch several small copies into one strided DataCopy.
    """

    code = "ALN004"
    name = "small-bursts"
    severity = Severity.WARNING
    thresholds = {"min_transfers": 8}

    def check(self, ctx: TraceContext) -> list[Finding]:
        chip = ctx.chip
        copies = ctx.rows(EventKind.COPY)
        gm_side = (ctx.column("space")[copies] == Space.GM) | (
            ctx.column("src_space")[copies] == Space.GM
        )
        copies = copies[gm_side]
        rows = copies[ctx.column("burst_len")[copies] < chip.efficient_burst_bytes]
        space, addr = on_chip_side(ctx, rows)
        moved = ctx.column("aligned_size")[rows]
        # Merged into full-size transfers, each event's bytes pay a latency only in
        # proportion to how much of a full transfer they fill.
        latency_ps = chip.gm_latency_ns * PS_PER_NS
        saved = latency_ps * np.maximum(0, 1 - moved / chip.efficient_burst_bytes)

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            message = (
                f"{group.events} GM transfer(s) {where(group)} use bursts below "
                f"{format_bytes(chip.efficient_burst_bytes)} (average "
                f"{format_bytes(group.burst / group.events)}; {format_bytes(group.moved)} moved)"
            )
            evidence = {"bytes": int(group.moved), "mean_burst_bytes": round(group.burst / group.events),
                        "event_kinds": ["copy"]}  # fmt: skip
            suggestion = (
                f"Move at least {format_bytes(chip.efficient_burst_bytes)} per contiguous burst: "
                "larger tiles or contiguous rows."
            )
            gain = gain_text(ctx, group.saved, "of modelled transfer latency")
            return message, evidence, suggestion, gain

        values = {"moved": moved, "burst": ctx.column("burst_len")[rows]}
        findings = site_findings(self, ctx, rows, describe, keys=("tag", "core_kind"), addr=addr,
                                 space=space, values=values, critical={"saved": saved})  # fmt: skip
        return [f for f in findings if f.evidence["events"] >= self.limits["min_transfers"]]
