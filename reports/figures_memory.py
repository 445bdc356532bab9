"""Charts of on-chip memory: occupancy, the allocation map and fragmentation.

Every builder takes plain DataFrames (the analysis layer's derived data, from
the facade ubscope.analyzers) and returns a plotly figure, so the figure data
can be tested without a browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import hex_to_rgb

from ubscope.probe.units import format_bytes, plural
from ubscope.reports.decimate import decimate_frame
from ubscope.reports.escape import plot_text
from ubscope.reports.style import (
    CAPACITY_COLOR,
    FAILURE_COLOR,
    SCRATCH_COLOR,
    TIME_AXIS,
    kib,
    mark_decimated,
    new_figure,
    note,
    series_color,
    us,
)

UNTAGGED = "(untagged)"
OUTLINED_BLOCKS = 300
KIB_HOVER = "%{y:.1f} KiB at %{x:.3f} µs"
PERCENT_HOVER = "%{y:.1f} % at %{x:.3f} µs"
FRAGMENTED_FAILURE = "allocation failed with enough bytes free"
FAILURE_HOVER = (
    "failed: %{customdata[0]:,} B asked, %{customdata[1]:,} B free,"
    " largest block %{customdata[2]:,} B<extra></extra>"
)


@dataclass(frozen=True)
class Limits:
    """A space's capacity and the scratch reserved at its top (0 if none)."""

    space: str
    capacity: int
    reserved_bytes: int = 0

    @property
    def safe_budget(self) -> int:
        return self.capacity - self.reserved_bytes

    @property
    def scratch_label(self) -> str:
        """The scratch's legend entry: on the chart, lines and blocks would cover it."""
        return f"built-in API scratch (top {format_bytes(self.reserved_bytes)})"


def _limit_lines(figure: go.Figure, limits: Limits) -> None:
    """Horizontal capacity line and, where scratch is reserved, the line below which it is safe."""
    figure.add_hline(
        y=limits.capacity / 1024,
        name="capacity",
        line={"color": CAPACITY_COLOR, "dash": "dash"},
        annotation_text=f"{limits.space} capacity {format_bytes(limits.capacity)}",
        annotation_position="top left",
        annotation_font_color=CAPACITY_COLOR,
    )
    if limits.reserved_bytes:
        figure.add_hline(
            y=limits.safe_budget / 1024,
            name=limits.scratch_label,
            showlegend=True,
            line={"color": SCRATCH_COLOR, "dash": "dot"},
        )


def _step_line(
    figure: go.Figure,
    frame: pd.DataFrame,
    column: str,
    *,
    max_points: int,
    scale: float,
    line: dict,
    customdata: tuple[str, ...] = (),
    **trace: object,
) -> bool:
    """Add ``frame[column] * scale`` over modelled time as a step line reduced to
    its min/max envelope; returns whether points were dropped."""
    shown, cut = decimate_frame(frame, column, max_points)
    figure.add_scatter(
        x=us(shown["t_ps"]),
        y=shown[column].to_numpy(dtype=np.float64) * scale,
        mode="lines",
        line={"shape": "hv", "width": 1.5, **line},
        customdata=shown[list(customdata)].to_numpy() if customdata else None,
        **trace,
    )
    return cut


def _failure_markers(
    figure: go.Figure,
    failures: pd.DataFrame,
    y: np.ndarray,
    name: str,
    labels: list[str] | None = None,
) -> None:
    """Triangles at refused allocations (``[t_ps, aligned_size, total_free, largest_free]``)."""
    figure.add_scatter(
        x=us(failures["t_ps"]),
        y=y,
        name=name,
        mode="markers",
        text=labels,
        marker={"symbol": "triangle-down", "size": 11, "color": FAILURE_COLOR},
        customdata=failures[["aligned_size", "total_free", "largest_free"]].to_numpy(),
        hovertemplate=("%{text} " if labels else "") + FAILURE_HOVER,
    )


def occupancy_figure(
    limits: Limits,
    series: Mapping[str, pd.DataFrame],
    *,
    max_points: int,
    peak: tuple[str, int, int] | None = None,
) -> go.Figure:
    """Live bytes over modelled time, one step line per core.

    ``series`` maps a core label (``aiv3``) to a ``[t_ps, live_bytes]`` frame;
    ``peak`` is ``(core label, t_ps, bytes)`` of the highest point, starred.
    """
    figure = new_figure(
        f"{limits.space} occupancy per core", TIME_AXIS, f"live bytes in {limits.space} (KiB)"
    )
    decimated = False
    highest = 0
    for index, (label, frame) in enumerate(series.items()):
        highest = max(highest, int(frame["live_bytes"].max()) if len(frame) else 0)
        decimated |= _step_line(
            figure,
            frame,
            "live_bytes",
            max_points=max_points,
            scale=1 / 1024,
            line={"color": series_color(index)},
            name=plot_text(label),
            hovertemplate=KIB_HOVER,
        )
    if peak is not None:
        label, t_ps, nbytes = peak
        figure.add_scatter(
            x=us([t_ps]),
            y=kib([nbytes]),
            name="peak",
            mode="markers+text",
            marker={"symbol": "star", "size": 14, "color": CAPACITY_COLOR},
            text=[plot_text(f"peak {format_bytes(nbytes)} on {label}")],
            textposition="middle right",
            hovertemplate="%{text}<extra></extra>",
        )
    _limit_lines(figure, limits)
    figure.update_yaxes(range=[0, max(limits.capacity, highest) / 1024 * 1.1])
    if not series:
        note(figure, f"no allocation in {limits.space}")
    if decimated:
        mark_decimated(figure, f"min/max envelope, at most {max_points} points per core")
    return figure


def _select_blocks(blocks: pd.DataFrame, capacity: int, max_blocks: int) -> pd.DataFrame:
    """At most ``max_blocks`` blocks to draw, in this order: every block past
    capacity, the blocks living long enough to be wider than a pixel (largest
    first), then an even sample over time of the short-lived rest, so the map
    still covers the whole run."""
    if len(blocks) <= max_blocks:
        return blocks
    x0, x1, lifetime = (blocks[c].to_numpy() for c in ("x0", "x1", "lifetime"))
    area = (blocks["end"] - blocks["addr"]).to_numpy() * lifetime
    over = blocks["end"].to_numpy() > capacity
    wide = ~over & (lifetime >= (x1.max() - x0.min()) / max_blocks)
    rest = np.flatnonzero(~over & ~wide)
    ranked = [np.flatnonzero(m)[np.argsort(-area[m], kind="stable")] for m in (over, wide)]
    room = max(max_blocks - sum(len(r) for r in ranked), 0)
    sample = (
        rest[np.unique(np.linspace(0, len(rest) - 1, room).astype(np.int64))] if room else rest[:0]
    )
    keep = np.concatenate([*ranked, sample])[:max_blocks]
    return blocks.iloc[np.sort(keep)]


def _rectangles(x0: np.ndarray, x1: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> tuple:
    """Outline coordinates of many rectangles as one polyline, NaN between them
    (plotly fills each NaN-separated piece on its own)."""
    gap = np.full_like(x0, np.nan)
    xs = np.column_stack([x0, x1, x1, x0, x0, gap]).ravel()
    ys = np.column_stack([y0, y0, y1, y1, y0, gap]).ravel()
    return xs, ys


def _block_geometry(lifetimes: pd.DataFrame, end_ps: int) -> pd.DataFrame:
    """Rectangle corners in chart units; blocks never freed last until ``end_ps``,
    and every block is at least a sliver wide so that instant ones stay visible."""
    t_alloc = lifetimes["t_alloc_ps"].to_numpy(dtype=np.float64)
    t_free = lifetimes["t_free_ps"].to_numpy(dtype=np.float64)
    t_free = np.where(t_free < 0, max(end_ps, float(t_alloc.max(initial=0))), t_free)
    span = max(float(t_free.max(initial=0)) - float(t_alloc.min(initial=0)), 1.0)
    x1 = np.maximum(t_free, t_alloc + span * 0.002)
    tags = lifetimes["tag"].astype(str).replace("", UNTAGGED)
    return pd.DataFrame(
        {
            "x0": us(t_alloc),
            "x1": us(x1),
            "lifetime": us(t_free - t_alloc),
            "addr": lifetimes["addr"].to_numpy(),
            "end": lifetimes["end"].to_numpy(),
            "size": lifetimes["size"].to_numpy(),
            "name": lifetimes["name"].astype(str).to_numpy(),
            "tag": tags.to_numpy(),
        }
    )


def _colour_key(blocks: pd.DataFrame) -> tuple[str, str]:
    """Blocks are coloured by call-site tag; when every block has the same tag,
    by buffer name instead (one colour would hide which buffer is which)."""
    if blocks["tag"].nunique() == 1 and blocks["name"].nunique() > 1:
        return "name", f"buffer (all tagged @{blocks['tag'].iloc[0]})"
    return "tag", "call-site tag"


def _fill(color: str) -> str:
    red, green, blue = hex_to_rgb(color)
    return f"rgba({red},{green},{blue},0.55)"


def _add_blocks(figure: go.Figure, blocks: pd.DataFrame, capacity: int) -> None:
    """One filled polygon trace per colour key, plus invisible centre points for hover."""
    key, title = _colour_key(blocks)
    # Outlines separate a few blocks; on thousands of slivers they would hide the colours.
    border = 0.6 if len(blocks) <= OUTLINED_BLOCKS else 0
    figure.update_layout(legend_title_text=plot_text(title))
    for index, (value, group) in enumerate(blocks.groupby(key, sort=True)):
        color = series_color(index)
        xs, ys = _rectangles(
            group["x0"].to_numpy(),
            group["x1"].to_numpy(),
            kib(group["addr"]),
            kib(group["end"]),
        )
        label = plot_text(value)
        figure.add_scatter(
            x=xs,
            y=ys,
            name=label,
            legendgroup=label,
            mode="lines",
            fill="toself",
            fillcolor=_fill(color),
            line={"color": "rgba(33,33,33,0.7)", "width": border},
            hoverinfo="skip",
        )
        figure.add_scatter(
            x=(group["x0"].to_numpy() + group["x1"].to_numpy()) / 2,
            y=kib((group["addr"].to_numpy() + group["end"].to_numpy()) / 2),
            name=label,
            legendgroup=label,
            showlegend=False,
            mode="markers",
            marker={"size": 6, "color": "rgba(0,0,0,0)"},
            text=(group["name"] + " @" + group["tag"]).map(plot_text).to_numpy(),
            customdata=np.column_stack(
                [group["addr"], group["end"], group["size"], group["x0"], group["x1"]]
            ),
            hovertemplate="%{text}<br>0x%{customdata[0]:x}-0x%{customdata[1]:x}"
            " (%{customdata[2]:,} B requested)<br>%{customdata[3]:.3f}-%{customdata[4]:.3f} µs"
            "<extra></extra>",
        )
    past = blocks[blocks["end"] > capacity]
    if len(past):
        xs, ys = _rectangles(
            past["x0"].to_numpy(), past["x1"].to_numpy(), kib(past["addr"]), kib(past["end"])
        )
        figure.add_scatter(
            x=xs,
            y=ys,
            name="block past capacity (overflow)",
            mode="lines",
            line={"color": CAPACITY_COLOR, "width": 2.5},
            hoverinfo="skip",
        )


def _add_bands(figure: go.Figure, limits: Limits, top_kib: float) -> None:
    figure.add_hrect(
        y0=limits.capacity / 1024,
        y1=top_kib,
        fillcolor=CAPACITY_COLOR,
        opacity=0.12,
        line_width=0,
        layer="below",
        name="red zone",
        annotation_text="red zone (past capacity)",
        annotation_position="top left",
        annotation_font_color=CAPACITY_COLOR,
    )
    if limits.reserved_bytes:
        figure.add_hrect(
            y0=limits.safe_budget / 1024,
            y1=limits.capacity / 1024,
            fillcolor=SCRATCH_COLOR,
            opacity=0.15,
            line_width=0,
            layer="below",
            name=limits.scratch_label,
            showlegend=True,
        )


def allocation_map_figure(
    limits: Limits,
    core_label: str,
    lifetimes: pd.DataFrame,
    *,
    end_ps: int,
    max_blocks: int,
    redzone_writes: pd.DataFrame | None = None,
    failures: pd.DataFrame | None = None,
) -> go.Figure:
    """Address over time, one rectangle per allocation's lifetime, coloured by tag.

    ``lifetimes`` are one core's blocks in one space (the analyzers' lifetime
    columns); ``redzone_writes`` ``[t_ps, addr, end]`` and ``failures``
    ``[t_ps, aligned_size, total_free, largest_free]`` are marked when given.
    """
    figure = new_figure(
        plot_text(f"{limits.space} allocation map of {core_label}"),
        TIME_AXIS,
        f"address in {limits.space} (KiB)",
        height=520,
    )
    blocks = _block_geometry(lifetimes, end_ps)
    shown = _select_blocks(blocks, limits.capacity, max_blocks)
    _add_blocks(figure, shown, limits.capacity)
    top = max(limits.capacity, int(blocks["end"].max()) if len(blocks) else 0)
    if redzone_writes is not None and len(redzone_writes):
        top = max(top, int(redzone_writes["end"].max()))
        figure.add_scatter(
            x=us(redzone_writes["t_ps"]),
            y=kib(redzone_writes["addr"]),
            name="write into the red zone",
            mode="markers",
            marker={"symbol": "x", "size": 10, "color": CAPACITY_COLOR},
            customdata=np.column_stack([redzone_writes["addr"], redzone_writes["end"]]),
            hovertemplate="write 0x%{customdata[0]:x}-0x%{customdata[1]:x}<extra></extra>",
        )
    if failures is not None and len(failures):
        at_capacity = np.full(len(failures), limits.capacity / 1024)
        _failure_markers(figure, failures, at_capacity, "allocation failed")
    top_kib = top / 1024 * 1.08
    _add_bands(figure, limits, top_kib)
    figure.update_yaxes(range=[0, top_kib])
    if not len(blocks):
        note(figure, f"no allocation in {limits.space} on {core_label}")
    if len(shown) < len(blocks):
        mark_decimated(
            figure,
            f"{len(shown)} of {plural(len(blocks), 'block')} drawn: those past capacity, the long-lived, "
            "an even sample of the short-lived",
        )
    return figure


def fragmentation_figure(
    space: str,
    series: Mapping[str, pd.DataFrame],
    *,
    max_points: int,
    failures: pd.DataFrame | None = None,
) -> go.Figure:
    """External fragmentation (1 - largest free block / free bytes) over time
    per core, with the allocations that failed although enough bytes were free
    (``failures``: ``[label, t_ps, aligned_size, total_free, largest_free]``,
    ``label`` naming the series)."""
    figure = new_figure(
        f"{space} external fragmentation per core", TIME_AXIS, "external fragmentation (%)"
    )
    decimated = False
    for index, (label, frame) in enumerate(series.items()):
        decimated |= _step_line(
            figure,
            frame,
            "external",
            max_points=max_points,
            scale=100,
            line={"color": series_color(index)},
            name=plot_text(label),
            customdata=("free_bytes", "largest_free"),
            hovertemplate=PERCENT_HOVER + "<br>%{customdata[0]:,} B free,"
            " largest block %{customdata[1]:,} B",
        )
    if failures is not None and len(failures):
        at = np.zeros(len(failures))
        for label, frame in series.items():
            mine = (failures["label"] == label).to_numpy()
            at[mine] = _value_at(frame, failures["t_ps"].to_numpy()[mine])
        labels = [plot_text(label) for label in failures["label"]]
        _failure_markers(figure, failures, at * 100, FRAGMENTED_FAILURE, labels)
    figure.update_yaxes(range=[0, 105])
    if not series:
        note(figure, f"no free-list fragmentation in {space}")
    if decimated:
        mark_decimated(figure, f"min/max envelope, at most {max_points} points per core")
    return figure


def _value_at(frame: pd.DataFrame, t_ps: np.ndarray) -> np.ndarray:
    """The step series' ``external`` value in force at each time of ``t_ps``."""
    times = frame["t_ps"].to_numpy()
    if not len(times):
        return np.zeros(len(t_ps))
    position = np.clip(np.searchsorted(times, t_ps, side="right") - 1, 0, len(times) - 1)
    return frame["external"].to_numpy()[position]


def kv_cache_figure(usage: Mapping[str, pd.DataFrame], *, max_points: int) -> go.Figure:
    """Per KV cache: bytes of pages held over time and the share of their token
    slots left empty (internal fragmentation), on a second axis."""
    figure = new_figure("KV cache pages", TIME_AXIS, "bytes in held pages (KiB)")
    figure.update_layout(
        yaxis2={
            "title": {"text": "empty token slots in held pages (%)"},
            "overlaying": "y",
            "side": "right",
            "range": [0, 105],
            "tickmode": "auto",
            "showgrid": False,
        },
        legend={"orientation": "h", "x": 0, "y": -0.22},
        margin={"b": 90},
    )
    decimated = False
    for index, (cache, frame) in enumerate(usage.items()):
        color = series_color(index)
        decimated |= _step_line(
            figure,
            frame,
            "reserved_bytes",
            max_points=max_points,
            scale=1 / 1024,
            line={"color": color},
            name=plot_text(f"{cache}: page bytes"),
            hovertemplate=KIB_HOVER,
        )
        decimated |= _step_line(
            figure,
            frame,
            "empty_slot_share",
            max_points=max_points,
            scale=100,
            line={"color": color, "dash": "dot"},
            name=plot_text(f"{cache}: empty slots"),
            yaxis="y2",
            hovertemplate=PERCENT_HOVER,
        )
    highest = max((int(frame["reserved_bytes"].max()) for frame in usage.values()), default=0)
    figure.update_layout(yaxis_range=[0, max(highest, 1024) / 1024 * 1.1])
    if not usage:
        note(figure, "no KV cache pages in this trace")
    if decimated:
        mark_decimated(figure, f"min/max envelope, at most {max_points} points per series")
    return figure
