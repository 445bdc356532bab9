"""UB004 overlapping-allocations."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.helpers import core_list, per_kind_and_space
from ubscope.analyzers.rules.ub.buffers import block_frame
from ubscope.probe.units import count_cores


@register
class OverlappingAllocations(Rule):
    """Two live allocations share on-chip bytes.

    ## What it does
    Flags an allocation whose address range intersects a block that is still
    live on the same core and memory (replayed in program order).

    ## Why it matters
    Both owners read and write the same bytes: one tile silently corrupts the
    other (a common result of hand-placed buffers or an allocator that hands
    out memory it never got back).

    ## Example
    A trace in which UB block 'b' is allocated at [2 KiB, 6 KiB) while block
    'a' at [0, 4 KiB) is still live on the same core (hand-computed offsets,
    or two TPipes initialised over the same range).

    ## How to fix
    Give each live buffer its own range: check hand-computed offsets, free (or
    FreeTensor) before reusing a range, and never mix explicit-address and
    automatic InitBuffer.
    """

    code = "UB004"
    name = "overlapping-allocations"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        rows = ctx.overlapping_allocs()
        if not rows.size:
            return []
        blocks = ctx.blocks
        picked = np.searchsorted(blocks.alloc_row, rows)  # blocks are in ALLOC order
        frame = block_frame(ctx, picked)
        findings = []
        for kind, space, group in per_kind_and_space(frame):
            first = int(group["block"].iloc[np.argmin(group["row"].to_numpy())])
            other = ctx.overlapped(first)
            cores = sorted({int(c) for c in group["core"]})
            name = ctx.label("name", int(blocks.name[first]))
            message = (
                f"{len(group):,} {space} allocation(s) overlap a live block on "
                f"{count_cores(len(cores), kind)} ({core_list(kind, cores)}); first: '{name}' "
                f"[0x{int(blocks.addr[first]):x}, 0x{int(blocks.end[first]):x})"
            )
            evidence: dict[str, Any] = {
                "cores": cores,
                "allocations": len(group),
                "event_kinds": ["alloc", "free"],
            }
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
                )
            )
        return findings
