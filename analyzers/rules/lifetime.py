"""Allocation lifetime rules: overlapping live blocks, blocks never freed, pools
never reset, and msMemScope-style checks (allocated too early, freed too late,
never used)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ubscope.analyzers.context import (
    CORE_KIND_LABELS,
    SPACE_LABELS,
    BlockUsage,
    TraceContext,
    dense_codes,
    group_parts,
    stable_order,
)
from ubscope.analyzers.findings import Finding, Location, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.ub import core_list
from ubscope.probe.events import EventKind
from ubscope.probe.units import count_cores, format_bytes, format_time_ps

PS_PER_US = 1_000_000


def block_frame(ctx: TraceContext, picked: np.ndarray, **extra: np.ndarray) -> pd.DataFrame:
    """The picked blocks as a frame with core kind / space labels and name codes."""
    blocks = ctx.blocks
    kind, core, space = group_parts(blocks.gid[picked])
    frame = pd.DataFrame(
        {
            "block": picked,
            "core_kind": np.asarray(CORE_KIND_LABELS)[kind],
            "core": core,
            "space": np.asarray(SPACE_LABELS)[space],
            "name_code": blocks.name[picked],
            "row": blocks.alloc_row[picked],
            "bytes": blocks.aligned[picked],
        }
    )
    for column, values in extra.items():
        frame[column] = values
    return frame


def per_buffer(ctx: TraceContext, frame: pd.DataFrame) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    """Groups of ``frame`` per (core kind, space, buffer name), with their labels."""
    out = []
    for (kind, space, name_code), group in frame.groupby(["core_kind", "space", "name_code"]):
        labels = {
            "kind": kind,
            "space": space,
            "name": ctx.label("name", int(name_code)),
            "cores": sorted({int(c) for c in group["core"]}),
        }
        out.append((labels, group))
    return out


def buffer_location(ctx: TraceContext, group: pd.DataFrame) -> Location:
    """Location of a per-buffer group of blocks: its rows, address span and first tag."""
    blocks = ctx.blocks
    picked = group["block"].to_numpy()
    return ctx.location(
        group["row"].to_numpy(),
        addr_start=int(blocks.addr[picked].min()),
        addr_end=int(blocks.end[picked].max()),
        tag=ctx.label("tag", int(blocks.tag[picked[0]])) or None,
    )


@register
class OverlappingAllocations(Rule):
    """Two live allocations share on-chip bytes.

    What: an allocation whose address range intersects a block that is still
    live on the same core and memory (replayed in program order).
    Why: both owners read and write the same bytes: one tile silently
    corrupts the other (a common result of hand-placed buffers or an
    allocator that hands out memory it never got back).
    Fix: give each live buffer its own range: check hand-computed offsets,
    free (or FreeTensor) before reusing a range, and never mix
    explicit-address and automatic InitBuffer.
    """

    code = "UB004"
    name = "overlapping-allocations"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        blocks = ctx.blocks
        hits = []
        for gid in ctx.group_ids:
            cover = ctx.coverage(int(gid))
            is_alloc = ctx.column("kind")[cover.rows] == EventKind.ALLOC
            rising = np.flatnonzero(is_alloc & (cover.max_cover >= 2))
            if rising.size:
                hits.append((int(gid), cover.rows[rising]))
        if not hits:
            return []
        row_to_block = pd.Series(np.arange(len(blocks)), index=blocks.alloc_row)
        picked = np.concatenate([row_to_block[rows].to_numpy() for _, rows in hits])
        frame = block_frame(ctx, picked)
        findings = []
        for (kind, space), group in frame.groupby(["core_kind", "space"]):
            first = int(group["block"].iloc[np.argmin(group["row"].to_numpy())])
            other = self._partner(ctx, first)
            cores = sorted({int(c) for c in group["core"]})
            name = ctx.label("name", int(blocks.name[first]))
            message = (
                f"{len(group)} {space} allocation(s) overlap a live block on "
                f"{count_cores(len(cores), kind)} ({core_list(kind, cores)}); first: '{name}' "
                f"[0x{int(blocks.addr[first]):x}, 0x{int(blocks.end[first]):x})"
            )
            evidence: dict[str, Any] = {"cores": cores, "allocations": len(group),
                                        "event_kinds": ["alloc", "free"]}  # fmt: skip
            if other is not None:
                message += (
                    f" overlaps '{ctx.label('name', int(blocks.name[other]))}' "
                    f"[0x{int(blocks.addr[other]):x}, 0x{int(blocks.end[other]):x}) allocated at "
                    f"event {int(ctx.column('seq')[blocks.alloc_row[other]])}"
                )
                evidence["overlapped_seq"] = int(ctx.column("seq")[blocks.alloc_row[other]])
            location = ctx.location(
                np.array([blocks.alloc_row[first]]),
                addr_start=int(blocks.addr[first]),
                addr_end=int(blocks.end[first]),
                tag=ctx.label("tag", int(blocks.tag[first])) or None,
            )
            findings.append(
                self.finding(
                    message,
                    location,
                    evidence=evidence,
                    suggestion="Give every live buffer its own address range.",
                )  # fmt: skip
            )
        return findings

    @staticmethod
    def _partner(ctx: TraceContext, block: int) -> int | None:
        """The earliest block live when ``block`` was allocated that it overlaps."""
        blocks = ctx.blocks
        row = blocks.alloc_row[block]
        candidates = np.flatnonzero(
            (blocks.gid == blocks.gid[block])
            & (blocks.alloc_row < row)
            & ((blocks.free_row < 0) | (blocks.free_row > row))
            & (blocks.addr < blocks.end[block])
            & (blocks.end > blocks.addr[block])
        )
        return int(candidates[0]) if candidates.size else None


@register
class NeverFreed(Rule):
    """Allocations still live when their kernel ended.

    What: on-chip blocks with no matching free (or pool reset) by the end of
    the launch, per buffer name.
    Why: a pool or queue that is never released keeps its bytes for the
    rest of the kernel; in a loop this is how a pool grows until it
    overflows. (A truncated trace is skipped: its frees were not recorded.)
    Fix: free the tensor (FreeTensor / free) or reset the pool when the
    round is done.
    """

    code = "UB005"
    name = "never-freed"
    severity = Severity.WARNING

    def check(self, ctx: TraceContext) -> list[Finding]:
        if not ctx.trace.complete:
            return []
        blocks = ctx.blocks
        leaked = np.flatnonzero(blocks.free_row < 0)
        findings = []
        for labels, group in per_buffer(ctx, block_frame(ctx, leaked)):
            kind, cores = labels["kind"], labels["cores"]
            total = int(group["bytes"].sum())
            message = (
                f"{len(group)} '{labels['name']}' {labels['space']} block(s) "
                f"({format_bytes(total)}) never freed on {count_cores(len(cores), kind)} "
                f"({core_list(kind, cores)})"
            )
            findings.append(
                self.finding(
                    message,
                    buffer_location(ctx, group),
                    evidence={
                        "cores": cores,
                        "blocks": len(group),
                        "bytes": total,
                        "event_kinds": ["alloc"],
                    },  # fmt: skip
                    suggestion="Free the buffer or reset its pool at the end of each round.",
                )
            )
        return findings


@register
class PoolNeverReset(Rule):
    """A pool hands out the same buffers again every round without a reset.

    What: the same buffer name and call site allocated again at a higher
    address while the previous one is still live and no pool reset
    happened in between, after the previous one was used (a new round).
    Why: the article's bump pool only rewinds on Reset(); without it every
    round stacks a new set of tiles on top of the last until UB runs out
    (then UB001 fires) — the footprint grows with the input size.
    Fix: call Reset() (or free the round's tiles) at the end of every round.
    """

    code = "UB006"
    name = "pool-never-reset"
    severity = Severity.WARNING
    thresholds = {"min_repeats": 2}

    def check(self, ctx: TraceContext) -> list[Finding]:
        blocks = ctx.blocks
        if len(blocks) < 2:
            return []
        key = (
            (blocks.gid.astype(np.int64) << 42)
            | (blocks.name.astype(np.int64) << 21)
            | blocks.tag.astype(np.int64)
        )
        codes, count = dense_codes(key)
        order = stable_order(codes, count)  # per (group, name, tag), program order inside
        prev, nxt = order[:-1], order[1:]
        same = codes[prev] == codes[nxt]
        prev, nxt = prev[same], nxt[same]
        next_row = blocks.alloc_row[nxt]
        grows = (blocks.addr[nxt] > blocks.addr[prev]) & (
            (blocks.free_row[prev] < 0) | (blocks.free_row[prev] > next_row)
        )
        prev, nxt = prev[grows], nxt[grows]
        # cheap filter first: any copy/compute at all between the two allocations
        touches = ctx.rows(EventKind.COPY, EventKind.COMPUTE)
        between = np.searchsorted(touches, blocks.alloc_row[nxt]) - np.searchsorted(
            touches, blocks.alloc_row[prev] + 1
        )
        prev, nxt = prev[between > 0], nxt[between > 0]
        if not nxt.size:
            return []
        resets = self._count_between(ctx, ctx.rows(EventKind.POOL_RESET), blocks.gid, prev, nxt)
        used = self._count_between(ctx, touches, blocks.gid // 8, prev, nxt, by_core=True)
        frame = block_frame(ctx, nxt[(resets == 0) & (used > 0)])
        findings = []
        for (kind, space), group in frame.groupby(["core_kind", "space"]):
            per_core = group.groupby(["core", "name_code"]).size()
            if per_core.max() < self.limits["min_repeats"]:
                continue
            cores = sorted({int(c) for c in group["core"]})
            names = sorted({ctx.label("name", int(n)) for n in group["name_code"]})
            growth = int(group.groupby("core")["bytes"].sum().max() / max(1, per_core.max()))
            message = (
                f"{', '.join(repr(n) for n in names)} allocated again up to {int(per_core.max())} "
                f"time(s) at growing {space} addresses with no pool reset between rounds on "
                f"{count_cores(len(cores), kind)} ({core_list(kind, cores)}); the pool grows by about "
                f"{format_bytes(growth)} per round"
            )
            location = ctx.location(group["row"].to_numpy())
            findings.append(
                self.finding(
                    message,
                    location,
                    evidence={
                        "cores": cores,
                        "buffers": names,
                        "max_repeats": int(per_core.max()),
                        "growth_per_round_bytes": growth,
                        "event_kinds": ["alloc"],
                    },  # fmt: skip
                    suggestion="Reset the pool (or free the round's tiles) at the end of every round.",
                )
            )
        return findings

    @staticmethod
    def _count_between(ctx: TraceContext, rows: np.ndarray, keys: np.ndarray, prev: np.ndarray,
                       nxt: np.ndarray, by_core: bool = False) -> np.ndarray:  # fmt: skip
        """How many of ``rows`` fall strictly between each prev / next block's
        allocation on the same group (``keys`` are group ids) or, ``by_core``,
        on the same core (``keys`` are group ids // 8)."""
        blocks = ctx.blocks
        event_keys = ctx.gid(rows) // 8 if by_core else ctx.gid(rows)
        span = np.int64(len(ctx.events) + 1)
        sorted_keys = np.sort(event_keys * span + rows)
        low = np.searchsorted(sorted_keys, keys[prev] * span + blocks.alloc_row[prev], "right")
        high = np.searchsorted(sorted_keys, keys[nxt] * span + blocks.alloc_row[nxt], "left")
        return high - low


class IdleRule(Rule):
    """Shared logic of the two msMemScope-style idle-time checks."""

    thresholds = {"min_idle_us": 1.0, "min_idle_fraction": 0.75}
    severity = Severity.INFO

    def idle_ps(self, ctx: TraceContext) -> tuple[np.ndarray, np.ndarray]:
        """(idle picoseconds, block lifetime picoseconds) per block (0 idle if unused)."""
        t_alloc, t_end, usage = self.block_times(ctx)
        if self.from_allocation:
            idle = np.where(usage.first_ps >= 0, usage.first_ps - t_alloc, 0)
        else:
            idle = np.where(usage.last_end_ps >= 0, t_end - usage.last_end_ps, 0)
        return np.maximum(idle, 0), t_end - t_alloc

    def check(self, ctx: TraceContext) -> list[Finding]:
        idle, lifetime = self.idle_ps(ctx)
        if not ctx.trace.complete:  # a block live at the cut has an unknown lifetime
            idle = np.where(ctx.blocks.free_row >= 0, idle, 0)
        flagged = np.flatnonzero(
            (idle >= self.limits["min_idle_us"] * PS_PER_US)
            & (idle >= self.limits["min_idle_fraction"] * np.maximum(lifetime, 1))
        )
        frame = block_frame(ctx, flagged, idle=idle[flagged], lifetime=lifetime[flagged])
        findings = []
        for labels, group in per_buffer(ctx, frame):
            share = float(group["idle"].sum() / max(1, group["lifetime"].sum()))
            mean_idle = float(group["idle"].mean())
            message = self.describe(labels, len(group), mean_idle, share)
            findings.append(
                self.finding(
                    message,
                    buffer_location(ctx, group),
                    evidence={
                        "cores": labels["cores"],
                        "blocks": len(group),
                        "mean_idle_ps": round(mean_idle),
                        "idle_share": round(share, 3),
                        "bytes": int(group["bytes"].sum()),
                    },  # fmt: skip
                    suggestion=self.suggestion,
                )
            )
        return findings

    def describe(self, labels: dict[str, Any], count: int, mean_idle: float, share: float) -> str:
        return (
            f"{count} '{labels['name']}' {labels['space']} block(s) on "
            f"{count_cores(len(labels['cores']), labels['kind'])} {self.verb} on average {format_time_ps(mean_idle)} "
            f"{self.relative_to} ({share:.0%} of their lifetime idle)"
        )

    suggestion = ""
    from_allocation = True  # idle from allocation to first use, else from last use to free
    verb = ""  # "allocated" / "freed"
    relative_to = ""  # "before first use" / "after last use"

    @staticmethod
    def block_times(ctx: TraceContext) -> tuple[np.ndarray, np.ndarray, BlockUsage]:
        """(allocation time, end of life, usage) per block; a block never freed lives
        until the end of the trace."""
        blocks = ctx.blocks
        start = ctx.column("start_ps")
        t_alloc = start[blocks.alloc_row]
        freed = blocks.free_row >= 0
        end_of_trace = ctx.modelled_end_ps if not freed.all() else 0
        t_end = np.where(freed, start[np.where(freed, blocks.free_row, 0)], end_of_trace)
        return t_alloc, np.maximum(t_end, t_alloc), ctx.block_usage


@register
class AllocatedTooEarly(IdleRule):
    """Buffers allocated long before their first use.

    What: blocks whose first copy or compute came at least ``min_idle_us``
    and ``min_idle_fraction`` of their lifetime after the allocation (as
    msMemScope's "allocated too early" check), per buffer name.
    Why: the bytes are reserved but idle; they raise the peak and can force
    smaller tiles than the kernel needs.
    Fix: allocate the buffer just before the step that fills it (e.g. the
    output tile after the inputs arrived).
    """

    code = "UB009"
    name = "allocated-too-early"
    suggestion = "Allocate the buffer just before the step that first writes it."
    verb, relative_to = "allocated", "before first use"


@register
class FreedTooLate(IdleRule):
    """Buffers freed long after their last use.

    What: blocks whose free (or the end of the trace, if never freed) came
    at least ``min_idle_us`` and ``min_idle_fraction`` of their lifetime
    after the last copy or compute that touched them (msMemScope's "freed
    too late"), per buffer name.
    Why: dead data holds on-chip bytes that the next tiles could use.
    Fix: free the tensor (FreeTensor) right after its last use.
    """

    code = "UB010"
    name = "freed-too-late"
    suggestion = "Free the buffer right after its last use."
    verb, relative_to = "freed", "after last use"
    from_allocation = False


@register
class UnusedAllocation(Rule):
    """Buffers allocated and never touched.

    What: blocks that no copy or compute event wrote or read while they were
    live (as msSanitizer's "unused memory"), per buffer name.
    Why: the bytes are reserved for nothing; in UB that is capacity the
    tiles could have used.
    Fix: drop the allocation, or check that the kernel uses the buffer it
    meant to (a wrong tensor passed to a copy leaves the intended one unused).
    (In a truncated trace, blocks still live at the cut are not judged.)
    """

    code = "UB011"
    name = "unused-allocation"
    severity = Severity.WARNING

    def check(self, ctx: TraceContext) -> list[Finding]:
        blocks = ctx.blocks
        # in a truncated trace a block still live at the cut may be used after it
        whole_life = (blocks.free_row >= 0) | ctx.trace.complete
        unused = np.flatnonzero((ctx.block_usage.last_row < 0) & whole_life)
        findings = []
        for labels, group in per_buffer(ctx, block_frame(ctx, unused)):
            total = int(group["bytes"].sum())
            message = (
                f"{len(group)} '{labels['name']}' {labels['space']} block(s) "
                f"({format_bytes(total)}) allocated but never used on "
                f"{count_cores(len(labels['cores']), labels['kind'])} ({core_list(labels['kind'], labels['cores'])})"
            )
            findings.append(
                self.finding(
                    message,
                    buffer_location(ctx, group),
                    evidence={
                        "cores": labels["cores"],
                        "blocks": len(group),
                        "bytes": total,
                        "event_kinds": ["alloc"],
                    },  # fmt: skip
                    suggestion="Drop the allocation or make sure the kernel uses it.",
                )
            )
        return findings
