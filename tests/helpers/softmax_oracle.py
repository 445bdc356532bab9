"""Oracles and error bounds the softmax-family twin tests share: float64
softmax rows, the 32 B row blocks the statistics are kept in, and the float
rounding bounds derived for e = expf(x - max), its row sum and e / sum."""

from __future__ import annotations

import numpy as np

U = 2.0**-24  # float's unit roundoff


def softmax_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float64 softmax of each row: (dst, max, sum)."""
    x = x.astype(np.float64)
    top = x.max(axis=1, keepdims=True)
    e = np.exp(x - top)
    total = e.sum(axis=1, keepdims=True)
    return e / total, top[:, 0], total[:, 0]


def row_blocks(values: np.ndarray, rows: int, per: int) -> np.ndarray:
    """A [rows, 32 B] tensor: every element of a row's block is the row's value."""
    blocks = values.reshape(rows, per)
    np.testing.assert_array_equal(blocks, np.repeat(blocks[:, :1], per, axis=1))
    return blocks[:, 0]


def spread(x: np.ndarray) -> float:
    """The largest |x - rowmax| of any row (in float64)."""
    x = x.astype(np.float64)
    return float((x.max(axis=1, keepdims=True) - x).max())


def sum_bound(x: np.ndarray) -> float:
    """The float row sum of e = expf(x - max), relative: x - max rounds by at
    most U |x - max|, which exp turns into a relative error of that size, and
    expf adds at most 2U (under one ulp); k terms summed in order round k - 1
    times more (the recursive-summation bound, all terms positive)."""
    return (spread(x) + 2 + x.shape[1]) * U


def softmax_bound(x: np.ndarray) -> float:
    """dst = e / sum, relative: e's error (|x - max| + 2)U, the sum's
    sum_bound, one more rounding in the division."""
    return (spread(x) + 2) * U + sum_bound(x) + U


def assert_rel(got: np.ndarray, want: np.ndarray, bound: float) -> None:
    """|got - want| below ``bound`` relative to want (a tiny absolute floor for zeros)."""
    np.testing.assert_array_less(np.abs(got - want), bound * np.abs(want) + 1e-38)
