"""ALN004 small-bursts."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, Threshold, register
from ubscope.analyzers.rules.helpers import (
    bounded_saving_ps,
    gain_severity,
    gain_text,
    interval_union,
    moved_bytes,
    on_chip_side,
    saving_share,
    site_findings,
    where,
    work_kind,
)
from ubscope.probe.costmodel import PS_PER_NS, charged_bytes
from ubscope.probe.events import EventKind, Space
from ubscope.probe.units import format_bytes, format_time_ps


class MergeSaving(NamedTuple):
    """Per GM copy, what moving its bytes in copies of at least the chip's
    efficient size (one contiguous run each) would change, in the cost model's
    terms."""

    saved_ps: np.ndarray  # MTE pipe time saved: issues and 32 B rounding
    rounding_bytes: np.ndarray  # bytes its bursts' rounding to 32 B adds
    fill_ps: np.ndarray  # how much longer one merged copy takes than this one


def merge_savings(ctx: TraceContext, rows: np.ndarray) -> MergeSaving:
    """The :class:`MergeSaving` of the GM copies at ``rows``. The cost model
    charges a GM copy its MTE pipe for the issue cost (``gm_copy_issue_ns``)
    plus its bursts' bytes, each rounded up to 32 B, at the core's rate
    (``probe.costmodel.gm_copy_ps``); its latency overlaps the copies in
    flight. Merged, a copy pays its share of one issue and only the bytes it
    moves, at the rate the model gave it."""
    chip = ctx.chip
    duration = ctx.column("dur_ps")[rows].astype(float)
    issue_ps = np.minimum(duration, chip.gm_issue_ns * PS_PER_NS)
    moved = moved_bytes(ctx, rows).astype(float)
    charged = np.asarray(
        charged_bytes(chip, ctx.column("burst_count")[rows], ctx.column("burst_len")[rows]),
        dtype=float,
    )
    ps_per_byte = (duration - issue_ps) / np.maximum(charged, 1)
    merged_copy = np.maximum(moved, chip.efficient_burst_bytes)
    saved = issue_ps * (1 - moved / merged_copy) + ps_per_byte * np.maximum(charged - moved, 0)
    return MergeSaving(
        np.maximum(saved, 0.0),
        np.maximum(charged - moved, 0.0),
        (merged_copy - moved) * ps_per_byte,
    )


def critical_savings(ctx: TraceContext, rows: np.ndarray, merge: MergeSaving) -> np.ndarray:
    """The part of each copy's saved pipe time that comes off its core's time in
    its launch, per core, launch and direction: the savings less the longer
    first (or last) merged copy that the rest of the core waits for, and at most
    the core's span less its busiest other kind of work (GM reads, GM writes,
    on-chip work), which no schedule beats. Each copy keeps its share."""
    work = ctx.rows(EventKind.COPY, EventKind.COMPUTE)
    work_key, kinds = _core_launch(ctx, work), work_kind(ctx, work)
    start = ctx.column("start_ps")[work]
    end = start + ctx.column("dur_ps")[work]
    order = np.argsort(work_key, kind="stable")
    work_key, kinds, start, end = work_key[order], kinds[order], start[order], end[order]
    pairs, pair_of = np.unique(
        _core_launch(ctx, rows) * 3 + work_kind(ctx, rows), return_inverse=True
    )
    total = np.bincount(pair_of, weights=merge.saved_ps, minlength=pairs.size)
    fill = np.zeros(pairs.size)
    np.maximum.at(fill, pair_of, merge.fill_ps)
    net = np.zeros(pairs.size)
    for index, pair in enumerate(pairs.tolist()):
        lo, hi = np.searchsorted(work_key, [pair // 3, pair // 3 + 1])
        core_start, core_end, core_kind = start[lo:hi], end[lo:hi], kinds[lo:hi]
        others = [
            _covered(core_start[core_kind == other], core_end[core_kind == other])
            for other in {0, 1, 2} - {pair % 3}
        ]
        room = int(core_end.max() - core_start.min()) - max(others)
        net[index] = min(total[index] - fill[index], room)
    scale = np.maximum(net, 0.0) / np.maximum(total, 1.0)
    return merge.saved_ps * scale[pair_of]


def _core_launch(ctx: TraceContext, rows: np.ndarray) -> np.ndarray:
    firsts = ctx.launches["first_seq"].to_numpy()
    launch = np.maximum(np.searchsorted(firsts, ctx.column("seq")[rows], "right") - 1, 0)
    return launch.astype(np.int64) * (1 << 24) + ctx.gid(rows) // 8


def _covered(start: np.ndarray, end: np.ndarray) -> int:
    """Time the intervals ``[start, end)`` cover together."""
    starts, ends = interval_union(start, end)
    return int((ends - starts).sum())


@register
class SmallBursts(Rule):
    """GM transfers so small that the model charges them extra pipe time.

    ## What it does
    Flags, per call site, GM copies below the chip's efficient transfer size
    (16 KiB on 910B) or with bursts not whole 32 B blocks, when the cost model
    charges them a real cost: every GM copy occupies its MTE pipe for a fixed
    issue time (``gm_copy_issue_ns``) besides its bytes, and each burst is
    rounded up to 32 B. Merging the site's bytes into copies of at least the
    efficient size, one contiguous run each, saves the extra issues and the
    rounding; the gain is that saving on the critical path (per core and
    launch, less the longer first merged copy the core waits for, and at most
    the core's time beyond its busiest other work; the cores of a launch run
    side by side). A strided copy of 64 x 512 B costs what a
    contiguous 32 KiB copy costs, so it is not flagged. It warns when the gain
    reaches ``min_gain_share`` of the modelled time, and is info below.

    ## Why it matters
    Small copies spend their MTE pipe's time on issuing rather than moving
    bytes; single transfers of 16 KB or more reach the best bandwidth
    (Ascend C guide).

    ## Example
    A 64 KiB tile loaded as 32 copies of 2 KiB::

        for part in range(32):
            data_copy(tile[part * 1024 :], gm_x[part * 1024 :], 1024)

    ## How to fix
    Copy larger tiles (more rows per DataCopy), make rows contiguous in GM, or
    batch several small copies into one strided DataCopy.
    """

    code = "ALN004"
    name = "small-bursts"
    severity = Severity.WARNING
    thresholds = {
        "min_transfers": Threshold(
            8, "small-burst transfers a call site makes before it is flagged"
        ),
        "min_gain_share": Threshold(
            0.05,
            "share of the modelled time merging the transfers must save to warn (info below)",
        ),
    }

    def check(self, ctx: TraceContext) -> list[Finding]:
        chip = ctx.chip
        copies = ctx.rows(EventKind.COPY)
        gm_side = (ctx.column("space")[copies] == Space.GM) | (
            ctx.column("src_space")[copies] == Space.GM
        )
        copies = copies[gm_side]
        # only a copy below the efficient size or with rounded bursts saves anything
        # (merge_savings is 0 for the others): the float arithmetic skips the rest
        charged = charged_bytes(
            chip, ctx.column("burst_count")[copies], ctx.column("burst_len")[copies]
        )
        moved = moved_bytes(ctx, copies)
        copies = copies[(moved < chip.efficient_burst_bytes) | (charged > moved)]
        merge = merge_savings(ctx, copies)
        costly = merge.saved_ps > 0
        rows = copies[costly]
        if rows.size < max(1, self.limits["min_transfers"]):
            # no call site can reach min_transfers: skip the critical-path sweep
            # over every copy and compute of the trace
            return []
        merge = MergeSaving(*(values[costly] for values in merge))
        space, addr = on_chip_side(ctx, rows)
        issue_ps = chip.gm_issue_ns * PS_PER_NS

        def describe(group: Any) -> tuple[str, dict[str, Any], str, str | None]:
            gain = bounded_saving_ps(ctx, float(group.saved))
            share = saving_share(ctx, gain)
            rounded = (
                f" and {format_bytes(group.rounding)} of 32 B rounding" if group.rounding else ""
            )
            message = (
                f"{group.events} GM transfer(s) {where(group)} move "
                f"{format_bytes(group.moved / group.events)} each on average in bursts of "
                f"{format_bytes(group.burst / group.events)}: the model charges "
                f"{format_time_ps(issue_ps)} of MTE pipe time per copy{rounded}; copies of "
                f"{format_bytes(chip.efficient_burst_bytes)} or more would save "
                f"{format_time_ps(gain)} ({share:.0%} of the modelled time)"
            )
            evidence = {
                "bytes": int(group.moved),
                "mean_burst_bytes": round(group.burst / group.events),
                "rounding_bytes": int(group.rounding),
                "saved_ps": round(gain),
                "saved_share": round(share, 3),
                "event_kinds": ["copy"],
            }
            suggestion = (
                f"Move at least {format_bytes(chip.efficient_burst_bytes)} per DataCopy: "
                "larger tiles, contiguous rows or one strided copy."
            )
            return message, evidence, suggestion, gain_text(ctx, gain, "of MTE pipe time")

        values = {
            "moved": moved_bytes(ctx, rows),
            "burst": ctx.column("burst_len")[rows],
            "rounding": merge.rounding_bytes,
        }
        findings = site_findings(
            self,
            ctx,
            rows,
            describe,
            keys=("tag", "core_kind"),
            addr=addr,
            space=space,
            values=values,
            critical={"saved": critical_savings(ctx, rows, merge)},
        )
        kept = [
            f
            for f in findings
            if f.evidence["events"] >= self.limits["min_transfers"] and f.evidence["saved_ps"] > 0
        ]
        for finding in kept:
            finding.severity = gain_severity(
                finding.evidence["saved_share"], self.limits["min_gain_share"], self.severity
            )
        return kept
