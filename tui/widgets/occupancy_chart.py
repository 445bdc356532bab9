"""An area chart of on-chip occupancy over modelled time, drawn with block eighths.

One column is one time bucket; its height is the most bytes live in that
bucket. The capacity line and the reserved-scratch line are drawn where the
area does not cover them, the part of the area above the scratch line or above
capacity takes a warning colour, and the cursor column is highlighted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from ubscope.tui.text import short_bytes, time_label

EIGHTHS = " ▁▂▃▄▅▆▇█"
AXIS_WIDTH = 7


@dataclass
class ChartData:
    """What the chart draws: per-column heights over ``[t0, t1)``."""

    columns: np.ndarray
    t0: float
    t1: float
    capacity: int
    scratch_limit: int | None  # UB bytes usable before the built-in APIs' scratch
    y_max: int
    cursor_t: float | None = None


class OccupancyChart(Widget):
    """The Timeline's chart (one core, one space)."""

    COMPONENT_CLASSES = {
        "occupancy-chart--fill",
        "occupancy-chart--scratch-fill",
        "occupancy-chart--over-fill",
        "occupancy-chart--capacity",
        "occupancy-chart--scratch",
        "occupancy-chart--axis",
        "occupancy-chart--cursor",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.data: ChartData | None = None
        self._lines: list[Strip] | None = None

    @property
    def plot_width(self) -> int:
        return max(1, self.size.width - AXIS_WIDTH - 1)

    def show(self, data: ChartData) -> None:
        self.data = data
        self._lines = None
        self.refresh()

    def on_resize(self) -> None:
        self._lines = None

    def column_of(self, t_ps: float) -> int:
        data = self.data
        if data is None or data.t1 <= data.t0:
            return 0
        width = len(data.columns)
        return int(np.clip((t_ps - data.t0) * width // (data.t1 - data.t0), 0, width - 1))

    def render_line(self, y: int) -> Strip:
        if self._lines is None:
            self._lines = self._draw()
        return self._lines[y] if y < len(self._lines) else Strip.blank(self.size.width)

    def _draw(self) -> list[Strip]:
        width, height = self.size.width, self.size.height
        data = self.data
        if data is None or height < 3 or not len(data.columns):
            return []
        style = self.get_component_rich_style
        axis = style("occupancy-chart--axis")
        rows = height - 1
        y_max = max(data.y_max, 1)
        per_row = y_max / rows
        eighths = np.ceil(data.columns / y_max * rows * 8).astype(np.int64)
        cursor = self.column_of(data.cursor_t) if data.cursor_t is not None else -1
        cursor_style = style("occupancy-chart--cursor", partial=True)
        capacity_row = _row_of(data.capacity, per_row, rows)
        scratch_row = _row_of(data.scratch_limit, per_row, rows) if data.scratch_limit else -1
        labels = {0: short_bytes(y_max), capacity_row: short_bytes(data.capacity)}
        if scratch_row >= 0:
            labels.setdefault(scratch_row, short_bytes(data.scratch_limit or 0))
        labels.setdefault(rows - 1, "0")
        strips = []
        for row in range(rows):
            bottom = rows - 1 - row  # rows counted from the bottom
            low_bytes = bottom * per_row
            fill = self._fill_style(low_bytes, data)
            line_char, line_style = " ", Style()
            if row == capacity_row:
                line_char, line_style = "─", style("occupancy-chart--capacity")
            elif row == scratch_row:
                line_char, line_style = "┄", style("occupancy-chart--scratch")
            heights = np.clip(eighths - bottom * 8, 0, 8)
            segments = [Segment(labels.get(row, "").rjust(AXIS_WIDTH) + "│", axis)]
            segments += _row_segments(heights, fill, line_char, line_style, cursor, cursor_style)
            strips.append(Strip(segments).adjust_cell_length(width))
        strips.append(self._time_axis(width, axis))
        return strips

    def _fill_style(self, low_bytes: float, data: ChartData) -> Style:
        if low_bytes >= data.capacity:
            return self.get_component_rich_style("occupancy-chart--over-fill")
        if data.scratch_limit and low_bytes >= data.scratch_limit:
            return self.get_component_rich_style("occupancy-chart--scratch-fill")
        return self.get_component_rich_style("occupancy-chart--fill")

    def _time_axis(self, width: int, style: Style) -> Strip:
        data = self.data
        assert data is not None
        plot = width - AXIS_WIDTH - 1
        left, right = time_label(data.t0), time_label(data.t1)
        middle = time_label((data.t0 + data.t1) / 2)
        line = [" "] * max(plot, 0)
        for text, start in (
            (left, 0),
            (middle, plot // 2 - len(middle) // 2),
            (right, plot - len(right)),
        ):
            if start >= 0 and start + len(text) <= plot:
                line[start : start + len(text)] = text
        return Strip([Segment(" " * AXIS_WIDTH + "└" + "".join(line), style)]).adjust_cell_length(
            width
        )


def _row_of(value: int | None, per_row: float, rows: int) -> int:
    """Screen row (from the top) whose byte range holds ``value``."""
    if value is None:
        return -1
    bottom = min(int(value // per_row), rows - 1)
    return rows - 1 - bottom


def _row_segments(
    heights: np.ndarray,
    fill: Style,
    line_char: str,
    line_style: Style,
    cursor: int,
    cursor_style: Style,
) -> list[Segment]:
    """One chart row: runs of equal cells become one segment each."""
    chars = [line_char if h == 0 else EIGHTHS[h] for h in heights.tolist()]
    styles = [line_style if h == 0 else fill for h in heights.tolist()]
    if 0 <= cursor < len(chars):
        styles[cursor] = styles[cursor] + cursor_style
        if chars[cursor] == " ":
            chars[cursor] = "│"
    segments: list[Segment] = []
    start = 0
    for index in range(1, len(chars) + 1):
        if index == len(chars) or styles[index] != styles[start]:
            segments.append(Segment("".join(chars[start:index]), styles[start]))
            start = index
    return segments
