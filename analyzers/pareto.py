"""The Pareto front of points whose every coordinate is a cost (lower is better):
the points no other point beats, which are the only ones worth choosing among
when trading one cost (peak UB) against others (GM bytes, modelled time)."""

from __future__ import annotations

import numpy as np

_BLOCK = 256


def pareto_front(costs: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the rows of ``costs`` (points x objectives) that
    no other row dominates: none is at most as large in every objective and
    smaller in one. Equal rows are all kept; a row with a NaN is never on the
    front (a cost that is unknown cannot be traded)."""
    points = np.asarray(costs, dtype=np.float64)
    if points.ndim != 2:
        raise ValueError(f"expected points x objectives, got an array of shape {points.shape}")
    known = np.flatnonzero(~np.isnan(points).any(axis=1))
    candidates = points[known]
    dominated = np.zeros(len(candidates), dtype=bool)
    # Pairwise comparison in blocks of rows: a block x n x objectives booleans
    # at a time, so a sweep of many thousand configurations stays small.
    for start in range(0, len(candidates), _BLOCK):
        block = candidates[start : start + _BLOCK, None, :]
        no_worse = (block <= candidates[None, :, :]).all(axis=2)
        better = (block < candidates[None, :, :]).any(axis=2)
        dominated |= (no_worse & better).any(axis=0)
    return known[~dominated]
