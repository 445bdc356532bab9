"""The address space of one on-chip memory at one moment, drawn as cells.

Each cell covers the same number of bytes (a multiple of the space's
alignment); a row starts with its address. Live allocations are coloured by
call-site tag (neighbouring blocks alternate between two shades so block
boundaries stay visible), the padding between a block's requested and aligned
size is hatched, free bytes are dots, the reserved UB scratch is shaded and
everything past capacity is the red zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from ubscope.probe.units import format_bytes

TAG_COLOURS = 8
LABEL_WIDTH = 8
FREE, PADDING, ALLOCATED = 0, 1, 2


@dataclass
class MapLayout:
    """What is live: blocks (sorted by address) with their colour index."""

    addr: np.ndarray
    end: np.ndarray
    size: np.ndarray
    colour: np.ndarray  # tag colour index per block
    extent: int  # bytes drawn (capacity or the highest end, whichever is larger)
    capacity: int
    alignment: int
    scratch_start: int | None = None
    legend: list[tuple[str, int, int]] = field(default_factory=list)  # (tag, colour, bytes)


class AddressMap(Widget):
    """Cells of one memory; the legend of the live tags is the last line(s)."""

    COMPONENT_CLASSES = {
        "address-map--label",
        "address-map--free",
        "address-map--padding",
        "address-map--scratch",
        "address-map--redzone",
        "address-map--redzone-live",
        *(f"address-map--tag-{i}" for i in range(TAG_COLOURS)),
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.layout_data: MapLayout | None = None
        self._lines: list[Strip] | None = None
        self.bytes_per_cell = 0

    def show(self, layout: MapLayout) -> None:
        self.layout_data = layout
        self._lines = None
        self.refresh()

    def on_resize(self) -> None:
        self._lines = None

    def render_line(self, y: int) -> Strip:
        if self._lines is None:
            self._lines = self._draw()
        return self._lines[y] if y < len(self._lines) else Strip.blank(self.size.width)

    def _draw(self) -> list[Strip]:
        data = self.layout_data
        width, height = self.size.width, self.size.height
        legend = self._legend(width)
        rows = height - len(legend)
        cols = (width - LABEL_WIDTH - 1) // 8 * 8  # rows then start at round addresses
        if data is None or rows < 1 or cols < 8 or data.extent <= 0:
            return legend
        per_cell = max(data.alignment, 1)
        while -(-data.extent // (per_cell * cols)) > rows:
            per_cell *= 2
        self.bytes_per_cell = per_cell
        cells = -(-data.extent // per_cell)
        state, owner = self._cells(data, cells, per_cell)
        styles = self._cell_styles(data, state, owner, cells, per_cell)
        glyphs = self._glyphs(state, owner, cells, per_cell, data)
        label_style = self.get_component_rich_style("address-map--label")
        strips = []
        for row in range(-(-cells // cols)):
            first = row * cols
            label = f"{first * per_cell:#x}".rjust(LABEL_WIDTH) + " "
            segments = [Segment(label, label_style)]
            segments += [
                Segment(glyphs[i], styles[i]) for i in range(first, min(first + cols, cells))
            ]
            strips.append(Strip(Segment.simplify(segments)).adjust_cell_length(width))
        return strips[:rows] + legend

    @staticmethod
    def _cells(data: MapLayout, cells: int, per_cell: int) -> tuple[np.ndarray, np.ndarray]:
        """Per cell: FREE / PADDING / ALLOCATED and the owning block (-1 if free).
        A cell shared by several blocks shows the one covering its start."""
        state = np.zeros(cells, dtype=np.int8)
        owner = np.full(cells, -1, dtype=np.int64)
        for index in range(len(data.addr)):
            start, end = int(data.addr[index]), int(data.end[index])
            used_end = start + int(data.size[index])
            first, last = start // per_cell, -(-end // per_cell)
            padding_from = -(-used_end // per_cell)
            state[first:last] = np.maximum(state[first:last], PADDING)
            state[first : max(padding_from, first + 1)] = ALLOCATED
            owner[first:last] = np.where(owner[first:last] < 0, index, owner[first:last])
        return state, owner

    def _cell_styles(
        self, data: MapLayout, state: np.ndarray, owner: np.ndarray, cells: int, per_cell: int
    ) -> list[Style]:
        style = self.get_component_rich_style
        tag_styles = [style(f"address-map--tag-{i}") for i in range(TAG_COLOURS)]
        free = style("address-map--free")
        padding = style("address-map--padding", partial=True)
        scratch, redzone = style("address-map--scratch"), style("address-map--redzone")
        redzone_live = style("address-map--redzone-live")
        starts = np.arange(cells) * per_cell
        result = []
        for index in range(cells):
            beyond = starts[index] + per_cell > data.capacity
            if state[index] == FREE:
                if beyond:
                    result.append(redzone)
                elif data.scratch_start is not None and starts[index] >= data.scratch_start:
                    result.append(scratch)
                else:
                    result.append(free)
            elif beyond:
                result.append(redzone_live)
            elif state[index] == PADDING:
                result.append(tag_styles[data.colour[owner[index]] % TAG_COLOURS] + padding)
            else:
                result.append(tag_styles[data.colour[owner[index]] % TAG_COLOURS])
        return result

    @staticmethod
    def _glyphs(
        state: np.ndarray, owner: np.ndarray, cells: int, per_cell: int, data: MapLayout
    ) -> list[str]:
        starts = np.arange(cells) * per_cell
        glyphs = []
        for index in range(cells):
            if state[index] == FREE:
                beyond = starts[index] >= data.capacity
                in_scratch = data.scratch_start is not None and starts[index] >= data.scratch_start
                glyphs.append("░" if beyond or in_scratch else "·")
            elif state[index] == PADDING:
                glyphs.append("▒")
            else:
                glyphs.append("█" if owner[index] % 2 == 0 else "▓")
        return glyphs

    def _legend(self, width: int) -> list[Strip]:
        data = self.layout_data
        if data is None:
            return []
        style = self.get_component_rich_style
        items: list[tuple[str, Style]] = [
            (
                f"█ {tag or '(no tag)'} {format_bytes(nbytes)}",
                style(f"address-map--tag-{colour % TAG_COLOURS}"),
            )
            for tag, colour, nbytes in data.legend
        ]
        items += [("▒ padding", Style()), ("· free", style("address-map--free"))]
        if data.scratch_start is not None:
            items.append(("░ scratch", style("address-map--scratch")))
        items.append(("░ red zone", style("address-map--redzone")))
        lines: list[list[Segment]] = [[]]
        used = 0
        for text, item_style in items:
            if used and used + len(text) + 2 > width:
                lines.append([])
                used = 0
            if used:
                lines[-1].append(Segment("  "))
                used += 2
            lines[-1].append(Segment(text, item_style))
            used += len(text)
        return [Strip(segments).adjust_cell_length(width) for segments in lines[:2]]
