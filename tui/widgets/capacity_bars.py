"""Horizontal bars of peak on-chip bytes against each space's capacity."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from ubscope.tui.text import bytes_of

LABEL_WIDTH = 5


@dataclass(frozen=True)
class Bar:
    space: str
    peak: int
    capacity: int
    scratch_limit: int | None = None  # UB: where the built-in APIs' scratch begins


class CapacityBars(Widget):
    """One line per space: the bar scaled so capacity sits at a fixed column
    (bars past capacity run into the red zone), then the figures."""

    COMPONENT_CLASSES = {
        "capacity-bars--fill",
        "capacity-bars--scratch",
        "capacity-bars--over",
        "capacity-bars--empty",
        "capacity-bars--limit",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.bars: list[Bar] = []

    def show(self, bars: list[Bar]) -> None:
        self.bars = bars
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(len(self.bars), 1)

    def render(self) -> Text:
        if not self.bars:
            return Text("no on-chip allocations recorded")
        style = self.get_component_rich_style
        fill, scratch = style("capacity-bars--fill"), style("capacity-bars--scratch")
        over, empty = style("capacity-bars--over"), style("capacity-bars--empty")
        limit = style("capacity-bars--limit")
        figures = [bytes_of(bar.peak, bar.capacity) for bar in self.bars]
        bar_width = max(10, self.size.width - LABEL_WIDTH - max(map(len, figures)) - 4)
        scale = max(max(bar.peak / max(bar.capacity, 1) for bar in self.bars), 1.0)
        at_capacity = int(bar_width / scale)
        lines = []
        for bar, figure in zip(self.bars, figures, strict=True):
            line = Text(bar.space.ljust(LABEL_WIDTH))
            filled = round(bar.peak / max(bar.capacity, 1) * at_capacity)
            safe = (
                round(bar.scratch_limit / bar.capacity * at_capacity)
                if bar.scratch_limit
                else at_capacity
            )
            for column in range(bar_width):
                if column == at_capacity:
                    line.append(
                        "│" if column >= filled else "█", limit if column >= filled else over
                    )
                elif column < filled:
                    cell_style = (
                        over if column >= at_capacity else scratch if column >= safe else fill
                    )
                    line.append("█", cell_style)
                elif column < at_capacity:
                    line.append("░", empty)
                else:
                    line.append(" ")
            line.append(f"  {figure}")
            lines.append(line)
        return Text("\n").join(lines)
