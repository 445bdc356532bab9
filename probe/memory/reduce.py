"""Reductions built from vector ops: the halving sum of a tile's rows, a
broadcast multiply summed over rows, and sums of fixed-size groups
(BlockReduceSum / WholeReduceSum)."""

from __future__ import annotations

import numpy as np

from ubscope.probe.memory import vector
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.broadcast import broadcast_columns


def tree_sum_rows(tile: LocalTensor, rows: int, cols: int) -> None:
    """Sum the ``rows`` contiguous rows of ``cols`` elements into row 0 by
    halving: each step adds the upper rows onto the lower ones with one vector
    Add whose two sources are disjoint."""
    while rows > 1:
        half = rows // 2
        keep = rows - half
        lower = tile[0 : half * cols]
        vector.add(lower, lower, tile[keep * cols : rows * cols], half * cols)
        rows = keep


def multiply_reduce(
    column: LocalTensor,
    operand: LocalTensor,
    work: LocalTensor,
    rows: int,
    cols: int,
    index: LocalTensor | None = None,
) -> LocalTensor:
    """``sum_r column[r] * operand[r, c]`` for ``c < cols`` (with ``index``,
    byte offsets into ``column`` per element: ``column[index[r, c]]``, a Gather
    first); the result is ``work[:cols]``, the rest of ``work`` is scratch."""
    count = rows * cols
    if index is None:
        broadcast_columns("Mul", np.multiply, work, operand, column, rows, cols)
    else:
        vector.gather(work, column, index, count)
        vector.mul(work, work, operand, count)
    tree_sum_rows(work, rows, cols)
    return work[0:cols]


def sum_groups(op: str, dst: LocalTensor, src: LocalTensor, groups: int, size: int) -> None:
    """Sum each run of ``size`` consecutive elements of ``src`` into one element
    of ``dst`` (``op``: BlockReduceSum for a 32 B block, WholeReduceSum for up
    to one repeat), accumulating in ``src``'s type."""
    dtype = src.dtype
    grouped = np.dtype((np.void, size * dtype.itemsize))
    vector.apply(
        op,
        dst,
        (src.reinterpret(grouped),),
        groups,
        lambda g: g.view(dtype).reshape(groups, size).sum(axis=1, dtype=dtype),
    )
