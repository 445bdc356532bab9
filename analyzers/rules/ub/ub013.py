"""UB013 single-buffered-queue."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.model.arrays import CORE_KIND_LABELS, CORE_SPAN, unique_codes
from ubscope.analyzers.model.single_buffered import (
    FILLED_FROM_GM,
    SingleBufferedBlocks,
    core_keys,
)
from ubscope.analyzers.rules.base import Rule, Threshold, register
from ubscope.analyzers.rules.helpers import (
    bounded_saving_ps,
    gain_severity,
    gain_text,
    saving_share,
)
from ubscope.analyzers.rules.ub.queue_counts import position_name
from ubscope.probe.units import count_cores, format_time_ps

# A Matmul's L1 queues are sized by its tiling, not by an InitBuffer of the kernel's.
MATMUL_HINTS = {
    "A1": (
        " For a Matmul's A1 (at its REGIST_MATMUL_OBJ line): depthA1 = 2 x stepKa"
        " in its TCubeTiling."
    ),
    "B1": (
        " For a Matmul's B1 (at its REGIST_MATMUL_OBJ line): depthB1 = 2 x stepKb"
        " in its TCubeTiling."
    ),
}


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
    side by side, so a launch shortens by at most what one core saves. Only
    the copies the single block held back count: a copy-in that started later
    than the block's last use before it ended waited for something else (a
    busy pipe, a flag, the AIC feeding the core) and gains nothing. Queues
    that fill (or drain) in step on the same cores, as a Matmul's A1 and B1
    do, are named in each other's findings: each one's saving assumes the
    others are double-buffered too. It warns when that saving reaches
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
    tile if it does not. A Matmul's A1 and B1 (placed at its
    ``REGIST_MATMUL_OBJ`` line) hold ``depthA1 / stepKa`` and ``depthB1 /
    stepKb`` blocks: ``depthA1 = 2 * stepKa`` and ``depthB1 = 2 * stepKb`` in
    its ``TCubeTiling`` double-buffer them.
    """

    code = "UB013"
    name = "single-buffered-queue"
    severity = Severity.WARNING
    reads_single_buffered = True
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
        blocks = ctx.single_buffered
        judged = np.flatnonzero(blocks.transfers >= self.limits["min_transfers"])
        if not judged.size:
            return []
        rows = blocks.init_rows[judged]
        # one finding per queue: a Matmul's A1 and B1 share their REGIST_MATMUL_OBJ line
        positions, position_codes = unique_codes(blocks.position[judged])
        keys, finding_of = unique_codes(
            ctx.column("name")[rows].astype(np.int64) * positions.size + position_codes
        )
        queues = [
            (
                ctx.label("name", key // positions.size),
                position_name(int(positions[key % positions.size])),
            )
            for key in keys.tolist()
        ]
        gains = ctx.critical_path_sums(rows, blocks.saved_ps[judged], finding_of, keys.size)
        partners = in_step_partners(ctx, blocks, judged, finding_of)
        findings = []
        for code_index, (name, position) in enumerate(queues):
            gain = bounded_saving_ps(ctx, float(gains[code_index]))
            if gain <= 0:
                continue
            share = saving_share(ctx, gain)
            mine = judged[finding_of == code_index]
            rows_of = blocks.init_rows[mine]
            kind = CORE_KIND_LABELS[int(ctx.column("core_kind")[rows_of[0]])]
            cores = sorted({int(c) for c in ctx.column("core")[rows_of]})
            transfers = int(blocks.transfers[mine].max())
            others = ["'{}' ({})".format(*queues[other]) for other in partners[code_index]]
            message = (
                f"'{name}' ({position}) is single-buffered on {count_cores(len(cores), kind)}: up to "
                f"{transfers:,} GM copies go through one block; a second block "
                f"would let them overlap the rest of each iteration and save "
                f"{format_time_ps(gain)} ({share:.0%} of the modelled time)"
            )
            if others:
                message += (
                    f"; that counts on {' and '.join(others)}, single-buffered too and "
                    "copied in step with it on the same cores, being double-buffered as "
                    "well: one alone may save much less"
                )
            suggestion = f"Double-buffer '{name}': InitBuffer(que, 2, len)." + MATMUL_HINTS.get(
                position, ""
            )
            if others:
                suggestion += f" Double-buffer {' and '.join(others)} too."
            findings.append(
                self.finding(
                    message,
                    ctx.location(
                        rows_of, tag=ctx.label("tag", int(ctx.column("tag")[rows_of[0]])) or None
                    ),
                    severity=gain_severity(share, self.limits["min_gain_share"], self.severity),
                    evidence={
                        "cores": cores,
                        "transfers": transfers,
                        "saved_ps": round(gain),
                        "saved_share": round(share, 3),
                        "copied_in_step_with": others,
                        "event_kinds": ["queue_init"],
                    },
                    suggestion=suggestion,
                    estimated_gain=gain_text(ctx, gain, "if double-buffered (modelled)"),
                )
            )
        return findings


def in_step_partners(
    ctx: TraceContext, blocks: SingleBufferedBlocks, judged: np.ndarray, finding_of: np.ndarray
) -> list[list[int]]:
    """Per finding, the other findings whose queues fill (or drain) in step with
    its own: a block of each on one core of one launch, in the same direction,
    with as many GM copies. Doubling one of them alone may leave the tile
    waiting for the other's single block, so neither's saving need come alone."""
    rows = blocks.init_rows[judged]
    filling = np.isin(blocks.position[judged], [int(p) for p in FILLED_FROM_GM])
    per_launch = len(CORE_KIND_LABELS) * CORE_SPAN
    core_key = (ctx.launch_of(rows) * per_launch + core_keys(ctx.table, rows)) * 2 + filling
    partners: list[set[int]] = [set() for _ in range(int(finding_of.max()) + 1)]
    for run in _equal_runs(core_key, blocks.transfers[judged]):
        found = set(finding_of[run].tolist())
        for mine in found:
            partners[mine] |= found - {mine}
    return [sorted(others) for others in partners]


def _equal_runs(core_key: np.ndarray, transfers: np.ndarray) -> list[np.ndarray]:
    """The positions of the blocks sharing a core key and a copy count."""
    order = np.lexsort((transfers, core_key))
    together = np.r_[True, (np.diff(core_key[order]) != 0) | (np.diff(transfers[order]) != 0)]
    return [run for run in np.split(order, np.flatnonzero(together)[1:]) if run.size > 1]
