"""TPipe queue rules: buffers per TPosition (hardware event ids) and per TPipe, and
single-buffered GM-facing queues."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ubscope.analyzers.context import CORE_KIND_LABELS, TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.ub import core_list
from ubscope.probe.events import EventKind, Flag, Space
from ubscope.probe.memory.positions import POSITION_SPACE, TPosition
from ubscope.probe.units import count_cores, format_time_ps


def position_name(value: int) -> str:
    """``VECIN`` for a TPosition value; ``position N`` for one the enum lacks."""
    known = {int(position) for position in TPosition}
    return TPosition(value).name if value in known else f"position {value}"


def queue_counts(ctx: TraceContext) -> pd.DataFrame:
    """:func:`count_queue_buffers`, once per context."""
    return ctx.memo("queue_counts", lambda: count_queue_buffers(ctx))


def count_queue_buffers(ctx: TraceContext) -> pd.DataFrame:
    """One row per QUEUE_INIT: row, core_kind, core, position, queue name, num,
    buffers on that position and on the whole pipe after it (counted from the
    launch start or the core's last pool reset), and the probe's limit flags."""
    inits, resets = ctx.rows(EventKind.QUEUE_INIT), ctx.rows(EventKind.POOL_RESET)
    if not inits.size:
        return pd.DataFrame()
    # only a reset between a core's first and last InitBuffer can split its counts
    init_core = ctx.gid(inits) // 8
    cores = np.unique(init_core)
    first = np.full(cores.size, np.iinfo(np.int64).max)
    last = np.full(cores.size, -1)
    np.minimum.at(first, np.searchsorted(cores, init_core), inits)
    np.maximum.at(last, np.searchsorted(cores, init_core), inits)
    reset_core = ctx.gid(resets) // 8
    slot = np.minimum(np.searchsorted(cores, reset_core), cores.size - 1)
    resets = resets[(cores[slot] == reset_core) & (resets > first[slot]) & (resets < last[slot])]
    rows = np.sort(np.concatenate([inits, resets]))
    kind = ctx.column("kind")[rows]
    firsts = ctx.launches["first_seq"].to_numpy()
    frame = pd.DataFrame(
        {
            "row": rows,
            "core_kind": ctx.column("core_kind")[rows],
            "core": ctx.column("core")[rows],
            "launch": np.searchsorted(firsts, rows, "right"),
            "reset": kind == EventKind.POOL_RESET,
            "num": np.where(kind == EventKind.QUEUE_INIT, ctx.column("arg")[rows], 0),
            "position": np.where(kind == EventKind.QUEUE_INIT, ctx.column("arg2")[rows], -1),
            "flags": ctx.column("flags")[rows],
        }
    )
    pipe = ["core_kind", "core", "launch"]
    frame["segment"] = frame.groupby(pipe)["reset"].cumsum()
    frame["pipe_buffers"] = frame.groupby([*pipe, "segment"])["num"].cumsum()
    frame["position_buffers"] = frame.groupby([*pipe, "segment", "position"])["num"].cumsum()
    frame = frame[~frame["reset"]].copy()
    frame["name"] = ctx.labels("name")[ctx.column("name")[frame["row"].to_numpy()]].astype(str)
    return frame


def _limit_findings(rule: Rule, ctx: TraceContext, over: pd.DataFrame, keys: list[str],
                    count_column: str, describe: Any) -> list[Finding]:  # fmt: skip
    findings = []
    for key, group in over.groupby(keys, sort=True):
        first = group.iloc[0]
        kind = CORE_KIND_LABELS[int(first["core_kind"])]
        cores = sorted({int(c) for c in group["core"]})
        most = int(group[count_column].max())
        message, suggestion = describe(key, kind, cores, most, sorted(set(group["name"])))
        location = ctx.location(
            group["row"].to_numpy(), tag=ctx.label("tag", int(ctx.column("tag")[first["row"]]))
        )
        evidence = {"cores": cores, "buffers": most, "event_kinds": ["queue_init"]}
        findings.append(rule.finding(message, location, evidence=evidence, suggestion=suggestion))
    return findings


@register
class QueuePositionLimit(Rule):
    """More queue buffers on one TPosition than the chip has event ids for.

    What: InitBuffer calls that put more than ``QUE_MAX_EVENT`` buffers (8 on
    A2/A3 and 310P, 4 on 910A) on one queue position (VECIN, VECOUT, A1...).
    Why: every buffer needs a hardware event id; past the limit AllocTensor /
    FreeTensor wait forever and the NPU hangs (the CPU debug build reports
    "max buffer number in same queue position is N").
    Fix: use fewer or shallower queues on that position (double buffering
    takes 2 per queue: at most 4 double-buffered queues on A2), or merge
    queues into one larger buffer.
    """

    code = "UB007"
    name = "queue-position-limit"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        counts = queue_counts(ctx)
        if counts.empty:
            return []
        limit = ctx.chip.que_max_event
        gm_positions = [int(p) for p, space in POSITION_SPACE.items() if space is Space.GM]
        flagged = (counts["flags"] & int(Flag.QUEUE_LIMIT)) != 0
        over = counts[
            ((counts["position_buffers"] > limit) | flagged)
            & ~counts["position"].isin(gm_positions)
        ]

        def describe(key: Any, kind: str, cores: list[int], most: int,
                     names: list[str]) -> tuple[str, str]:  # fmt: skip
            position = position_name(int(key[1]))
            message = (
                f"{most} queue buffers on {position} ({', '.join(names)}) on "
                f"{count_cores(len(cores), kind)} ({core_list(kind, cores)}); {ctx.chip.name} allows {limit} per position "
                "(QUE_MAX_EVENT): this hangs a real NPU"
            )
            return message, f"Keep at most {limit} buffers on {position}."

        return _limit_findings(self, ctx, over, ["core_kind", "position"], "position_buffers",
                               describe)  # fmt: skip


@register
class PipeBufferLimit(Rule):
    """More buffers on one TPipe than QBUF_MAX_LEN (64).

    What: the InitBuffer calls of one TPipe add up to more than
    ``QBUF_MAX_LEN`` buffers.
    Why: the TPipe's buffer table has that many slots; beyond it buffers
    overwrite each other's bookkeeping.
    Fix: use fewer, larger buffers (one TBuf sliced into tensors).
    """

    code = "UB008"
    name = "pipe-buffer-limit"
    severity = Severity.ERROR

    def check(self, ctx: TraceContext) -> list[Finding]:
        counts = queue_counts(ctx)
        if counts.empty:
            return []
        limit = ctx.chip.qbuf_max_len
        flagged = (counts["flags"] & int(Flag.PIPE_LIMIT)) != 0
        over = counts[(counts["pipe_buffers"] > limit) | flagged]

        def describe(key: Any, kind: str, cores: list[int], most: int,
                     names: list[str]) -> tuple[str, str]:  # fmt: skip
            message = (
                f"{most} buffers on one TPipe on {count_cores(len(cores), kind)} "
                f"({core_list(kind, cores)}); the limit is {limit} (QBUF_MAX_LEN)"
            )
            return message, "Merge buffers: one TBuf sliced into tensors counts once."

        return _limit_findings(self, ctx, over, ["core_kind"], "pipe_buffers", describe)


GM_FACING = (TPosition.VECIN, TPosition.VECOUT, TPosition.A1, TPosition.B1)


@register
class SingleBuffered(Rule):
    """A GM-facing queue has one buffer, so copies cannot overlap compute.

    What: a VECIN/VECOUT/A1/B1 queue initialised with ``num=1`` whose block
    carries at least ``min_transfers`` GM copies, when those copies take at
    least ``min_copy_share`` of the launch's modelled time.
    Why: with one block, the next tile's copy-in must wait until the compute
    has released the block (and the copy-out until the compute wrote it), so
    MTE and vector/cube work run one after another instead of overlapping.
    Fix: ``InitBuffer(que, 2, len)`` (double buffering) when UB allows; shrink
    the tile if it does not.
    """

    code = "UB013"
    name = "single-buffered-queue"
    severity = Severity.WARNING
    thresholds = {"min_transfers": 4, "min_copy_share": 0.3}

    def check(self, ctx: TraceContext) -> list[Finding]:
        inits = ctx.rows(EventKind.QUEUE_INIT)
        positions = ctx.column("arg2")[inits]
        single = inits[
            (ctx.column("arg")[inits] == 1) & np.isin(positions, [int(p) for p in GM_FACING])
        ]
        if not single.size:
            return []
        firsts = ctx.launches["first_seq"].to_numpy()
        spans = (ctx.launches["end_ps"] - ctx.launches["start_ps"]).to_numpy()

        def key(rows: np.ndarray, gid: np.ndarray, addr: np.ndarray) -> np.ndarray:
            launch = np.maximum(np.searchsorted(firsts, rows, "right") - 1, 0).astype(np.int64)
            return (((launch << 22) | gid.astype(np.int64)) << 40) | addr

        start = key(single, ctx.gid(single), ctx.column("addr")[single])
        order = np.argsort(start)
        single, start = single[order], start[order]
        end = start + ctx.column("aligned_size")[single]
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
        flagged = np.flatnonzero((count >= self.limits["min_transfers"])
                                 & (share >= self.limits["min_copy_share"]))  # fmt: skip
        findings = []
        names = ctx.column("name")[single]
        for name_code in np.unique(names[flagged]):
            mine = flagged[names[flagged] == name_code]
            rows_of = single[mine]
            kind = CORE_KIND_LABELS[int(ctx.column("core_kind")[rows_of[0]])]
            cores = sorted({int(c) for c in ctx.column("core")[rows_of]})
            name = ctx.label("name", int(name_code))
            position = position_name(int(ctx.column("arg2")[rows_of[0]]))
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
                    },  # fmt: skip
                    suggestion=f"Double-buffer '{name}': InitBuffer(que, 2, len).",
                    estimated_gain=f"up to ~{format_time_ps(overlap)} per core if copies overlapped compute"
                    if overlap > 0
                    else None,
                )
            )
        return findings
