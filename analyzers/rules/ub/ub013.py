"""UB013 single-buffered-queue."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.model.arrays import CORE_KIND_LABELS
from ubscope.analyzers.rules.base import Rule, Threshold, register
from ubscope.analyzers.rules.ub.queue_counts import (
    GM_FACING,
    position_name,
)
from ubscope.probe.units import count_cores, format_time_ps


@register
class SingleBuffered(Rule):
    """A GM-facing queue has one buffer, so copies cannot overlap compute.

    ## What it does
    Flags a VECIN/VECOUT/A1/B1 queue initialised with ``num=1`` whose block
    carries at least ``min_transfers`` GM copies, when those copies take at
    least ``min_copy_share`` of the launch's modelled time.

    ## Why it matters
    With one block, the next tile's copy-in must wait until the compute has
    released the block (and the copy-out until the compute wrote it), so MTE
    and vector/cube work run one after another instead of overlapping.

    ## Example
    A copy-in queue with one buffer feeding a loop of tiles::

        pipe.init_buffer(in_que, 1, tile_bytes)  # num=1
        for i in range(tiles):
            x = in_que.alloc_tensor(np.float16)
            data_copy(x, gm_x[i * tile :], tile)
            ...

    ## How to fix
    ``InitBuffer(que, 2, len)`` (double buffering) when UB allows; shrink the
    tile if it does not.
    """

    code = "UB013"
    name = "single-buffered-queue"
    severity = Severity.WARNING
    thresholds = {
        "min_transfers": Threshold(
            4, "GM copies through the single block before the queue is judged"
        ),
        "min_copy_share": Threshold(
            0.3, "fraction of the launch's modelled time those copies must take"
        ),
    }

    def check(self, ctx: TraceContext) -> list[Finding]:
        inits = ctx.table.queue_inits()
        picked = (inits.num == 1) & np.isin(inits.position, [int(p) for p in GM_FACING])
        single, block_bytes, positions = (
            inits.rows[picked],
            inits.block_bytes[picked],
            inits.position[picked],
        )
        if not single.size:
            return []
        firsts = ctx.launches["first_seq"].to_numpy()
        spans = (ctx.launches["end_ps"] - ctx.launches["start_ps"]).to_numpy()

        def key(rows: np.ndarray, gid: np.ndarray, addr: np.ndarray) -> np.ndarray:
            launch = np.maximum(np.searchsorted(firsts, rows, "right") - 1, 0).astype(np.int64)
            return (((launch << 22) | gid.astype(np.int64)) << 40) | addr

        start = key(single, ctx.gid(single), ctx.column("addr")[single])
        order = np.argsort(start)
        single, start, positions = single[order], start[order], positions[order]
        end = start + block_bytes[order]
        moves = ctx.gm_transfers
        rows = moves["rows"]
        chip_gid = np.where(moves["read"], ctx.gid(rows), ctx.gid(rows, "src_space"))
        chip_addr = np.where(moves["read"], ctx.column("addr")[rows], ctx.column("src_addr")[rows])
        copy_key = key(rows, chip_gid, chip_addr)
        slot = np.searchsorted(start, copy_key, "right") - 1
        hit = (slot >= 0) & (copy_key < end[np.maximum(slot, 0)])
        queue, duration = slot[hit], ctx.column("dur_ps")[rows[hit]]
        count = np.bincount(queue, minlength=single.size)
        copy_ps = np.bincount(queue, weights=duration, minlength=single.size)
        span = (
            np.maximum(spans[np.maximum(np.searchsorted(firsts, single, "right") - 1, 0)], 1)
            if len(firsts)
            else np.ones(single.size)
        )
        share = copy_ps / span
        flagged = np.flatnonzero(
            (count >= self.limits["min_transfers"]) & (share >= self.limits["min_copy_share"])
        )
        findings = []
        names = ctx.column("name")[single]
        for name_code in np.unique(names[flagged]):
            mine = flagged[names[flagged] == name_code]
            rows_of = single[mine]
            kind = CORE_KIND_LABELS[int(ctx.column("core_kind")[rows_of[0]])]
            cores = sorted({int(c) for c in ctx.column("core")[rows_of]})
            name = ctx.label("name", int(name_code))
            position = position_name(int(positions[mine[0]]))
            worst = mine[np.argmax(copy_ps[mine])]
            overlap = min(copy_ps[worst], span[worst] - copy_ps[worst])
            message = (
                f"'{name}' ({position}) is single-buffered on {count_cores(len(cores), kind)}: up to "
                f"{int(count[mine].max())} GM copies go through one block, so they cannot "
                f"overlap compute; they take {share[worst]:.0%} of the modelled time"
            )
            findings.append(
                self.finding(
                    message,
                    ctx.location(
                        rows_of, tag=ctx.label("tag", int(ctx.column("tag")[rows_of[0]])) or None
                    ),
                    evidence={
                        "cores": cores,
                        "transfers": int(count[mine].max()),
                        "copy_share": round(float(share[worst]), 3),
                        "event_kinds": ["queue_init"],
                    },
                    suggestion=f"Double-buffer '{name}': InitBuffer(que, 2, len).",
                    estimated_gain=f"up to ~{format_time_ps(overlap)} per core if copies overlapped compute"
                    if overlap > 0
                    else None,
                )
            )
        return findings
