"""The cube (AIC) side both GEMM kernels share: x and weight tiles brought
into L1 as NZ by Nd2Nz copies, K chunks loaded fractal by fractal into L0A (ZZ)
and L0B (ZN), fp32 accumulation in L0C (NZ), fixpipe to y."""

from __future__ import annotations

import numpy as np

from ubscope.kernels.gemm.l0_loads import MAX_REPEAT, in_bands
from ubscope.kernels.gemm.plan import FP16_BYTES, FRACTAL, GemmPlan, Tile
from ubscope.probe.device import Core
from ubscope.probe.memory import fractal
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.cube import fixpipe, mmad
from ubscope.probe.memory.fractal import LoadData2DParams, Nd2NzParams, data_copy_nd2nz, load_data
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TPipe, TQue


def _load_x(l1: LocalTensor, x: GlobalTensor, plan: GemmPlan, k_begin: int, k_end: int) -> None:
    """Copy x[:, k_begin:k_end] into L1 as NZ (Nd2Nz): column blocks of 16
    halves, each m padded to 16 rows; the last block's columns are zero-filled."""
    params = Nd2NzParams(plan.m, k_end - k_begin, plan.k, fractal.padded(plan.m))
    data_copy_nd2nz(l1, x[k_begin:], params)


def _load_grid(
    dst: LocalTensor,
    src: LocalTensor,
    rows: int,
    cols: int,
    first: int,
    row_stride: int,
    col_stride: int,
    transpose: bool = False,
) -> None:
    """LoadData a ``rows`` x ``cols`` grid of fractals into ``dst`` row-major
    (ZZ, or ZN with ``transpose``); fractal (r, c) is fractal ``first +
    r * row_stride + c * col_stride`` of ``src``. One LoadData per grid row or
    per grid column, whichever is fewer."""
    size = fractal.FRACTAL_BYTES // dst.dtype.itemsize
    if rows <= cols:
        for row in range(rows):
            params = LoadData2DParams(cols, first + row * row_stride, col_stride, 0, transpose)
            load_data(dst[row * cols * size :], src, params)
    else:
        for col in range(cols):
            params = LoadData2DParams(
                rows, first + col * col_stride, row_stride, cols - 1, transpose
            )
            load_data(dst[col * size :], src, params)


def _load_bands(dst: LocalTensor, w_l1: LocalTensor, first: int, bands: int, n_blocks: int) -> None:
    """LoadData ``bands`` 16-row bands of ``n_blocks`` fractals from band
    ``first`` of the weight tile into L0B, each fractal transposed: the bands
    are contiguous, so one LoadData per 255 fractals (its repeat limit)."""
    size = fractal.FRACTAL_BYTES // dst.dtype.itemsize
    total, start = bands * n_blocks, first * n_blocks
    for done in range(0, total, MAX_REPEAT):
        params = LoadData2DParams(min(MAX_REPEAT, total - done), start + done, 1, 0, True)
        load_data(dst[done * size :], w_l1, params)


class Matmul:
    """The cube core of a block: x and weight tiles in L1, L0 chunks, fp32 L0C."""

    def __init__(
        self, core: Core, plan: GemmPlan, gm: dict[str, GlobalTensor], pipe: TPipe
    ) -> None:
        self.core, self.plan, self.gm = core, plan, gm
        self.x_que = TQue(TPosition.A1, name="x_l1_que")
        self.w_que = TQue(TPosition.B1, name="w_l1_que")
        self.a_que = TQue(TPosition.A2, name="x_l0a_que")
        self.b_que = TQue(TPosition.B2, name="w_l0b_que")
        self.c_que = TQue(TPosition.CO1, name="y_l0c_que")
        m, buffers, half = plan.m, plan.buffers, FP16_BYTES
        x_rows = plan.k if plan.x_resident else plan.tile_rows
        with core.site("init"):
            pipe.init_buffer(
                self.x_que, 1 if plan.x_resident else buffers, fractal.nz_bytes(m, x_rows, half)
            )
            pipe.init_buffer(
                self.w_que, buffers, fractal.nz_bytes(plan.tile_rows, plan.tile_cols, half)
            )
            pipe.init_buffer(self.a_que, buffers, fractal.nz_bytes(m, plan.l0_k, half))
            pipe.init_buffer(self.b_que, buffers, fractal.zn_bytes(plan.l0_k, plan.tile_cols, half))
            pipe.init_buffer(self.c_que, buffers, fractal.l0c_bytes(m, plan.tile_cols))
        self.x_l1: LocalTensor | None = None
        self.l0c: LocalTensor | None = None
        self.accumulated = False
        self.loaded: list[LocalTensor] = []  # weight tiles in L1, oldest first

    def begin_column(self) -> None:
        self.l0c = self.c_que.alloc_tensor(np.float32)
        self.accumulated = False

    def _x_tile(self, tile: Tile) -> tuple[LocalTensor, int]:
        """x in L1 for ``tile`` and the index of the tile's first K block in it."""
        plan = self.plan
        if plan.x_resident:
            if self.x_l1 is None:
                x_l1 = self.x_que.alloc_tensor(np.float16)
                with self.core.site("copy_x"):
                    _load_x(x_l1, self.gm["x"], plan, 0, plan.k)
                self.x_que.enque(x_l1)
                self.x_l1 = self.x_que.deque()
            return self.x_l1, tile.k0 // FRACTAL
        x_l1 = self.x_que.alloc_tensor(np.float16)
        with self.core.site("copy_x"):
            _load_x(x_l1, self.gm["x"], plan, tile.k0, tile.k0 + tile.kt)
        self.x_que.enque(x_l1)
        return self.x_que.deque(), 0

    def load_weights(self, tile: Tile, slot: GlobalTensor | None = None) -> int:
        """Start copying ``tile``'s weights into L1 (``slot``: the workspace
        slot holding the dequantized tile; None: fp16 weights straight from
        GM). Loading the next tile before accumulating the current one lets
        the copy overlap the current tile's L0 loads and Mmads, as a kernel
        that issues its next CopyIn first does. Returns when the copy is done
        with ``slot`` (it may be written again)."""
        self.loaded.append(self._weight_tile(tile, slot))
        return self.core.timeline.pipe_free["MTE2"]

    def _weight_tile(self, tile: Tile, slot: GlobalTensor | None) -> LocalTensor:
        """The weight tile in L1 (see :func:`in_bands`): bands of 16 K rows
        (``ndNum`` NZ matrices of 16 rows in one Nd2Nz copy) or one NZ matrix."""
        plan = self.plan
        w_l1 = self.w_que.alloc_tensor(np.float16)
        if slot is not None:  # the dequantized tile, rows_pad x cols
            source, pitch, rows, site = slot, tile.cols, tile.rows_pad, "copy_w_l1"
        else:  # fp16 weights: K is whole fractals, so every band is 16 rows of w
            source, pitch, rows = self.gm["w"][tile.k0 * plan.n + tile.n0 :], plan.n, tile.kt
            site = "copy_w"
        if in_bands(plan.weight_pitch):  # pitch is no larger
            params = Nd2NzParams(
                FRACTAL,
                tile.cols,
                pitch,
                FRACTAL,
                nd_num=tile.rows_pad // FRACTAL,
                src_nd_matrix_stride=FRACTAL * pitch,
                dst_nz_matrix_stride=FRACTAL * fractal.padded(tile.cols),
            )
        else:
            params = Nd2NzParams(rows, tile.cols, pitch, tile.rows_pad)
        with self.core.site(site):
            data_copy_nd2nz(w_l1, source, params)
        self.w_que.enque(w_l1)
        return self.w_que.deque()

    def accumulate(self, tile: Tile) -> None:
        """``l0c += x[:, tile rows] @ w[tile]``, the weights from the oldest
        tile :meth:`load_weights` brought into L1."""
        plan, core, m = self.plan, self.core, self.plan.m
        if self.l0c is None or not self.loaded:
            raise RuntimeError("Matmul.accumulate before begin_column or load_weights")
        w_l1 = self.loaded.pop(0)
        x_l1, first_block = self._x_tile(tile)
        m_blocks = fractal.padded(m) // FRACTAL
        n_blocks = fractal.padded(tile.cols) // FRACTAL
        tile_blocks = tile.rows_pad // FRACTAL
        for k_off in range(0, tile.kt, plan.l0_k):
            rows = fractal.padded(min(plan.l0_k, tile.kt - k_off))
            k_block, k_blocks = k_off // FRACTAL, rows // FRACTAL
            a, b = self.a_que.alloc_tensor(np.float16), self.b_que.alloc_tensor(np.float16)
            with core.site("load_l0"):
                # x (NZ: K blocks of m_blocks fractals) -> L0A (ZZ)
                first = (first_block + k_block) * m_blocks
                _load_grid(a, x_l1, m_blocks, k_blocks, first, 1, m_blocks)
                # w -> L0B (ZN), each fractal transposed
                if in_bands(plan.weight_pitch):
                    _load_bands(b, w_l1, k_block, k_blocks, n_blocks)
                else:  # NZ: N blocks of tile_blocks fractals
                    _load_grid(b, w_l1, k_blocks, n_blocks, k_block, 1, tile_blocks, True)
            self.a_que.enque(a)
            self.b_que.enque(b)
            a, b = self.a_que.deque(), self.b_que.deque()
            with core.site("mmad"):
                mmad(self.l0c, a, b, m, rows, tile.cols, accumulate=self.accumulated)
            self.accumulated = True
            self.a_que.free_tensor(a)
            self.b_que.free_tensor(b)
        self.w_que.free_tensor(w_l1)
        if not plan.x_resident:
            self.x_que.free_tensor(x_l1)

    def end_column(self, tile: Tile) -> None:
        if self.l0c is None:
            raise RuntimeError("Matmul.end_column before begin_column")
        with self.core.site("copy_out"):
            fixpipe(self.gm["y"][tile.n0 :], self.l0c, self.plan.m, tile.cols, self.plan.n)
        self.c_que.free_tensor(self.l0c)
        self.l0c = None

    def finish(self) -> None:
        if self.x_l1 is not None:
            self.x_que.free_tensor(self.x_l1)
            self.x_l1 = None
