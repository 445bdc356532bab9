"""Derived series the report draws that the analyzers' TraceContext does not
provide itself: red-zone writes and failed allocations to mark, KV-cache usage
over time and where findings sit on the timeline. Each is a small vectorized
function of the TraceContext; views never read trace files themselves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ubscope.analyzers.context import CORE_KIND_LABELS, SPACE_LABELS, TraceContext
from ubscope.analyzers.findings import Finding
from ubscope.probe.events import EventKind


def core_label(core_kind: str, core: int) -> str:
    """``aiv3``, ``aic0``, ``aicore12`` (``host`` for events not on a core)."""
    return "host" if core < 0 else f"{core_kind}{core}"


def _core_rows(ctx: TraceContext, kind: EventKind) -> pd.DataFrame:
    rows = ctx.rows(kind)
    return pd.DataFrame(
        {
            "core_kind": np.asarray(CORE_KIND_LABELS, dtype=object)[ctx.column("core_kind")[rows]],
            "core": ctx.column("core")[rows].astype(np.int64),
            "space": np.asarray(SPACE_LABELS, dtype=object)[ctx.column("space")[rows]],
            "t_ps": ctx.column("start_ps")[rows],
            "row": rows,
        }
    )


def redzone_writes(ctx: TraceContext) -> pd.DataFrame:
    """[core_kind, core, space, t_ps, addr, end] of every write into the red zone."""
    frame = _core_rows(ctx, EventKind.REDZONE_WRITE)
    rows = frame.pop("row").to_numpy()
    addr = ctx.column("addr")[rows]
    return frame.assign(addr=addr, end=addr + ctx.column("size")[rows])


def failed_allocations(ctx: TraceContext) -> pd.DataFrame:
    """[core_kind, core, space, t_ps, aligned_size, total_free, largest_free,
    enough_free] of every refused allocation; ``enough_free`` marks the ones
    that failed only because the free bytes were scattered (fragmentation)."""
    frame = _core_rows(ctx, EventKind.ALLOC_FAIL)
    rows = frame.pop("row").to_numpy()
    asked, total_free = ctx.column("aligned_size")[rows], ctx.column("arg")[rows]
    return frame.assign(
        aligned_size=asked,
        total_free=total_free,
        largest_free=ctx.column("arg2")[rows],
        enough_free=total_free >= asked,
    )


def kv_usage_over_time(ctx: TraceContext) -> dict[str, pd.DataFrame]:
    """Per KV cache, ``[t_ps, reserved_bytes, held_tokens, empty_slot_share]``
    after every page handed out or taken back.

    Slots per page are the analyzers' (``ctx.kv_usage``), so empty slots are
    counted as the metrics' ``kv_cache.waste_ratio`` counts them; here it is
    the internal fragmentation of the pages held at each moment.
    """
    pages = ctx.kv_pages
    slots_per_page = ctx.kv_usage.set_index("cache")["slots_per_page"] if len(pages) else {}
    usage: dict[str, pd.DataFrame] = {}
    for cache, group in pages.groupby("cache", sort=True, observed=True):
        slots = max(int(slots_per_page[cache]), 1)
        tokens = group["tokens"].clip(upper=slots).to_numpy()
        freed = (group["t_free_ps"] >= 0).to_numpy()
        # Frees sort before allocations at equal times (order 0 before 1).
        steps = pd.DataFrame(
            {
                "t_ps": np.r_[group["t_free_ps"].to_numpy()[freed], group["t_alloc_ps"]],
                "order": np.r_[np.zeros(freed.sum()), np.ones(len(group))],
                "bytes": np.r_[-group["page_bytes"].to_numpy()[freed], group["page_bytes"]],
                "pages": np.r_[-np.ones(freed.sum()), np.ones(len(group))],
                "tokens": np.r_[-tokens[freed], tokens],
            }
        ).sort_values(["t_ps", "order"], kind="stable")
        held_slots = steps["pages"].cumsum().to_numpy() * slots
        held_tokens = steps["tokens"].cumsum().to_numpy()
        usage[str(cache)] = pd.DataFrame(
            {
                "t_ps": steps["t_ps"].to_numpy(),
                "reserved_bytes": steps["bytes"].cumsum().to_numpy(),
                "held_tokens": held_tokens,
                "empty_slot_share": np.where(
                    held_slots > 0, 1.0 - held_tokens / np.maximum(held_slots, 1), 0.0
                ),
            }
        )
    return usage


def finding_times(ctx: TraceContext, findings: list[Finding]) -> list[int | None]:
    """The modelled time of each finding's first event (None when the finding
    points at no trace event, as vendor findings often do)."""
    start = ctx.column("start_ps")
    times: list[int | None] = []
    for finding in findings:
        first = finding.location.first_seq
        times.append(int(start[first]) if first is not None and 0 <= first < start.size else None)
    return times
