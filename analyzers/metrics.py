"""The metrics summary: one JSON object per analysis, documented field by field
in docs/metrics.md. ``ubscope check`` compares exactly this object, so its
shape only changes with a new ``schema`` version."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.model.arrays import SPACE_LABELS
from ubscope.analyzers.model.fragmentation import DEFAULT_MIN_FREE_FRACTION
from ubscope.probe.chip import ON_CHIP, ChipProfile

SCHEMA = "ubscope.metrics/1"


def config_key(kernel: str | None, params: dict[str, Any]) -> str:
    """``kernel|a=1,b=x``: identifies one kernel configuration across runs."""
    items = ",".join(f"{key}={params[key]}" for key in sorted(params))
    return f"{kernel or ''}|{items}"


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def finding_counts(findings: list[Finding]) -> dict[str, Any]:
    by_severity = Counter(str(f.severity) for f in findings)
    return {
        "error": by_severity.get(str(Severity.ERROR), 0),
        "warning": by_severity.get(str(Severity.WARNING), 0),
        "info": by_severity.get(str(Severity.INFO), 0),
        "by_code": dict(sorted(Counter(f.code for f in findings).items())),
    }


def _per_space(values: Mapping[Any, Any]) -> dict[str, int]:
    """Bytes per on-chip space name (0 for a space not in ``values``); pandas
    hands the per-space maxima over with keys typed as any hashable."""
    return {space: int(values.get(space, 0)) for space in ON_CHIP}


def gm_metrics(ctx: TraceContext) -> dict[str, Any]:
    """The ``gm`` fields of the summary."""
    traffic = ctx.traffic
    minimal = ctx.minimal_traffic
    hbm = traffic[~traffic["workspace"]] if len(traffic) else traffic
    reads = hbm[hbm["direction"] == "read"] if len(hbm) else hbm
    read = int(reads["bytes"].sum()) if len(reads) else 0
    write = int(hbm.loc[hbm["direction"] == "write", "bytes"].sum()) if len(hbm) else 0
    least_read, least_write = minimal.get("read", 0), minimal.get("write", 0)
    distinct_read = int(reads["distinct_bytes"].sum()) if len(reads) else 0
    transfers = int(traffic["transfers"].sum()) if len(traffic) else 0
    return {
        "read_bytes": read,
        "write_bytes": write,
        "minimal_read_bytes": least_read,
        "minimal_write_bytes": least_write,
        # a trace that stops short of the kernel's end (truncated, or a fault
        # stopped the run) moved part of what the whole run's minimum counts
        "ratio_to_minimum": (read + write) / (least_read + least_write)
        if least_read + least_write and ctx.ran_to_end
        else None,
        "redundant_read_ratio": read / distinct_read if distinct_read else 1.0,
        "small_transfer_share": int(traffic["small_transfers"].sum()) / transfers
        if transfers
        else 0.0,
        "workspace_bytes": int(traffic.loc[traffic["workspace"], "bytes"].sum())
        if len(traffic)
        else 0,
    }


def max_external(ctx: TraceContext) -> float:
    """The summary's worst external fragmentation over every core and memory."""
    worst = max(
        (
            ctx.worst_fragmentation(int(g), DEFAULT_MIN_FREE_FRACTION).external
            for g in ctx.group_ids
        ),
        default=0.0,
    )
    return round(worst, 6)


def _fragmentation(ctx: TraceContext) -> dict[str, Any]:
    fails = ctx.table.alloc_failures()
    blocks = ctx.blocks
    return {
        "max_external": max_external(ctx),
        "failed_allocs_with_enough_free": int((fails.total_free >= fails.aligned_size).sum()),
        "internal_waste_bytes": int((blocks.aligned - blocks.size).sum()),
    }


def kv_metrics(ctx: TraceContext) -> dict[str, Any]:
    """The ``kv_cache`` fields of the summary."""
    usage = ctx.kv_usage
    reserved = int(usage["reserved_bytes"].sum()) if len(usage) else 0
    used = int(usage["used_bytes"].sum()) if len(usage) else 0
    return {
        "reserved_bytes": reserved,
        "used_bytes": used,
        "waste_ratio": 1 - used / reserved if reserved else 0.0,
    }


def trace_metrics(ctx: TraceContext) -> dict[str, Any]:
    """Every trace-derived field of the summary (without findings)."""
    peaks, blocks = ctx.peaks, ctx.blocks
    roof = ctx.roofline
    meta = ctx.trace.meta
    by_space = np.bincount(blocks.gid % 8, weights=blocks.aligned, minlength=len(SPACE_LABELS))
    total_alloc = {label: int(by_space[i]) for i, label in enumerate(SPACE_LABELS)}
    return {
        "kernel": ctx.trace.kernel,
        "preset": meta.get("preset") if isinstance(meta.get("preset"), str) else None,
        "params": ctx.params,
        "chip": ctx.chip.name,
        "config_key": config_key(ctx.trace.kernel, ctx.params),
        "modelled_time_ps": ctx.modelled_time_ps,
        "peak_bytes": _per_space(peaks.groupby("space")["peak_live_bytes"].max().to_dict()),
        "high_water_bytes": _per_space(peaks.groupby("space")["high_water"].max().to_dict()),
        "total_alloc_bytes": _per_space(total_alloc),
        "gm": gm_metrics(ctx),
        "fragmentation": _fragmentation(ctx),
        "kv_cache": kv_metrics(ctx),
        "roofline": roofline_metrics(roof),
    }


def roofline_metrics(roof: dict[str, Any]) -> dict[str, Any]:
    """The ``roofline`` fields of the summary."""
    if not roof["compute_events"]:
        return {"intensity": None, "ridge": roof["ridge"], "bound": None}
    return {"intensity": _finite(roof["intensity"]), "ridge": roof["ridge"], "bound": roof["bound"]}


def empty_metrics(chip: ChipProfile) -> dict[str, Any]:
    """The summary's shape when there is no trace (vendor output only)."""
    zero = dict.fromkeys(ON_CHIP, 0)
    return {
        "kernel": None,
        "preset": None,
        "params": {},
        "chip": chip.name,
        "config_key": None,
        "modelled_time_ps": 0,
        "peak_bytes": dict(zero),
        "high_water_bytes": dict(zero),
        "total_alloc_bytes": dict(zero),
        "gm": {
            "read_bytes": 0,
            "write_bytes": 0,
            "minimal_read_bytes": 0,
            "minimal_write_bytes": 0,
            "ratio_to_minimum": None,
            "redundant_read_ratio": 1.0,
            "small_transfer_share": 0.0,
            "workspace_bytes": 0,
        },
        "fragmentation": {
            "max_external": 0.0,
            "failed_allocs_with_enough_free": 0,
            "internal_waste_bytes": 0,
        },
        "kv_cache": {"reserved_bytes": 0, "used_bytes": 0, "waste_ratio": 0.0},
        "roofline": {"intensity": None, "ridge": chip.ridge_flops_per_byte, "bound": None},
    }


def build_metrics(ctx: TraceContext | None, chip: ChipProfile, findings: list[Finding]) -> dict:
    """The documented metrics summary (schema ``ubscope.metrics/1``)."""
    body = trace_metrics(ctx) if ctx is not None else empty_metrics(chip)
    return {"schema": SCHEMA, **body, "findings": finding_counts(findings)}
