"""UB013 single-buffered-queue."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.model.arrays import CORE_KIND_LABELS, unique_codes
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
    tile if it does not. A Matmul's A1 and B1 (placed at its
    ``REGIST_MATMUL_OBJ`` line) hold ``depthA1 / stepKa`` and ``depthB1 /
    stepKb`` blocks: ``depthA1 = 2 * stepKa`` and ``depthB1 = 2 * stepKb`` in
    its ``TCubeTiling`` double-buffer them.
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
        blocks = ctx.single_buffered
        judged = np.flatnonzero(blocks.transfers >= self.limits["min_transfers"])
        if not judged.size:
            return []
        names = ctx.column("name")[blocks.init_rows[judged]]
        name_codes, finding_of = unique_codes(names)
        gains = ctx.critical_path_sums(
            blocks.init_rows[judged], blocks.saved_ps[judged], finding_of, name_codes.size
        )
        findings = []
        for code_index, name_code in enumerate(name_codes):
            gain = bounded_saving_ps(ctx, float(gains[code_index]))
            if gain <= 0:
                continue
            share = saving_share(ctx, gain)
            mine = judged[finding_of == code_index]
            rows_of = blocks.init_rows[mine]
            kind = CORE_KIND_LABELS[int(ctx.column("core_kind")[rows_of[0]])]
            cores = sorted({int(c) for c in ctx.column("core")[rows_of]})
            name = ctx.label("name", int(name_code))
            position = position_name(int(blocks.position[mine[0]]))
            transfers = int(blocks.transfers[mine].max())
            message = (
                f"'{name}' ({position}) is single-buffered on {count_cores(len(cores), kind)}: up to "
                f"{transfers} GM copies go through one block; a second block "
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
                        "transfers": transfers,
                        "saved_ps": round(gain),
                        "saved_share": round(share, 3),
                        "event_kinds": ["queue_init"],
                    },
                    suggestion=f"Double-buffer '{name}': InitBuffer(que, 2, len)."
                    + MATMUL_HINTS.get(position, ""),
                    estimated_gain=gain_text(ctx, gain, "if double-buffered (modelled)"),
                )
            )
        return findings
