"""UB013 single-buffered-queue."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.model.arrays import CORE_KIND_LABELS
from ubscope.analyzers.rules.base import Rule, Threshold, register
from ubscope.analyzers.rules.helpers import (
    bounded_saving_ps,
    gain_severity,
    gain_text,
    saving_share,
)
from ubscope.analyzers.rules.ub.double_buffering import BusyTime, block_savings
from ubscope.analyzers.rules.ub.queue_counts import GM_FACING, position_name
from ubscope.probe.units import count_cores, format_time_ps


@register
class SingleBuffered(Rule):
    """A GM-facing queue has one buffer, and double buffering would save time.

    ## What it does
    Looks at each VECIN/VECOUT/A1/B1 queue initialised with ``num=1`` whose
    block carries at least ``min_transfers`` GM copies, and works out from the
    modelled stage times what a second block would save: per iteration, the
    copy of one tile can overlap what the tile waits for (its compute, the
    latency of a copy in flight), but never by more than the copy itself, and
    never below the core's busiest pipe in that iteration; cores of a launch run
    side by side, so a launch shortens by at most what one core saves. Where
    several queues are single-buffered, each one's saving assumes the others
    keep pace (double-buffer them together). It warns when that saving reaches
    ``min_gain_share`` of the modelled time and reports it as information below.

    ## Why it matters
    With one block, the next tile's copy-in must wait until the compute has
    released the block (and the compute until the copy-out has drained it), so
    MTE and vector/cube work run one after another instead of overlapping. A
    copy-bound kernel gains only the latency and compute it can hide behind its
    copies (its copies take their time either way); a balanced one up to half
    of its time.

    ## Example
    A copy-in queue with one buffer feeding a loop of tiles whose compute takes
    about as long as the copy::

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
        "min_gain_share": Threshold(
            0.05,
            "modelled saving of double buffering, as a share of the modelled time, "
            "from which it is a warning",
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
        queue, copy_rows, copy_read = slot[hit], rows[hit], moves["read"][hit]
        count = np.bincount(queue, minlength=single.size)
        judged = np.flatnonzero(count >= self.limits["min_transfers"])
        if not judged.size:
            return []
        busy = BusyTime(ctx)
        names = ctx.column("name")[single]
        name_codes, finding_of = np.unique(names[judged], return_inverse=True)
        stage_rows, saved, codes = [], [], []
        for index, block in enumerate(judged):
            mine = queue == block
            first_rows, block_saved = block_savings(
                ctx, busy, copy_rows[mine], bool(copy_read[mine][0])
            )
            stage_rows.append(first_rows)
            saved.append(block_saved)
            codes.append(np.full(first_rows.size, finding_of[index]))
        gains = ctx.critical_path_sums(
            np.concatenate(stage_rows),
            np.concatenate(saved),
            np.concatenate(codes),
            name_codes.size,
        )
        findings = []
        for code_index, name_code in enumerate(name_codes):
            gain = bounded_saving_ps(ctx, float(gains[code_index]))
            if gain <= 0:
                continue
            share = saving_share(ctx, gain)
            mine = judged[finding_of == code_index]
            rows_of = single[mine]
            kind = CORE_KIND_LABELS[int(ctx.column("core_kind")[rows_of[0]])]
            cores = sorted({int(c) for c in ctx.column("core")[rows_of]})
            name = ctx.label("name", int(name_code))
            position = position_name(int(positions[mine[0]]))
            message = (
                f"'{name}' ({position}) is single-buffered on {count_cores(len(cores), kind)}: up to "
                f"{int(count[mine].max())} GM copies go through one block; a second block "
                f"would let them overlap the rest of each iteration and save "
                f"{format_time_ps(gain)} ({share:.0%} of the modelled time)"
            )
            findings.append(
                self.finding(
                    message,
                    ctx.location(
                        rows_of, tag=ctx.label("tag", int(ctx.column("tag")[rows_of[0]])) or None
                    ),
                    severity=gain_severity(share, self.limits["min_gain_share"], self.severity),
                    evidence={
                        "cores": cores,
                        "transfers": int(count[mine].max()),
                        "saved_ps": round(gain),
                        "saved_share": round(share, 3),
                        "event_kinds": ["queue_init"],
                    },
                    suggestion=f"Double-buffer '{name}': InitBuffer(que, 2, len).",
                    estimated_gain=gain_text(ctx, gain, "if double-buffered (modelled)"),
                )
            )
        return findings
