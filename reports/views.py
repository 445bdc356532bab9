"""From an Analysis to the report's figures, keyed so that two traces' figures
can be paired in a comparison (``"UB"``, ``"aiv/UB"``...).

This is the only module that knows both the analyzers' API and the figure
builders; the builders themselves take plain DataFrames.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go

from ubscope.analyzers import (
    Analysis,
    TraceContext,
    core_label,
    failed_allocations,
    kv_usage_over_time,
    redzone_writes,
)
from ubscope.probe.units import plural
from ubscope.reports.figures_gm import roofline_figure, traffic_figure
from ubscope.reports.figures_memory import (
    Limits,
    allocation_map_figure,
    fragmentation_figure,
    kv_cache_figure,
    occupancy_figure,
)

# Size budget: points per figure shared by its series, and rectangles per map.
POINTS_PER_FIGURE = 24_000
MIN_POINTS_PER_SERIES = 400
MAX_BLOCKS_PER_MAP = 3_000

FigureFamily = Callable[[Analysis], dict[str, go.Figure]]


def _points_per_series(series_count: int) -> int:
    return max(MIN_POINTS_PER_SERIES, POINTS_PER_FIGURE // max(series_count, 1))


def _limits(ctx: TraceContext, space: str, capacity: int) -> Limits:
    reserved = ctx.chip.ub_scratch_bytes if space == "UB" else 0
    return Limits(space=space, capacity=int(capacity), reserved_bytes=int(reserved))


def _groups(ctx: TraceContext) -> dict[str, pd.DataFrame]:
    """The peaks table (one row per core and on-chip space) split by space."""
    peaks = ctx.peaks
    return {str(space): rows for space, rows in peaks.groupby("space", sort=False)}


def occupancy_figures(analysis: Analysis) -> dict[str, go.Figure]:
    """One occupancy chart per on-chip space, one line per core."""
    ctx = analysis.context
    figures: dict[str, go.Figure] = {}
    if ctx is None:
        return figures
    for space, rows in _groups(ctx).items():
        series = {
            core_label(kind, core): ctx.occupancy(kind, core, space)
            for kind, core in zip(rows["core_kind"], rows["core"], strict=True)
        }
        top = rows.iloc[int(rows["peak_live_bytes"].to_numpy().argmax())]
        top_series = series[core_label(top["core_kind"], int(top["core"]))]
        at = int(top_series["live_bytes"].to_numpy().argmax())
        peak = (
            core_label(top["core_kind"], int(top["core"])),
            int(top_series["t_ps"].iloc[at]),
            int(top_series["live_bytes"].iloc[at]),
        )
        figures[space] = occupancy_figure(
            _limits(ctx, space, int(rows["capacity"].iloc[0])),
            series,
            max_points=_points_per_series(len(series)),
            peak=peak,
        )
    return figures


def _worst_core(rows: pd.DataFrame) -> pd.Series:
    """The core to map: one that went past capacity if any, else the highest peak."""
    ranked = rows.assign(over=rows["high_water"] > rows["capacity"]).sort_values(
        ["over", "peak_live_bytes", "core"], ascending=[False, False, True], kind="stable"
    )
    return ranked.iloc[0]


def _same_core(frame: pd.DataFrame, kind: str, core: int, space: str) -> pd.DataFrame:
    mask = (frame["core_kind"] == kind) & (frame["core"] == core) & (frame["space"] == space)
    return frame[mask.to_numpy()]


def allocation_maps(analysis: Analysis) -> dict[str, go.Figure]:
    """For each core kind and space, the allocation map of its worst core."""
    ctx = analysis.context
    figures: dict[str, go.Figure] = {}
    if ctx is None:
        return figures
    lifetimes, writes, failures = ctx.lifetimes, redzone_writes(ctx), failed_allocations(ctx)
    for (kind_key, space_key), rows in ctx.peaks.groupby(["core_kind", "space"], sort=False):
        kind, space = str(kind_key), str(space_key)
        worst = _worst_core(rows)
        core = int(worst["core"])
        label = core_label(kind, core)
        if rows["core"].nunique() > 1:
            why = "overflowing" if worst["high_water"] > worst["capacity"] else "highest-peak"
            label += f" (the {why} one of {rows['core'].nunique()} {kind} cores)"
        blocks = _same_core(lifetimes, kind, core, space)
        if analysis.streamed:
            label += f": the {plural(len(blocks), 'block')} live at its peak (streamed analysis)"
        figures[f"{kind}/{space}"] = allocation_map_figure(
            _limits(ctx, space, int(worst["capacity"])),
            label,
            blocks,
            end_ps=ctx.modelled_end_ps,
            max_blocks=MAX_BLOCKS_PER_MAP,
            redzone_writes=_same_core(writes, kind, core, space),
            failures=_same_core(failures, kind, core, space),
        )
    return figures


def fragmentation_figures(analysis: Analysis) -> dict[str, go.Figure]:
    """Per space, the external fragmentation of the cores where an allocation
    failed although enough bytes were free, and of the cores of the kind and
    space a fragmentation finding names. The rules' thresholds decide what
    matters: holes below them (a bump pool's reset, buffers freed at the end)
    would only draw an empty-looking chart."""
    ctx = analysis.context
    figures: dict[str, go.Figure] = {}
    if ctx is None:
        return figures
    failures = failed_allocations(ctx)
    failures = failures[failures["enough_free"].to_numpy()]
    reported = {
        (f.location.core_kind, f.location.space)
        for f in analysis.findings
        if f.code.startswith("FRG")
    }
    for space, rows in _groups(ctx).items():
        series: dict[str, pd.DataFrame] = {}
        failed: list[pd.DataFrame] = []
        for kind, core in zip(rows["core_kind"], rows["core"], strict=True):
            frame = ctx.fragmentation(kind, core, space)
            here = _same_core(failures, kind, core, space)
            fragmented = frame["external"].to_numpy().max(initial=0) > 0
            if len(here) or (fragmented and (kind, space) in reported):
                label = core_label(kind, core)
                series[label] = frame
                failed.append(here.assign(label=label))
        if series:
            figures[space] = fragmentation_figure(
                space,
                series,
                max_points=_points_per_series(len(series)),
                failures=pd.concat(failed, ignore_index=True),
            )
    return figures


def kv_figures(analysis: Analysis) -> dict[str, go.Figure]:
    ctx = analysis.context
    if ctx is None or not len(ctx.kv_pages):
        return {}
    usage = kv_usage_over_time(ctx)
    return {"kv": kv_cache_figure(usage, max_points=_points_per_series(2 * len(usage)))}


def traffic_figures(analysis: Analysis) -> dict[str, go.Figure]:
    ctx = analysis.context
    if ctx is None:
        return {}
    minimal = ctx.minimal_traffic
    return {"traffic": traffic_figure(ctx.traffic, minimal)}


def roofline_figures(analysis: Analysis) -> dict[str, go.Figure]:
    ctx = analysis.context
    # a streamed analysis that gave the GM byte ranges up has none
    if ctx is None or not ctx.roofline:
        return {}
    return {"roofline": roofline_figure(ctx.roofline, ctx.trace.kernel)}
