"""Index tables for Gather and Scatter: built on the host from the tiling
alone, written into UB once per block."""

from __future__ import annotations

import numpy as np

from ubscope.probe.memory import vector
from ubscope.probe.memory.arena import LocalTensor


def fill_index_table(dst: LocalTensor, table: np.ndarray) -> None:
    """Write a tiling-only index table into UB. Stands for the device's
    CreateVecIndex followed by a few integer ops (modelled as 4 ops a slot)."""
    values = table.astype(dst.dtype)
    vector.apply("CreateVecIndex", dst, (), values.size, lambda: values, ops_per_element=4)


def transpose_table(rows: int, cols: int, pitch: int, item: int, width: int = 0) -> np.ndarray:
    """Byte offsets that Gather a ``[rows, pitch]`` tile into ``[cols, width]``
    order (``width >= rows``; padding columns repeat the last row)."""
    width = max(width, rows)
    col, row = np.divmod(np.arange(width * cols), width)
    return (np.minimum(row, rows - 1) * pitch + col) * item
