"""The vector (AIV) side of ``int4_gemm``: packed int4 tiles in, dequantized
fp16 tiles out to a GM workspace slot the cube core reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ubscope.kernels.gemm import int4_pack
from ubscope.kernels.gemm.plan import FRACTAL, Int4Plan, Tile
from ubscope.kernels.gemm.ub_buffers import DequantBuffers
from ubscope.probe.device import Core
from ubscope.probe.memory import vector
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.broadcast import broadcast_rows
from ubscope.probe.memory.buffers import Carved
from ubscope.probe.memory.datacopy import BLOCK, copy_rows
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.pools import align_up
from ubscope.probe.memory.tpipe import TPipe


@dataclass(frozen=True)
class _PackedTile:
    """Where a packed tile lies in GM and how it lands in UB."""

    gm_offset: int
    rows: int  # transfers' rows: weight rows (nd) or block rows (block16)
    row_bytes: int
    gm_pitch: int
    ub_pitch: int
    ub_cols: int  # fp16 columns after unpacking


def _packed_tile(plan: Int4Plan, tile: Tile) -> _PackedTile:
    if plan.layout == "block16":
        cols = align_up(tile.cols, FRACTAL)
        gm_pitch = align_up(plan.n, FRACTAL) * FRACTAL // 2
        offset = tile.k0 // FRACTAL * gm_pitch + tile.n0 * FRACTAL // 2
        row_bytes = cols * FRACTAL // 2
        return _PackedTile(offset, tile.rows_pad // FRACTAL, row_bytes, gm_pitch, row_bytes, cols)
    pitch = align_up(tile.cols // 2, BLOCK)
    return _PackedTile(
        tile.k0 * plan.n // 2 + tile.n0 // 2, tile.kt, tile.cols // 2, plan.n // 2, pitch, 2 * pitch
    )


def _unpacker(plan: Int4Plan, packed: _PackedTile) -> Callable[[np.ndarray], np.ndarray]:
    """The numpy body of the unpack vector op: bytes -> fp16 pairs (as uint32),
    reordered from blocks to rows for block16."""
    if plan.layout == "nd":
        return lambda data: int4_pack.FP16_PAIRS[data]
    blocks_per_row = packed.ub_cols // FRACTAL

    def from_blocks(data: np.ndarray) -> np.ndarray:
        values = int4_pack.FP16_PAIRS[data].view(np.float16)
        grid = values.reshape(packed.rows, blocks_per_row, FRACTAL, FRACTAL).transpose(0, 2, 1, 3)
        return np.ascontiguousarray(grid).reshape(-1).view(np.uint32)

    return from_blocks


def _scale_and_offset(plan: Int4Plan, params: Carved) -> tuple[LocalTensor, LocalTensor]:
    """The scale rows and, ``max_groups`` rows on, the offset rows of a params tile."""
    rows = params["params"]
    return rows, rows[plan.max_groups * plan.ub_cols :]


def _wait_flag(core: Core, pipe: str, ready_ps: int) -> None:
    """CrossCoreWaitFlag: ``pipe`` of ``core`` waits until another core signalled."""
    free = core.timeline.pipe_free
    free[pipe] = max(free[pipe], ready_ps)


class Dequantizer:
    """One AIV's share of a block: int4 tiles in, fp16 tiles out to the workspace."""

    def __init__(self, pipe: TPipe, plan: Int4Plan, gm: dict[str, GlobalTensor]) -> None:
        self.core, self.plan, self.gm = pipe.core, plan, gm
        self.buffers = DequantBuffers(pipe, plan)
        self.column_params: Carved | None = None

    def _load_params(self, tile: Tile, ub_cols: int) -> Carved:
        """Copy the scale and offset rows ``tile`` needs into UB: scale rows
        first, offset rows from ``max_groups`` rows on."""
        plan = self.plan
        first = tile.k0 // plan.group_size if plan.group_size else 0
        last = (tile.k0 + tile.kt - 1) // plan.group_size if plan.group_size else 0
        rows = last - first + 1
        params = self.buffers.take("params")
        scale_rows, offset_rows = _scale_and_offset(plan, params)
        with self.core.site("copy_scale"):
            for name, dst in (("scale", scale_rows), ("offset", offset_rows)):
                src = self.gm[name][first * plan.n + tile.n0 :]
                copy_rows(dst, src, rows, tile.cols * 2, plan.n * 2, ub_cols * 2, plan.tail_copy)
        return self.buffers.ready("params", params)

    def dequantize(self, tile: Tile, slot: GlobalTensor, slot_free_ps: int) -> None:
        """Dequantize ``tile`` into workspace ``slot`` (free from ``slot_free_ps`` on)."""
        plan, core, buffers = self.plan, self.core, self.buffers
        packed_tile = _packed_tile(plan, tile)
        cols = packed_tile.ub_cols
        packed = buffers.take("packed")
        with core.site("copy_w"):
            copy_rows(
                packed["packed"],
                self.gm["w"][packed_tile.gm_offset :],
                packed_tile.rows,
                packed_tile.row_bytes,
                packed_tile.gm_pitch,
                packed_tile.ub_pitch,
                plan.tail_copy,
            )
        packed = buffers.ready("packed", packed)
        group_of_row: np.ndarray | None
        if plan.group_size:
            params = self._load_params(tile, cols)
            rows_in_tile = np.arange(tile.k0, tile.k0 + tile.kt) // plan.group_size
            group_of_row = rows_in_tile - tile.k0 // plan.group_size
        else:
            if self.column_params is None:
                self.column_params = self._load_params(tile, cols)
            params, group_of_row = self.column_params, None
        scale_rows, offset_rows = _scale_and_offset(plan, params)
        carved_out = buffers.take("dequant")
        out = carved_out["dequant"]
        with core.site("dequant"):
            vector.apply(
                "UnpackInt4",
                out.reinterpret(np.uint32),
                (packed["packed"],),
                packed_tile.rows * packed_tile.ub_pitch,
                _unpacker(plan, packed_tile),
                ops_per_element=2,
            )
            buffers.give("packed", packed)
            broadcast_rows("Add", np.add, out, out, offset_rows, tile.kt, cols, group_of_row)
            broadcast_rows("Mul", np.multiply, out, out, scale_rows, tile.kt, cols, group_of_row)
            if tile.rows_pad > tile.kt:  # UB garbage may be NaN, and 0 * NaN poisons y
                pad_rows = tile.rows_pad - tile.kt
                vector.duplicate(out[tile.kt * cols :], 0.0, pad_rows * cols)
        if plan.group_size:
            buffers.give("params", params)
        carved_out = buffers.ready("dequant", carved_out)
        _wait_flag(core, "MTE3", slot_free_ps)
        with core.site("copy_ws"):
            copy_rows(
                slot,
                carved_out["dequant"],
                tile.rows_pad,
                tile.cols * 2,
                cols * 2,
                tile.cols * 2,
                plan.tail_copy,
            )
        buffers.give("dequant", carved_out)
        buffers.end_round()

    def end_column(self) -> None:
        if self.column_params is not None:
            self.buffers.give("params", self.column_params)
            self.column_params = None
        self.buffers.end_column()

    def finish(self) -> None:
        self.buffers.finish()
