"""Strided views of byte arrays: how the copies move bytes in bulk.

A DataCopy, an Nd2Nz copy or a LoadData touches a lattice of bytes (rows at
a pitch, fractals at a stride, C0 blocks at a stride). Gathering those bytes
through a fancy index costs a 64-bit index per byte, rebuilt on every call;
a strided view of the same bytes costs nothing to build and copies at memory
speed. A view is only handed out when it stays inside the array, and, for a
destination, when no two of its elements share a byte: there, numpy's order
of assignment would decide which write wins, so the caller keeps its
element-by-element path for that (rare, usually misparameterized) copy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _span(shape: Sequence[int], strides: Sequence[int]) -> tuple[int, int]:
    """Lowest and highest byte offset the lattice reaches from its start."""
    low = sum((n - 1) * s for n, s in zip(shape, strides, strict=True) if s < 0)
    high = sum((n - 1) * s for n, s in zip(shape, strides, strict=True) if s > 0)
    return low, high


def _one_to_one(shape: Sequence[int], strides: Sequence[int]) -> bool:
    """Whether no two elements of the lattice share a byte: with the axes taken
    from the smallest stride up, each stride clears everything inside it."""
    reach = 0  # bytes the axes taken so far span, minus one
    for n, stride in sorted(
        ((n, abs(s)) for n, s in zip(shape, strides, strict=True) if n > 1),
        key=lambda axis: axis[1],
    ):
        if stride <= reach:
            return False
        reach += (n - 1) * stride
    return True


def _inside(data: np.ndarray, start: int, shape: Sequence[int], strides: Sequence[int]) -> bool:
    if any(n <= 0 for n in shape):
        return False
    low, high = _span(shape, strides)
    return start + low >= 0 and start + high < data.size


def _view(data: np.ndarray, start: int, shape: Sequence[int], strides: Sequence[int]) -> np.ndarray:
    # ndarray over the buffer, not as_strided: this runs once per copy, and
    # as_strided's interface dance costs more than many of the copies.
    return np.ndarray(tuple(shape), np.uint8, data, start, tuple(strides))


def read_view(
    data: np.ndarray, start: int, shape: Sequence[int], strides: Sequence[int]
) -> np.ndarray | None:
    """The bytes of ``data`` (a C-contiguous 1-D uint8 array) at ``start +
    sum(i * stride)`` as an array of ``shape``, read-only; None when any of
    them lies outside ``data``. Strides are in bytes."""
    if not _inside(data, start, shape, strides):
        return None
    view = _view(data, start, shape, strides)
    view.flags.writeable = False
    return view


def write_view(
    data: np.ndarray, start: int, shape: Sequence[int], strides: Sequence[int]
) -> np.ndarray | None:
    """As :func:`read_view`, writable, and None also when two elements share a
    byte (the order of the writes would then matter)."""
    if not _inside(data, start, shape, strides) or not _one_to_one(shape, strides):
        return None
    return _view(data, start, shape, strides)


def row_views(
    dst: np.ndarray,
    dst_start: int,
    dst_pitch: int,
    src: np.ndarray,
    src_start: int,
    src_pitch: int,
    rows: int,
    row_bytes: int,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Views of ``rows`` rows of ``row_bytes`` in ``dst`` and in ``src`` (pitches
    in bytes), or None when either cannot be had (see :func:`write_view`)."""
    source = read_view(src, src_start, (rows, row_bytes), (src_pitch, 1))
    target = write_view(dst, dst_start, (rows, row_bytes), (dst_pitch, 1))
    if source is None or target is None:
        return None
    return target, source
