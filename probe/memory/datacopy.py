"""DataCopy and DataCopyPad with Ascend C's semantics.

* ``data_copy`` moves whole 32 B DataBlocks: a contiguous length that is not a
  multiple of 32 B is rounded *down* and the tail silently dropped, as on the
  device ("若不对齐，搬运量将对32字节做向下取整"); the event is flagged TRUNCATED.
* ``data_copy_pad`` moves byte-exact lengths; on-chip rows start 32 B aligned.
* the on-chip start address must be 32 B aligned (512 B for L0A/L0B, 64 B for
  L0C); a misaligned one is flagged MISALIGNED (an illegal instruction on the
  device, performed here so the run can go on and be diagnosed).
* ``DataCopy`` with ``Nd2NzParams`` (GM ND -> L1 NZ) and ``LoadData`` are the
  cube's copies, in :mod:`.fractal`.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np

from ubscope.probe.errors import EmulationError
from ubscope.probe.events import Flag, Space
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.atomic import write_rows
from ubscope.probe.memory.copy_ranges import (
    CopyParam,
    data_copy_out_of_range,
    data_copy_pad_out_of_range,
)
from ubscope.probe.memory.fractal import Nd2NzParams, data_copy_nd2nz
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.strided import row_views, write_view

BLOCK = 32  # bytes in a DataBlock


@dataclass(frozen=True)
class CopyParams:
    """``DataCopyParams``: ``block_count`` blocks of ``block_len`` DataBlocks
    (32 B units) with gaps ``src_stride``/``dst_stride`` (also 32 B units)."""

    block_count: int
    block_len: int
    src_stride: int = 0
    dst_stride: int = 0


@dataclass(frozen=True)
class CopyExtParams:
    """``DataCopyExtParams`` for DataCopyPad: ``block_len`` in bytes; the GM-side
    gap in bytes, the on-chip-side gap in 32 B blocks."""

    block_count: int
    block_len: int
    src_stride: int = 0
    dst_stride: int = 0


@dataclass(frozen=True)
class PadParams:
    """``DataCopyPadExtParams``: elements padded left/right with ``value``."""

    left: int = 0
    right: int = 0
    value: float = 0.0


def _round_up(n: int, unit: int = BLOCK) -> int:
    return -(-n // unit) * unit


def _gm_key(tensor: GlobalTensor) -> tuple[str, str, int]:
    return ("GM", tensor.buffer.name, tensor.offset)


def _rows_index(start: int, rows: int, row_bytes: int, pitch: int) -> np.ndarray:
    """Byte indices of ``rows`` rows of ``row_bytes`` from ``start``, ``pitch`` apart."""
    return (start + np.arange(rows)[:, None] * pitch + np.arange(row_bytes)[None, :]).ravel()


def _last_byte(start: int, rows: int, row_bytes: int, pitch: int) -> int:
    """Index of the last byte of the last row."""
    return start + (rows - 1) * pitch + row_bytes - 1


def _gm_bounds(gm: GlobalTensor, rows: int, row_bytes: int, pitch: int) -> int:
    """OUT_OF_BOUNDS when the rows reach outside the GM buffer."""
    if rows <= 0 or row_bytes <= 0:  # nothing moves
        return 0
    past = _last_byte(gm.offset, rows, row_bytes, pitch) >= gm.buffer.data.size
    return int(Flag.OUT_OF_BOUNDS) if past or gm.offset < 0 else 0


def _check_local_rows(local: LocalTensor, rows: int, row_bytes: int, pitch: int) -> None:
    if rows <= 0 or row_bytes <= 0:
        return
    if _last_byte(local.addr, rows, row_bytes, pitch) >= local.arena.limit:
        raise EmulationError(
            f"{local.core.label} {local.space.name}: copy into '{local.name}' reaches beyond the red zone"
        )


def _move_rows(
    gm: GlobalTensor, local: LocalTensor, shape: tuple[int, int, int, int], into_local: bool
) -> None:
    """Rows between GM and the on-chip tensor (``shape``: rows, row bytes, GM
    pitch, on-chip pitch). Bytes past the GM buffer's end read as zero and are
    not written; rows that overlap are written in order, the later winning.
    Under the core's atomic mode rows combine with GM instead (:mod:`.atomic`)."""
    rows, row_bytes, gm_pitch, local_pitch = shape
    data, arena = gm.buffer.data, local.arena.data
    mode = local.core.atomic
    if not into_local and mode is not None:
        index = _rows_index(local.addr, rows, row_bytes, local_pitch)
        outgoing = arena[index].reshape(rows, row_bytes)
        write_rows(
            mode, data, gm.offset, outgoing, gm_pitch, f"{local.core.label} copy to '{gm.name}'"
        )
        return
    if into_local:
        views = row_views(
            arena, local.addr, local_pitch, data, gm.offset, gm_pitch, rows, row_bytes
        )
    else:
        views = row_views(
            data, gm.offset, gm_pitch, arena, local.addr, local_pitch, rows, row_bytes
        )
    if views is not None:
        views[0][...] = views[1]
        return
    gm_index = _rows_index(gm.offset, rows, row_bytes, gm_pitch)
    local_index = _rows_index(local.addr, rows, row_bytes, local_pitch)
    valid = gm_index < data.size
    if into_local:
        chunk = np.zeros(gm_index.size, dtype=np.uint8)
        chunk[valid] = data[gm_index[valid]]
        arena[local_index] = chunk
    else:
        data[gm_index[valid]] = arena[local_index[valid]]


def _gm_flags(gm: GlobalTensor) -> int:
    flags = Flag.WORKSPACE if gm.buffer.workspace else 0
    if gm.addr % 512:
        flags |= Flag.GM_UNALIGNED
    return int(flags)


def _transfer(
    dst: LocalTensor | GlobalTensor,
    src: LocalTensor | GlobalTensor,
    rows: int,
    row_bytes: int,
    src_pitch: int,
    dst_pitch: int,
    size: int,
    padded: bool,
    tag: str | None,
    pad: tuple[int, int, np.ndarray] | None = None,
    out_of_range: CopyParam = CopyParam.NONE,
) -> None:
    """Move ``rows`` x ``row_bytes`` between GM and an on-chip tensor and record
    it; ``out_of_range``: the call's parameters outside the device's range."""
    local = dst if isinstance(dst, LocalTensor) else src
    gm = src if isinstance(src, GlobalTensor) else dst
    if not isinstance(local, LocalTensor) or not isinstance(gm, GlobalTensor):
        raise EmulationError("data_copy moves between a GlobalTensor and a LocalTensor")
    core = local.core
    moved = rows * row_bytes
    flags = _gm_flags(gm) | (Flag.PADDED if padded else 0)
    if moved != size:
        flags |= Flag.TRUNCATED
    gm_pitch = src_pitch if gm is src else dst_pitch
    local_pitch = dst_pitch if local is dst else src_pitch
    flags |= _gm_bounds(gm, rows, row_bytes, gm_pitch)
    _check_local_rows(local, rows, row_bytes, local_pitch)
    shape = (rows, row_bytes, gm_pitch, local_pitch)
    if src is gm:
        _move_rows(gm, local, shape, into_local=True)
        if pad is not None:
            _apply_pad(local, rows, row_bytes, dst_pitch, *pad)
        flags |= core.check_placement(local, (rows - 1) * dst_pitch + row_bytes if rows else 0)
        pipe, src_space, dst_space = "MTE2", Space.GM, local.space
        reads: tuple[Hashable, ...] = (_gm_key(gm),)
        writes: tuple[Hashable, ...] = (local.key,)
    else:
        if local.addr % local.arena.alignment:
            flags |= Flag.MISALIGNED
        _move_rows(gm, local, shape, into_local=False)
        if core.atomic is not None:
            flags |= Flag.ATOMIC
        pipe, src_space, dst_space = "MTE3", local.space, Space.GM
        reads, writes = (local.key,), (_gm_key(gm),)
    duration = core.cost.gm_copy(gm, rows, row_bytes, gm_pitch, write=gm is dst)
    start = core.issue(pipe, duration, reads, writes, core.cost.gm_latency_ps)
    core.recorder.copy(
        core.kind,
        core.index,
        src_space,
        src.addr,
        dst_space,
        dst.addr,
        size,
        moved,
        row_bytes,
        rows,
        gm.name,
        core.tag if tag is None else tag,
        start,
        duration,
        int(flags | (Flag.PARAM_RANGE if out_of_range else 0)),
        local.name,
        int(out_of_range),
    )


def _apply_pad(
    local: LocalTensor,
    rows: int,
    row_bytes: int,
    pitch: int,
    left: int,
    right: int,
    value: np.ndarray,
) -> None:
    """Fill each row's right padding up to its 32 B boundary with ``value``."""
    item = local.dtype.itemsize
    fill_bytes = _round_up(row_bytes) - row_bytes
    if right * item > 0 or fill_bytes:
        pad_elems = max(right, fill_bytes // item)
        pattern = np.full(pad_elems, value, dtype=local.dtype).view(np.uint8)
        shape, strides = (rows, pattern.size), (pitch, 1)
        pads = write_view(local.arena.data, local.addr + row_bytes, shape, strides)
        if pads is not None:
            pads[...] = pattern
        else:  # rows that overlap or run off the arena: one at a time, in order
            for row in range(rows):
                begin = local.addr + row * pitch + row_bytes
                local.arena.data[begin : begin + pattern.size] = pattern
    if left:
        raise EmulationError("left padding is not modelled; pass the data already offset")


def data_copy(
    dst: LocalTensor | GlobalTensor,
    src: LocalTensor | GlobalTensor,
    count: int | None = None,
    params: CopyParams | Nd2NzParams | None = None,
    tag: str | None = None,
) -> None:
    """``DataCopy(dst, src, count)`` or ``DataCopy(dst, src, params)`` between GM
    and UB/L1. A contiguous length not a multiple of 32 B loses its tail.
    With :class:`Nd2NzParams`, GM (ND) -> L1 (NZ): :func:`.fractal.data_copy_nd2nz`."""
    if isinstance(params, Nd2NzParams):
        if count is not None or not isinstance(dst, LocalTensor):
            raise EmulationError("DataCopy with Nd2NzParams moves a GlobalTensor into L1")
        if not isinstance(src, GlobalTensor):
            raise EmulationError("DataCopy with Nd2NzParams moves a GlobalTensor into L1")
        data_copy_nd2nz(dst, src, params, tag)
        return
    if params is not None and count is None:
        block_bytes = params.block_len * BLOCK
        src_pitch = block_bytes + params.src_stride * BLOCK
        dst_pitch = block_bytes + params.dst_stride * BLOCK
        size = params.block_count * block_bytes
        bad = data_copy_out_of_range(
            params.block_count, params.block_len, params.src_stride, params.dst_stride
        )
        _transfer(
            dst,
            src,
            params.block_count,
            block_bytes,
            src_pitch,
            dst_pitch,
            size,
            False,
            tag,
            out_of_range=bad,
        )
        return
    if count is None or params is not None:
        raise EmulationError("data_copy takes either count or params")
    size = int(count) * src.dtype.itemsize
    moved = size - size % BLOCK
    rows = 1 if moved else 0
    _transfer(dst, src, rows, moved, moved, moved, size, False, tag)


def data_copy_pad(
    dst: LocalTensor | GlobalTensor,
    src: LocalTensor | GlobalTensor,
    params: CopyExtParams,
    pad: PadParams | None = None,
    tag: str | None = None,
) -> None:
    """``DataCopyPad``: byte-exact rows; each on-chip row starts on a 32 B
    boundary (rows of ``round_up(block_len, 32)`` plus the on-chip gap)."""
    row = params.block_len
    onchip_pitch = _round_up(row) + params.dst_stride * BLOCK
    if isinstance(dst, LocalTensor):
        src_pitch, dst_pitch = row + params.src_stride, onchip_pitch
        pad_spec = None
        if pad is not None:
            pad_spec = (pad.left, pad.right, np.asarray(pad.value, dtype=dst.dtype))
    else:
        src_pitch = _round_up(row) + params.src_stride * BLOCK
        dst_pitch = row + params.dst_stride
        pad_spec = None
    size = params.block_count * row
    left, right = (pad.left, pad.right) if pad is not None else (0, 0)
    bad = data_copy_pad_out_of_range(
        params.block_count,
        row,
        params.src_stride,
        params.dst_stride,
        src.dtype.itemsize,
        isinstance(dst, LocalTensor),
        left,
        right,
    )
    _transfer(
        dst, src, params.block_count, row, src_pitch, dst_pitch, size, True, tag, pad_spec, bad
    )


def _at(tensor: LocalTensor | GlobalTensor, byte_offset: int) -> LocalTensor | GlobalTensor:
    """The tensor from ``byte_offset`` on (offsets are whole elements)."""
    return tensor[byte_offset // tensor.dtype.itemsize :]


def copy_rows(
    dst: LocalTensor | GlobalTensor,
    src: LocalTensor | GlobalTensor,
    rows: int,
    row_bytes: int,
    src_pitch: int,
    dst_pitch: int,
    tail_copy: str = "pad",
) -> None:
    """Move ``rows`` rows of ``row_bytes`` between GM and on-chip memory (pitches
    in bytes) as a kernel would: DataCopy when everything is whole 32 B blocks;
    otherwise DataCopyPad (``pad``, zero-filling on-chip rows to 32 B) or, the
    naive way (``datacopy``), one DataCopy per row, which drops each row's tail."""
    src_gap, dst_gap = src_pitch - row_bytes, dst_pitch - row_bytes
    if not (row_bytes % BLOCK or src_gap % BLOCK or dst_gap % BLOCK):
        if src_gap == dst_gap == 0:
            data_copy(dst, src, rows * row_bytes // src.dtype.itemsize)
        else:
            data_copy(
                dst,
                src,
                params=CopyParams(rows, row_bytes // BLOCK, src_gap // BLOCK, dst_gap // BLOCK),
            )
    elif tail_copy == "pad":
        padded = _round_up(row_bytes)
        if isinstance(dst, LocalTensor):
            ext = CopyExtParams(rows, row_bytes, src_gap, (dst_pitch - padded) // BLOCK)
            data_copy_pad(dst, src, ext, PadParams(value=0.0))
        else:
            data_copy_pad(
                dst, src, CopyExtParams(rows, row_bytes, (src_pitch - padded) // BLOCK, dst_gap)
            )
    else:
        count = row_bytes // src.dtype.itemsize
        for row in range(rows):
            data_copy(_at(dst, row * dst_pitch), _at(src, row * src_pitch), count)
