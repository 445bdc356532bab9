"""Vector ops with one operand broadcast over a ``rows x cols`` tile.

On the device a row vector is re-read for every row of the tile (a repeat
stride of 0) and a column vector is first spread into 32 B blocks by Brcb and
then read with block stride 0; either way the whole op is one vector pass,
modelled as one instruction whose every operand is checked (alignment,
overlap) and counted in the bytes it touches, like any other vector op.
"""

from __future__ import annotations

import numpy as np

from ubscope.probe.memory import vector
from ubscope.probe.memory.arena import LocalTensor


def broadcast_rows(
    op: str,
    ufunc: np.ufunc,
    dst: LocalTensor,
    src: LocalTensor,
    table: LocalTensor,
    rows: int,
    cols: int,
    row_of_table: np.ndarray | None = None,
) -> None:
    """``dst[r, c] = ufunc(src[r, c], table[t, c])`` with ``t = row_of_table[r]``
    (``t = 0``, one row re-read for every row of the tile, when None)."""

    def body(tile: np.ndarray, table_data: np.ndarray) -> np.ndarray:
        if row_of_table is None:
            return ufunc(tile.reshape(rows, cols), table_data[:cols]).reshape(-1)
        table_rows = int(row_of_table[-1]) + 1
        lines = table_data[: table_rows * cols].reshape(table_rows, cols)
        return ufunc(tile.reshape(rows, cols), lines[row_of_table]).reshape(-1)

    vector.apply(op, dst, (src, table), rows * cols, body)


def broadcast_columns(
    op: str,
    ufunc: np.ufunc,
    dst: LocalTensor,
    src: LocalTensor,
    column: LocalTensor,
    rows: int,
    cols: int,
) -> None:
    """``dst[r, c] = ufunc(src[r, c], column[r])`` (Brcb of ``column``, then the op)."""

    def body(tile: np.ndarray, values: np.ndarray) -> np.ndarray:
        return ufunc(tile.reshape(rows, cols), values[:rows, None]).reshape(-1)

    vector.apply(op, dst, (src, column), rows * cols, body)
