"""The cube's fractal layouts, and the copies that produce them: ``DataCopy``
with ``Nd2NzParams`` (GM ND -> L1 NZ) and ``LoadData`` 2D (L1 -> L0A/L0B).

A fractal is 16 rows of C0 = 32 B / element-size columns on the A and B sides
(16 x 16 fp16, 16 x 32 int8, 16 x 8 fp32: 512 B each; B-side fractals are
the transpose, C0 x 16), and 16 x 16 accumulator elements in L0C (1 KiB of
fp32). The layouts, with the Ascend C documentation's names:

* NZ (L1 after Nd2Nz, L0C): column blocks of C0 columns left to right, each
  the matrix's rows top to bottom, rows padded to whole fractals (fractals
  column-major, row-major inside);
* ZZ (L0A): fractals row-major, row-major inside;
* ZN (L0B): fractals row-major over (K block, N block), column-major inside.

A cube buffer holds whole fractals, so its footprint, and the capacity check
on it, is the matrix padded to them (:func:`nz_bytes`, :func:`zn_bytes`,
:func:`l0c_bytes`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ubscope.probe.errors import EmulationError, ParameterError
from ubscope.probe.events import Flag, Space
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.strided import read_view, write_view

FRACTAL_ROWS = 16
C0_BYTES = 32  # one fractal row on the A/B sides
FRACTAL_BYTES = FRACTAL_ROWS * C0_BYTES
ACCUMULATOR_BYTES = 4  # fp32 (int32 for 8-bit inputs) in L0C


def c0(itemsize: int) -> int:
    """Elements in a fractal row of the A/B sides (C0)."""
    return C0_BYTES // itemsize


def padded(value: int, unit: int = FRACTAL_ROWS) -> int:
    """``value`` rounded up to whole fractal rows (or ``unit``)."""
    return -(-value // unit) * unit


def nz_bytes(rows: int, cols: int, itemsize: int) -> int:
    """Bytes of a ``rows`` x ``cols`` matrix in NZ (L1) or ZZ (L0A): rows padded
    to 16, columns to C0."""
    return padded(rows, FRACTAL_ROWS) * padded(cols, c0(itemsize)) * itemsize


def zn_bytes(rows: int, cols: int, itemsize: int) -> int:
    """Bytes of a ``rows`` (K) x ``cols`` (N) matrix in ZN (L0B): rows padded
    to C0, columns to 16."""
    return padded(rows, c0(itemsize)) * padded(cols, FRACTAL_ROWS) * itemsize


def l0c_bytes(m: int, n: int) -> int:
    """Bytes of an ``m`` x ``n`` accumulator tile in L0C (16 x 16 fractals)."""
    return padded(m, FRACTAL_ROWS) * padded(n, FRACTAL_ROWS) * ACCUMULATOR_BYTES


def _from_fractals(
    flat: np.ndarray, rows: int, cols: int, fractal: tuple[int, int], column_major: bool
) -> np.ndarray:
    """The padded ``rows`` x ``cols`` matrix held as row-major ``fractal``-shaped
    fractals, each row-major inside (ZZ) or column-major (ZN)."""
    frac_rows, frac_cols = fractal
    padded_rows, padded_cols = padded(rows, frac_rows), padded(cols, frac_cols)
    inside = (frac_cols, frac_rows) if column_major else (frac_rows, frac_cols)
    grid = flat[: padded_rows * padded_cols].reshape(
        padded_rows // frac_rows, padded_cols // frac_cols, *inside
    )
    order = (0, 3, 1, 2) if column_major else (0, 2, 1, 3)
    return grid.transpose(order).reshape(padded_rows, padded_cols)


def zz_matrix(flat: np.ndarray, rows: int, cols: int, itemsize: int) -> np.ndarray:
    """The padded ``rows`` x ``cols`` matrix a ZZ (L0A) buffer holds."""
    return _from_fractals(flat, rows, cols, (FRACTAL_ROWS, c0(itemsize)), column_major=False)


def zn_matrix(flat: np.ndarray, rows: int, cols: int, itemsize: int) -> np.ndarray:
    """The padded ``rows`` (K) x ``cols`` (N) matrix a ZN (L0B) buffer holds."""
    return _from_fractals(flat, rows, cols, (c0(itemsize), FRACTAL_ROWS), column_major=True)


def nz_matrix(flat: np.ndarray, rows: int, cols: int, width: int) -> np.ndarray:
    """The ``rows`` x ``cols`` matrix (both already padded) an NZ buffer of
    ``width``-column blocks holds: L1 (width C0) or L0C (width 16)."""
    grid = flat[: rows * cols].reshape(cols // width, rows, width)
    return grid.transpose(1, 0, 2).reshape(rows, cols)


def to_nz(matrix: np.ndarray, width: int) -> np.ndarray:
    """``matrix`` (padded) in NZ order of ``width``-column blocks, flat."""
    rows, cols = matrix.shape
    return matrix.reshape(rows, cols // width, width).transpose(1, 0, 2).reshape(-1)


def _check_ranges(params: object, limits: dict[str, tuple[int, int]]) -> None:
    """Refuse a parameter struct whose fields leave the device's ranges."""
    for name, (low, high) in limits.items():
        value = getattr(params, name)
        if not low <= value <= high:
            kind = type(params).__name__
            raise ParameterError(f"{kind}.{name}={value} outside {low}..{high}")


@dataclass(frozen=True)
class Nd2NzParams:
    """``Nd2NzParams``: ``nd_num`` matrices of ``n_value`` rows x ``d_value``
    columns (elements), source rows ``src_d_value`` elements apart and matrices
    ``src_nd_matrix_stride``; in L1, column blocks ``dst_nz_c0_stride`` and rows
    ``dst_nz_n_stride`` 32 B blocks apart, matrices ``dst_nz_matrix_stride``
    elements apart."""

    n_value: int
    d_value: int
    src_d_value: int
    dst_nz_c0_stride: int
    dst_nz_n_stride: int = 1
    nd_num: int = 1
    src_nd_matrix_stride: int = 0
    dst_nz_matrix_stride: int = 0

    def __post_init__(self) -> None:
        # The documented ranges (Ascend C DataCopy, 随路转换ND2NZ搬运).
        limits = {
            "nd_num": (0, 4095),
            "n_value": (0, 16384),
            "d_value": (0, 65535),
            "src_nd_matrix_stride": (0, 65535),
            "src_d_value": (1, 65535),
            "dst_nz_c0_stride": (1, 16384),
            "dst_nz_n_stride": (1, 16384),
            "dst_nz_matrix_stride": (0, 65535),
        }
        _check_ranges(self, limits)


def _nd2nz_indices(params: Nd2NzParams, itemsize: int) -> tuple[np.ndarray, np.ndarray]:
    """(GM byte offsets, L1 byte offsets) of every element moved, both relative
    to the tensors' starts."""
    width = c0(itemsize)
    mat = np.arange(params.nd_num)[:, None, None]
    row = np.arange(params.n_value)[None, :, None]
    col = np.arange(params.d_value)[None, None, :]
    src = mat * params.src_nd_matrix_stride + row * params.src_d_value + col
    dst = (
        mat * params.dst_nz_matrix_stride
        + col // width * params.dst_nz_c0_stride * width
        + row * params.dst_nz_n_stride * width
        + col % width
    )
    return src.ravel() * itemsize, dst.ravel() * itemsize


def _nd2nz_strided(dst: LocalTensor, src: GlobalTensor, params: Nd2NzParams) -> bool:
    """The Nd2Nz copy through strided views, when the GM rows lie inside the
    buffer and no two L1 C0 blocks overlap; False (nothing moved) otherwise."""
    item = src.dtype.itemsize
    block = c0(item) * item  # bytes of a C0 block
    blocks = -(-params.d_value // c0(item))
    shape = (params.nd_num, params.n_value, blocks, block)
    strides = (
        params.dst_nz_matrix_stride * item,
        params.dst_nz_n_stride * block,
        params.dst_nz_c0_stride * block,
        1,
    )
    grid = write_view(dst.arena.data, dst.addr, shape, strides)
    row_bytes = params.d_value * item
    rows = read_view(
        src.buffer.data,
        src.offset,
        (params.nd_num, params.n_value, row_bytes),
        (params.src_nd_matrix_stride * item, params.src_d_value * item, 1),
    )
    if grid is None or rows is None:
        return False
    whole, rest = divmod(row_bytes, block)
    grid[:, :, :whole] = rows[:, :, : whole * block].reshape(*shape[:2], whole, block)
    if rest:  # the rest of a partial C0 block is zero-filled, as the device does
        grid[:, :, whole, :rest] = rows[:, :, whole * block :]
        grid[:, :, whole, rest:] = 0
    return True


def _nd2nz_indexed(dst: LocalTensor, src: GlobalTensor, params: Nd2NzParams) -> bool:
    """The Nd2Nz copy element by element, in the device's order (later
    elements win where L1 blocks overlap; GM bytes past the buffer read as
    zero); True when some were past it."""
    item = src.dtype.itemsize
    width = c0(item)
    blocks = -(-params.d_value // width)
    arena, data = dst.arena.data, src.buffer.data
    tail = blocks * width - params.d_value
    if tail:  # zero the padding of every partial C0 block
        pad_mats, pad_rows = np.divmod(np.arange(params.nd_num * params.n_value), params.n_value)
        starts = (
            pad_mats * params.dst_nz_matrix_stride
            + (blocks - 1) * params.dst_nz_c0_stride * width
            + pad_rows * params.dst_nz_n_stride * width
            + width
            - tail
        ) * item
        pad = (starts[:, None] + np.arange(tail * item)[None, :]).ravel()
        arena[dst.addr + pad] = 0
    src_bytes, dst_bytes = _nd2nz_indices(params, item)
    gm_index = (src.offset + src_bytes[:, None] + np.arange(item)[None, :]).ravel()
    local_index = (dst.addr + dst_bytes[:, None] + np.arange(item)[None, :]).ravel()
    valid = gm_index < data.size
    arena[local_index[valid]] = data[gm_index[valid]]
    arena[local_index[~valid]] = 0
    return not valid.all()


def data_copy_nd2nz(
    dst: LocalTensor, src: GlobalTensor, params: Nd2NzParams, tag: str | None = None
) -> None:
    """``DataCopy(dst, src, Nd2NzParams)``: GM (ND) -> L1 (NZ). Element (r, c)
    of matrix t lands at ``t * dst_nz_matrix_stride + (c // C0) *
    dst_nz_c0_stride * C0 + r * dst_nz_n_stride * C0 + c % C0``; the rest of a
    partial C0 block is zero-filled, as the device does."""
    if dst.space is not Space.L1:
        raise EmulationError("DataCopy with Nd2NzParams moves GM -> L1 (A1/B1)")
    core, item = dst.core, src.dtype.itemsize
    width = c0(item)
    blocks = -(-params.d_value // width)
    written = params.nd_num * params.n_value * blocks
    extent = 0
    if written:
        extent = (
            (params.nd_num - 1) * params.dst_nz_matrix_stride
            + (blocks - 1) * params.dst_nz_c0_stride * width
            + (params.n_value - 1) * params.dst_nz_n_stride * width
            + width
        ) * item
    if dst.addr + extent > dst.arena.limit:
        raise EmulationError(
            f"{core.label} L1: Nd2Nz copy into '{dst.name}' reaches beyond the red zone"
        )
    flags = Flag.GM_UNALIGNED if src.addr % 512 else Flag.NONE
    if src.buffer.workspace:
        flags |= Flag.WORKSPACE
    if written and not _nd2nz_strided(dst, src, params) and _nd2nz_indexed(dst, src, params):
        flags |= Flag.OUT_OF_BOUNDS
    flags |= core.check_placement(dst, extent)
    row_bytes, rows = params.d_value * item, params.nd_num * params.n_value
    duration = core.cost.gm_copy(src, rows, row_bytes, params.src_d_value * item, write=False)
    reads = (("GM", src.buffer.name, src.offset),)
    start = core.issue("MTE2", duration, reads, (dst.key,), core.cost.gm_latency_ps)
    core.recorder.copy(
        core.kind,
        core.index,
        Space.GM,
        src.addr,
        Space.L1,
        dst.addr,
        row_bytes * rows,
        written * C0_BYTES,
        row_bytes,
        rows,
        src.name,
        core.tag if tag is None else tag,
        start,
        duration,
        int(flags),
        dst.name,
    )


@dataclass(frozen=True)
class LoadData2DParams:
    """``LoadData2DParams``: ``repeat_times`` fractals from fractal
    ``start_index`` of the source, ``src_stride`` fractals apart (start to
    start), put ``dst_gap`` fractals apart (end to start); ``if_transpose``
    transposes each 16 x 16 fractal of 2-byte elements."""

    repeat_times: int
    start_index: int = 0
    src_stride: int = 1
    dst_gap: int = 0
    if_transpose: bool = False

    def __post_init__(self) -> None:
        limits = {
            "repeat_times": (0, 255),
            "start_index": (0, 65535),
            "src_stride": (0, 65535),
            "dst_gap": (0, 65535),
        }
        _check_ranges(self, limits)


_LOAD_ROUTES = {Space.L0A: "l1_to_l0a", Space.L0B: "l1_to_l0b"}


def load_data(
    dst: LocalTensor, src: LocalTensor, params: LoadData2DParams, tag: str | None = None
) -> None:
    """``LoadData`` (2D): whole 512 B fractals L1 -> L0A (A2) or L0B (B2)."""
    core = dst.core
    route = _LOAD_ROUTES.get(dst.space)
    if src.space is not Space.L1 or route is None:
        raise EmulationError("LoadData moves L1 (A1/B1) -> L0A (A2) or L0B (B2)")
    if src.core is not core:
        raise EmulationError(f"LoadData across cores ({src.core.label} -> {core.label})")
    if params.if_transpose and src.dtype.itemsize != 2:
        raise EmulationError("LoadData with if_transpose: 2-byte elements only")
    count = params.repeat_times
    src_at = src.addr + (params.start_index + np.arange(count) * params.src_stride) * FRACTAL_BYTES
    dst_at = dst.addr + np.arange(count) * (1 + params.dst_gap) * FRACTAL_BYTES
    extent = int(dst_at[-1]) + FRACTAL_BYTES - dst.addr if count else 0
    for arena, starts in ((src.arena, src_at), (dst.arena, dst_at)):
        if count and int(starts.max()) + FRACTAL_BYTES > arena.limit:
            raise EmulationError(f"{core.label}: LoadData reaches beyond the red zone")
    if count:
        shape = (count, FRACTAL_BYTES)
        src_step, dst_step = params.src_stride * FRACTAL_BYTES, (1 + params.dst_gap) * FRACTAL_BYTES
        fractals = read_view(src.arena.data, int(src_at[0]), shape, (src_step, 1))
        target = write_view(dst.arena.data, dst.addr, shape, (dst_step, 1))
        if fractals is None or target is None:
            raise EmulationError(f"{core.label}: LoadData reaches beyond the red zone")
        if params.if_transpose:  # each 16 x 16 fractal of halves lands transposed
            square = (count, FRACTAL_ROWS, FRACTAL_ROWS)
            halves = fractals.view(np.uint16).reshape(square)
            target.view(np.uint16).reshape(square)[...] = halves.transpose(0, 2, 1)
        else:
            target[...] = fractals
    flags = core.check_placement(dst, extent)
    if src.addr % src.arena.alignment:
        flags |= Flag.MISALIGNED
    nbytes = count * FRACTAL_BYTES
    duration = core.cost.onchip_copy(route, nbytes)
    start = core.issue("MTE1", duration, (src.key,), (dst.key,))
    core.recorder.copy(
        core.kind,
        core.index,
        Space.L1,
        src.addr,
        dst.space,
        dst.addr,
        nbytes,
        nbytes,
        FRACTAL_BYTES,
        count,
        "",
        core.tag if tag is None else tag,
        start,
        duration,
        int(flags),
        dst.name,
    )
