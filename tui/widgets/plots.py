"""Braille line plots: two occupancy curves overlaid (Compare) and the roofline (Traffic)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from ubscope.analyzers import OccupancySeries
from ubscope.tui.text import short_bytes, time_label
from ubscope.tui.widgets.braille import BrailleCanvas

AXIS_WIDTH = 7
LAYER_A, LAYER_B, LAYER_GUIDE = 0, 1, 2


@dataclass
class Figure:
    """A drawn canvas with its y labels (by row), x-axis text and point marks."""

    canvas: BrailleCanvas
    y_labels: dict[int, str] = field(default_factory=dict)
    x_axis: str = ""
    marks: dict[tuple[int, int], str] = field(default_factory=dict)


class BraillePlot(Widget):
    """Base: subclasses fill a :class:`Figure`; this renders it line by line."""

    COMPONENT_CLASSES = {
        "plot--axis",
        "plot--a",
        "plot--b",
        "plot--both",
        "plot--guide",
        "plot--mark",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[Strip] | None = None

    def invalidate(self) -> None:
        self._lines = None
        self.refresh()

    def on_resize(self) -> None:
        self._lines = None

    def figure(self, cols: int, rows: int) -> Figure | None:
        raise NotImplementedError

    def render_line(self, y: int) -> Strip:
        if self._lines is None:
            self._lines = self._draw()
        return self._lines[y] if y < len(self._lines) else Strip.blank(self.size.width)

    def _draw(self) -> list[Strip]:
        width, height = self.size.width, self.size.height
        cols, rows = width - AXIS_WIDTH - 1, height - 1
        if cols < 4 or rows < 2:
            return []
        figure = self.figure(cols, rows)
        if figure is None:
            return []
        style = self.get_component_rich_style
        axis = style("plot--axis")
        by_layers = {1: style("plot--a"), 2: style("plot--b"), 3: style("plot--both")}
        guide, mark = style("plot--guide"), style("plot--mark")
        canvas = figure.canvas
        strips = []
        for row in range(rows):
            segments = [Segment(figure.y_labels.get(row, "").rjust(AXIS_WIDTH) + "│", axis)]
            for col in range(cols):
                if (row, col) in figure.marks:
                    segments.append(Segment(figure.marks[(row, col)], mark))
                    continue
                layers = int(canvas.layers[row, col])
                curve = layers & 3
                cell_style = by_layers.get(curve, guide if layers else Style())
                segments.append(Segment(canvas.char(row, col), cell_style))
            strips.append(Strip(Segment.simplify(segments)).adjust_cell_length(width))
        x_axis = (" " * AXIS_WIDTH + "└" + figure.x_axis)[:width]
        strips.append(Strip([Segment(x_axis, axis)]).adjust_cell_length(width))
        return strips


def spread_labels(width: int, labels: list[tuple[float, str]]) -> str:
    """Place labels at fractional positions 0..1 of a ``width``-wide axis."""
    line = [" "] * width
    for position, text in labels:
        start = int(round(position * (width - 1) - len(text) / 2))
        start = min(max(start, 0), width - len(text))
        if start >= 0 and all(c == " " for c in line[max(start - 1, 0) : start + len(text) + 1]):
            line[start : start + len(text)] = text
    return "".join(line)


class OverlayChart(BraillePlot):
    """Occupancy of the same core and space in two traces over one time axis."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.series: tuple[OccupancySeries | None, OccupancySeries | None] = (None, None)
        self.capacity = 0

    def show(self, a: OccupancySeries | None, b: OccupancySeries | None, capacity: int) -> None:
        self.series, self.capacity = (a, b), capacity
        self.invalidate()

    def figure(self, cols: int, rows: int) -> Figure | None:
        present = [s for s in self.series if s is not None and len(s)]
        if not present:
            return None
        canvas = BrailleCanvas(cols, rows)
        t1 = max(max(s.end_ps for s in present), 1)
        y_max = max([self.capacity] + [s.peak for s in present]) or 1
        scale = (canvas.dot_height - 1) / y_max
        for layer, series in zip((LAYER_A, LAYER_B), self.series, strict=True):
            if series is not None and len(series):
                heights = np.round(series.columns(0, t1, canvas.dot_width) * scale)
                canvas.steps(heights, layer)
        if self.capacity:
            guide_y = int(round(self.capacity * scale))
            canvas.dots(
                np.arange(0, canvas.dot_width, 3),
                np.full(canvas.dot_width, guide_y)[::3],
                LAYER_GUIDE,
            )
        capacity_row = rows - 1 - min(int(round(self.capacity * scale)) // 4, rows - 1)
        labels = {0: short_bytes(y_max), rows - 1: "0", capacity_row: short_bytes(self.capacity)}
        axis = spread_labels(
            cols, [(0, time_label(0)), (0.5, time_label(t1 / 2)), (1, time_label(t1))]
        )
        return Figure(canvas, labels, axis)


@dataclass
class RooflinePoint:
    intensity: float  # FLOP per byte of HBM traffic
    achieved: float  # FLOP/s
    peak: float  # FLOP/s
    bandwidth: float  # bytes/s


class RooflinePlot(BraillePlot):
    """Log-log roofline: attainable FLOP/s against arithmetic intensity, with the
    kernel marked where it sits."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.point: RooflinePoint | None = None

    def show(self, point: RooflinePoint) -> None:
        self.point = point
        self.invalidate()

    def figure(self, cols: int, rows: int) -> Figure | None:
        point = self.point
        if point is None or point.peak <= 0 or point.bandwidth <= 0:
            return None
        ridge = point.peak / point.bandwidth
        known = [v for v in (point.intensity, ridge) if 0 < v < math.inf]
        x_lo = math.floor(math.log10(min(known))) - 1
        x_hi = math.ceil(math.log10(max(known))) + 1
        y_hi = math.log10(point.peak) + 0.3
        y_lo = y_hi - max(3.0, math.ceil(y_hi - math.log10(max(point.achieved, 1.0))) + 1)
        canvas = BrailleCanvas(cols, rows)
        xs = np.arange(canvas.dot_width)
        intensity = 10 ** (x_lo + (x_hi - x_lo) * xs / max(canvas.dot_width - 1, 1))
        roof = np.log10(np.minimum(point.peak, point.bandwidth * intensity))
        to_dots = (canvas.dot_height - 1) / (y_hi - y_lo)
        canvas.steps(np.round((roof - y_lo) * to_dots), LAYER_A)
        marks = {}
        if 0 < point.intensity < math.inf and point.achieved > 0:
            col = (math.log10(point.intensity) - x_lo) / (x_hi - x_lo) * (cols - 1)
            row = (math.log10(point.achieved) - y_lo) / (y_hi - y_lo) * (rows - 1)
            marks[
                (
                    rows - 1 - int(np.clip(round(row), 0, rows - 1)),
                    int(np.clip(round(col), 0, cols - 1)),
                )
            ] = "●"
        labels = {0: _flops(10**y_hi), rows - 1: _flops(10**y_lo)}
        decades = range(x_lo, x_hi + 1)
        axis = spread_labels(cols, [((d - x_lo) / (x_hi - x_lo), _decade(d)) for d in decades])
        return Figure(canvas, labels, axis, marks)


def _flops(value: float) -> str:
    for unit, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= scale:
            return f"{value / scale:.0f}{unit}"
    return f"{value:.0f}"


def _decade(exponent: int) -> str:
    return f"{10.0**exponent:g}"
