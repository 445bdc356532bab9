"""A braille dot canvas (2x4 dots per cell) for line plots in the terminal.

Dots are set in numpy arrays, one bit per dot and one bit per layer, so two
curves can share a cell: the widget colours a cell by which layers touch it.
"""

from __future__ import annotations

import numpy as np

BRAILLE_BASE = 0x2800
# Bit of the dot at (row % 4, column % 2) inside one braille cell.
DOT_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint8)


class BrailleCanvas:
    """``cols`` x ``rows`` cells; dot coordinates run 0..2*cols-1 and 0..4*rows-1
    with y = 0 at the bottom."""

    def __init__(self, cols: int, rows: int):
        self.cols, self.rows = max(cols, 0), max(rows, 0)
        self.bits = np.zeros((self.rows, self.cols), dtype=np.uint8)
        self.layers = np.zeros((self.rows, self.cols), dtype=np.uint8)

    @property
    def dot_width(self) -> int:
        return 2 * self.cols

    @property
    def dot_height(self) -> int:
        return 4 * self.rows

    def dots(self, x: np.ndarray, y: np.ndarray, layer: int) -> None:
        """Set dots at integer coordinates (out-of-range ones are dropped)."""
        x, y = np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64)
        keep = (x >= 0) & (x < self.dot_width) & (y >= 0) & (y < self.dot_height)
        x, y = x[keep], y[keep]
        top = self.dot_height - 1 - y
        cell_row, cell_col = top // 4, x // 2
        np.bitwise_or.at(self.bits, (cell_row, cell_col), DOT_BITS[top % 4, x % 2])
        np.bitwise_or.at(self.layers, (cell_row, cell_col), np.uint8(1 << layer))

    def steps(self, heights: np.ndarray, layer: int) -> None:
        """A step curve: one height (in dots) per dot column, joined vertically."""
        heights = np.clip(np.asarray(heights, dtype=np.int64), 0, self.dot_height - 1)
        if not heights.size:
            return
        previous = np.r_[heights[0], heights[:-1]]
        low, high = np.minimum(previous, heights), np.maximum(previous, heights)
        lengths = high - low + 1
        x = np.repeat(np.arange(heights.size), lengths)
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        self.dots(x, np.repeat(low, lengths) + offsets, layer)

    def char(self, row: int, col: int) -> str:
        bits = int(self.bits[row, col])
        return chr(BRAILLE_BASE + bits) if bits else " "
