"""Charts of global-memory behaviour: traffic per tensor and the roofline."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ubscope.probe.units import format_bytes, format_rate
from ubscope.reports.escape import plot_text
from ubscope.reports.style import byte_scale, new_figure, note, series_color

DIRECTIONS = ("read", "write")
MAX_TENSOR_BARS = 12
OTHER_TENSORS = "other tensors"
MINIMAL_LABEL = "minimal traffic (inputs read once, outputs written once)"


def _top_tensors(traffic: pd.DataFrame) -> pd.DataFrame:
    """Traffic with all but the ``MAX_TENSOR_BARS`` heaviest tensors merged into one bar."""
    totals = traffic.groupby("tensor", observed=True, sort=False)["bytes"].sum()
    if len(totals) <= MAX_TENSOR_BARS:
        return traffic
    heavy = set(totals.sort_values(ascending=False).index[: MAX_TENSOR_BARS - 1])
    merged = traffic.assign(
        tensor=np.where(traffic["tensor"].isin(heavy), traffic["tensor"].astype(str), OTHER_TENSORS)
    )
    return merged.groupby(["tensor", "direction", "workspace"], as_index=False, observed=True).agg(
        bytes=("bytes", "sum"),
        transfers=("transfers", "sum"),
        distinct_bytes=("distinct_bytes", "sum"),
        small_transfers=("small_transfers", "sum"),
    )


def traffic_figure(traffic: pd.DataFrame, minimal: Mapping[str, int]) -> go.Figure:
    """GM bytes read and written, stacked by tensor, against the minimum the
    kernel needs (every input read once, every output written once).

    Core-to-core workspace tensors stay in L2 and are hatched: they are not
    HBM traffic and are not counted against the minimum.
    """
    frame = _top_tensors(traffic) if len(traffic) else traffic
    # a streamed analysis measures no byte ranges: its distinct bytes are unknown (NaN)
    distinct = (
        " %{customdata[2]:,} distinct bytes," if traffic["distinct_bytes"].notna().all() else ""
    )
    by_direction = frame.groupby("direction", observed=True)["bytes"].sum() if len(frame) else None
    totals = np.zeros(0) if by_direction is None else by_direction.to_numpy()
    largest = max([0.0, *map(float, totals), *(float(minimal.get(d, 0)) for d in DIRECTIONS)])
    divisor, unit = byte_scale(largest)
    figure = new_figure("GM traffic by tensor and direction", "direction", f"bytes moved ({unit})")
    figure.update_layout(barmode="stack", bargap=0.35)
    for index, (tensor, rows) in enumerate(frame.groupby("tensor", observed=True, sort=True)):
        for workspace, part in rows.groupby("workspace", sort=True):
            per_direction = part.groupby("direction", observed=True)[
                ["bytes", "transfers", "distinct_bytes", "small_transfers"]
            ].sum()
            per_direction = per_direction.reindex(
                [d for d in DIRECTIONS if d in per_direction.index]
            )
            label = f"{tensor} (L2 workspace)" if workspace else str(tensor)
            figure.add_bar(
                x=list(per_direction.index),
                y=per_direction["bytes"].to_numpy() / divisor,
                name=plot_text(label),
                marker={
                    "color": series_color(index),
                    "pattern": {"shape": "/" if workspace else ""},
                },
                customdata=per_direction.to_numpy(),
                hovertemplate=f"{plot_text(label)}<br>%{{customdata[0]:,}} B in"
                f" %{{customdata[1]:,}} transfers<br>{distinct}"
                " %{customdata[3]:,} small transfers<extra></extra>",
            )
    for position, direction in enumerate(DIRECTIONS):
        if direction not in minimal:
            continue
        figure.add_shape(
            type="line",
            xref="x",
            yref="y",
            x0=position - 0.4,
            x1=position + 0.4,
            y0=minimal[direction] / divisor,
            y1=minimal[direction] / divisor,
            line={"color": "black", "width": 3, "dash": "dash"},
            name=MINIMAL_LABEL,
            showlegend=position == 0,
            legendgroup="minimal",
            legendrank=2000,
        )
        figure.add_annotation(
            x=position + 0.4,
            y=minimal[direction] / divisor,
            xanchor="left",
            showarrow=False,
            text=f"minimum {format_bytes(minimal[direction])}",
        )
    figure.update_xaxes(categoryorder="array", categoryarray=list(DIRECTIONS), range=[-0.6, 1.9])
    figure.update_yaxes(range=[0, max(largest, 1.0) / divisor * 1.1])
    if not len(frame):
        note(figure, "no GM traffic recorded")
    return figure


def _engineering(value: float, unit: str) -> str:
    for scale, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.2f} {prefix}{unit}"
    return f"{value:.2f} {unit}"


def roofline_figure(roofline: Mapping[str, Any], kernel: str) -> go.Figure:
    """The chip's memory roof (bandwidth x intensity) and compute roof (peak
    FLOP/s) on log axes, with the kernel's achieved point and its share of the
    roof above it."""
    peak = float(roofline["peak_flops"])
    bandwidth = float(roofline["bandwidth"])
    ridge = float(roofline["ridge"])
    intensity = float(roofline.get("intensity") or 0.0)
    achieved = float(roofline.get("achieved_flops_per_s") or 0.0)
    placed = math.isfinite(intensity) and intensity > 0 and achieved > 0
    low = min(ridge, intensity if placed else ridge) / 10
    high = max(ridge, intensity if placed else ridge) * 10
    bottom = min(bandwidth * low, achieved if placed else peak) / 3
    figure = new_figure("Roofline (modelled)", "arithmetic intensity (FLOP per HBM byte)", "FLOP/s")
    figure.add_scatter(
        x=[low, ridge],
        y=[bandwidth * low, peak],
        mode="lines",
        name=f"memory roof ({format_rate(bandwidth)})",
        line={"color": "#1565c0", "width": 3},
        hovertemplate="%{x:.3g} FLOP/B: %{y:.3s}FLOP/s<extra>memory roof</extra>",
    )
    figure.add_scatter(
        x=[ridge, high],
        y=[peak, peak],
        mode="lines",
        name=f"compute roof ({_engineering(peak, 'FLOP/s')} FP16)",
        line={"color": "#2e7d32", "width": 3},
        hovertemplate="%{y:.3s}FLOP/s<extra>compute roof</extra>",
    )
    figure.add_scatter(
        x=[ridge, ridge],
        y=[bottom, peak],
        mode="lines",
        name=f"ridge {ridge:.3g} FLOP/B",
        line={"color": "#777", "dash": "dot"},
        hoverinfo="skip",
    )
    if placed:
        roof = min(peak, bandwidth * intensity)
        bound = roofline.get("bound", "?")
        figure.add_scatter(
            x=[intensity],
            y=[achieved],
            mode="markers+text",
            name=plot_text(kernel),
            marker={"size": 14, "color": "#c62828", "symbol": "diamond"},
            text=[
                plot_text(f"{kernel}:") + f"<br>{achieved / roof:.0%} of its roof ({bound}-bound)"
            ],
            textposition="top right" if intensity < ridge else "top left",
            hovertemplate=f"{intensity:.3g} FLOP/B, {_engineering(achieved, 'FLOP/s')}"
            "<extra></extra>",
        )
    else:
        note(figure, "no compute or no HBM traffic recorded: the kernel has no roofline point")
    # The legend goes below: at the side it would leave a half-width (compared)
    # chart too narrow for the point's label.
    figure.update_layout(
        legend={"orientation": "h", "x": 0, "y": -0.25, "yanchor": "top"}, margin={"b": 110}
    )
    figure.update_xaxes(type="log", range=[math.log10(low), math.log10(high)])
    figure.update_yaxes(
        type="log", exponentformat="SI", range=[math.log10(bottom), math.log10(peak * 3)]
    )
    return figure
