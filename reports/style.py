"""The look shared by every chart: units, colours and the base layout.

Times on every x axis are modelled microseconds and on-chip sizes KiB, so
charts of one report (and of two compared reports) read the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

PS_PER_US = 1e6
KIB = 1024.0
TIME_AXIS = "modelled time (µs)"

CAPACITY_COLOR = "#c62828"
SCRATCH_COLOR = "#ef6c00"
FAILURE_COLOR = "#6a1b9a"
SEVERITY_COLORS = {"error": "#c62828", "warning": "#e65100", "info": "#1565c0"}
SERIES_COLORS = qualitative.Plotly + qualitative.D3 + qualitative.Dark24

FIGURE_HEIGHT = 420


def us(picoseconds: Iterable[float] | np.ndarray) -> np.ndarray:
    """Modelled picoseconds as float microseconds for an x axis."""
    return np.asarray(picoseconds, dtype=np.float64) / PS_PER_US


def kib(nbytes: Iterable[float] | np.ndarray) -> np.ndarray:
    return np.asarray(nbytes, dtype=np.float64) / KIB


def series_color(index: int) -> str:
    return SERIES_COLORS[index % len(SERIES_COLORS)]


def byte_scale(largest: float) -> tuple[float, str]:
    """Divisor and unit name that show ``largest`` bytes as a readable number."""
    for divisor, unit in ((1024.0**3, "GiB"), (1024.0**2, "MiB"), (1024.0, "KiB")):
        if largest >= divisor:
            return divisor, unit
    return 1.0, "B"


def new_figure(title: str, x_title: str, y_title: str, *, height: int = FIGURE_HEIGHT) -> go.Figure:
    """An empty chart in the report's style with its axes named (with units)."""
    figure = go.Figure()
    figure.update_layout(
        template="plotly_white",
        title={"text": title, "x": 0.01, "xanchor": "left"},
        height=height,
        margin={"l": 70, "r": 30, "t": 70, "b": 60},
        legend={"orientation": "v", "x": 1.01, "y": 1, "font": {"size": 11}},
        hovermode="closest",
        meta={"decimated": False},
    )
    figure.update_xaxes(title_text=x_title, zeroline=False, showline=True, linecolor="#999")
    figure.update_yaxes(title_text=y_title, zeroline=False, showline=True, linecolor="#999")
    return figure


def mark_decimated(figure: go.Figure, how: str) -> None:
    """Say on the chart (subtitle) that it shows a reduced series, and how."""
    figure.update_layout(
        title={"text": f"{figure.layout.title.text}<br><sup>decimated: {how}</sup>"},
        meta={"decimated": True},
    )


def note(figure: go.Figure, message: str) -> None:
    """A centred message for a chart with nothing to plot."""
    figure.add_annotation(
        text=message,
        showarrow=False,
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        font={"size": 14, "color": "#555"},
    )


def share_y_range(figures: list[go.Figure]) -> None:
    """Give side-by-side charts of the same quantity one y range (the union of
    theirs), so that compared traces read at one scale. Charts whose y axes
    differ in title (units) or have no explicit range are left alone."""
    axes = [figure.layout.yaxis for figure in figures]
    if len({axis.title.text for axis in axes}) != 1 or any(axis.range is None for axis in axes):
        return
    low = min(axis.range[0] for axis in axes)
    high = max(axis.range[1] for axis in axes)
    for figure in figures:
        figure.update_layout(yaxis_range=[low, high])
