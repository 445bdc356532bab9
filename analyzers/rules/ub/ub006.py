"""UB006 pool-never-reset."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.model.arrays import dense_codes, stable_order
from ubscope.analyzers.rules.base import Rule, Threshold, register
from ubscope.analyzers.rules.helpers import core_list, per_kind_and_space
from ubscope.analyzers.rules.ub.buffers import block_frame
from ubscope.probe.events import EventKind
from ubscope.probe.units import count_cores, format_bytes


@register
class PoolNeverReset(Rule):
    """A pool hands out the same buffers again every round without a reset.

    ## What it does
    Flags the same buffer name and call site allocated again at a higher
    address while the previous one is still live and no pool reset happened in
    between, after the previous one was used (a new round), when a core does
    so at least ``min_repeats`` times.

    ## Why it matters
    The article's bump pool only rewinds on Reset(); without it every round
    stacks a new set of tiles on top of the last until UB runs out (then UB001
    fires): the footprint grows with the input size.

    ## Example
    The same loop as UB005's: each round's 'tile' lands 16 KiB above the last
    because ``pool.reset()`` is never called::

        for round_ in range(4):
            tile = pool.allocate(8192, np.float16)
            data_copy(tile, src[round_ * 8192 :], 8192)

    ## How to fix
    Call Reset() (or free the round's tiles) at the end of every round.
    """

    code = "UB006"
    name = "pool-never-reset"
    severity = Severity.WARNING
    thresholds = {
        "min_repeats": Threshold(
            2,
            "allocations of one buffer at growing addresses on one core, without a reset, before it is flagged",
        ),
    }

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
        for kind, space, group in per_kind_and_space(frame):
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
                    },
                    suggestion="Reset the pool (or free the round's tiles) at the end of every round.",
                )
            )
        return findings

    @staticmethod
    def _count_between(
        ctx: TraceContext,
        rows: np.ndarray,
        keys: np.ndarray,
        prev: np.ndarray,
        nxt: np.ndarray,
        by_core: bool = False,
    ) -> np.ndarray:
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
