"""Queue buffers counted per TPosition and per TPipe from the QUEUE_INIT events,
for the queue-limit rules (UB007, UB008); UB013 names a queue's position."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding
from ubscope.analyzers.model.arrays import CORE_KIND_LABELS
from ubscope.analyzers.rules.base import Rule
from ubscope.probe.events import EventKind, Flag
from ubscope.probe.memory.positions import TPosition


def position_name(value: int) -> str:
    """``VECIN`` for a TPosition value; ``position N`` for one the enum lacks."""
    known = {int(position) for position in TPosition}
    return TPosition(value).name if value in known else f"position {value}"


def queue_counts(ctx: TraceContext) -> pd.DataFrame:
    """:func:`count_queue_buffers`, once per context."""
    return ctx.memo("queue_counts", lambda: count_queue_buffers(ctx))


def count_queue_buffers(ctx: TraceContext) -> pd.DataFrame:
    """One row per QUEUE_INIT: row, core_kind, core, position, queue name, num,
    queue buffers on that position (a TBuf takes no event ID, so it does not
    count there) and all buffers on the whole pipe after it (counted from the
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
    is_init = ctx.column("kind")[rows] == EventKind.QUEUE_INIT
    queues = ctx.table.queue_inits()
    num = np.zeros(rows.size, dtype=np.int64)
    num[is_init] = queues.at("num", rows[is_init])
    position = np.full(rows.size, -1, dtype=np.int64)
    position[is_init] = queues.at("position", rows[is_init])
    frame = pd.DataFrame(
        {
            "row": rows,
            "core_kind": ctx.column("core_kind")[rows],
            "core": ctx.column("core")[rows],
            "launch": np.searchsorted(ctx.table.launches().rows, rows, "right"),
            "reset": ~is_init,
            "num": num,
            "position": position,
            "flags": ctx.column("flags")[rows],
        }
    )
    pipe = ["core_kind", "core", "launch"]
    frame["segment"] = frame.groupby(pipe)["reset"].cumsum()
    frame["pipe_buffers"] = frame.groupby([*pipe, "segment"])["num"].cumsum()
    frame["queue_num"] = np.where((frame["flags"] & int(Flag.TBUF)) != 0, 0, frame["num"])
    frame["position_buffers"] = frame.groupby([*pipe, "segment", "position"])["queue_num"].cumsum()
    frame = frame[~frame["reset"]].copy()
    frame["name"] = ctx.labels("name")[ctx.column("name")[frame["row"].to_numpy()]].astype(str)
    return frame


def limit_findings(
    rule: Rule,
    ctx: TraceContext,
    over: pd.DataFrame,
    keys: list[str],
    count_column: str,
    describe: Any,
) -> list[Finding]:
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
