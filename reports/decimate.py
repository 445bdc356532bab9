"""Min/max envelope decimation: long series shrunk for plotting, extremes kept.

A browser cannot draw ten million points, and averaging would erase exactly
what a memory profiler exists to show (a one-event overflow spike). So a
series is cut into equal buckets of consecutive points and each bucket keeps
its minimum and its maximum, in their original order, plus the series' first
and last point: the drawn envelope is the true envelope.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def envelope_indices(values: np.ndarray, max_points: int) -> np.ndarray:
    """Sorted positions of the points to keep so that at most ``max_points``
    remain (every point when the series is already short enough)."""
    count = len(values)
    if max_points < 4:
        raise ValueError("max_points must be at least 4 (first, last, one min and one max)")
    if count <= max_points:
        return np.arange(count)
    buckets = (max_points - 2) // 2
    bucket_size = -(-count // buckets)
    buckets = -(-count // bucket_size)
    # Padding with the last value changes no bucket's extremes, and argmin /
    # argmax return the first occurrence, i.e. a real point.
    padded = np.pad(np.asarray(values), (0, buckets * bucket_size - count), mode="edge")
    grid = padded.reshape(buckets, bucket_size)
    offsets = np.arange(buckets) * bucket_size
    lows = grid.argmin(axis=1) + offsets
    highs = grid.argmax(axis=1) + offsets
    keep = np.concatenate(([0, count - 1], lows, highs))
    return np.unique(np.minimum(keep, count - 1))


def decimate_frame(frame: pd.DataFrame, column: str, max_points: int) -> tuple[pd.DataFrame, bool]:
    """``frame`` reduced to the min/max envelope of ``column``; the flag says
    whether anything was dropped (the chart then says so)."""
    if len(frame) <= max_points:
        return frame, False
    keep = envelope_indices(frame[column].to_numpy(), max_points)
    return frame.iloc[keep], True
