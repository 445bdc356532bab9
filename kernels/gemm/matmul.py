"""The cube (AIC) side both GEMM kernels share: x and weight tiles in L1, L0
chunks, fp32 accumulation in L0C, fixpipe to y."""

from __future__ import annotations

import numpy as np

from ubscope.kernels.gemm.plan import FRACTAL, GemmPlan, Tile
from ubscope.probe.device import Core
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.cube import fixpipe, mmad
from ubscope.probe.memory.datacopy import copy_rows, data_copy, load_data
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.pools import align_up
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TPipe, TQue


def _load_x(l1: LocalTensor, x: GlobalTensor, plan: GemmPlan, k_begin: int, k_end: int) -> None:
    """Copy x[:, k_begin:k_end] into L1 chunk-blocked, [chunk][m][l0_k], so that
    every L0A load is contiguous; the last chunk is zero-padded to 16 columns.
    Uses one strided transfer per row of x or per chunk, whichever is fewer."""
    m, k, chunk = plan.m, plan.k, plan.l0_k
    full, tail = divmod(k_end - k_begin, chunk)
    row_bytes = chunk * 2
    if full and m <= full:
        for row in range(m):
            copy_rows(
                l1[row * chunk :],
                x[row * k + k_begin :],
                full,
                row_bytes,
                row_bytes,
                m * row_bytes,
                plan.tail_copy,
            )
    else:
        for index in range(full):
            copy_rows(
                l1[index * m * chunk :],
                x[k_begin + index * chunk :],
                m,
                row_bytes,
                k * 2,
                row_bytes,
                plan.tail_copy,
            )
    if tail:
        copy_rows(
            l1[full * m * chunk :],
            x[k_begin + full * chunk :],
            m,
            tail * 2,
            k * 2,
            align_up(tail, FRACTAL) * 2,
            plan.tail_copy,
        )


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
        m, buffers = plan.m, plan.buffers
        x_bytes = m * align_up(plan.k, FRACTAL) * 2 if plan.x_resident else m * plan.tile_rows * 2
        with core.site("init"):
            pipe.init_buffer(self.x_que, 1 if plan.x_resident else buffers, x_bytes)
            pipe.init_buffer(self.w_que, buffers, plan.tile_rows * plan.tile_cols * 2)
            pipe.init_buffer(self.a_que, buffers, m * plan.l0_k * 2)
            pipe.init_buffer(self.b_que, buffers, plan.l0_k * plan.tile_cols * 2)
            pipe.init_buffer(self.c_que, buffers, m * plan.tile_cols * 4)
        self.x_l1: LocalTensor | None = None
        self.l0c: LocalTensor | None = None
        self.accumulated = False

    def begin_column(self) -> None:
        self.l0c = self.c_que.alloc_tensor(np.float32)
        self.accumulated = False

    def _x_tile(self, tile: Tile) -> tuple[LocalTensor, int]:
        """x in L1 for ``tile`` and the index of the tile's first chunk in it."""
        plan = self.plan
        if plan.x_resident:
            if self.x_l1 is None:
                x_l1 = self.x_que.alloc_tensor(np.float16)
                with self.core.site("copy_x"):
                    _load_x(x_l1, self.gm["x"], plan, 0, plan.k)
                self.x_que.enque(x_l1)
                self.x_l1 = self.x_que.deque()
            return self.x_l1, tile.k0 // plan.l0_k
        x_l1 = self.x_que.alloc_tensor(np.float16)
        with self.core.site("copy_x"):
            _load_x(x_l1, self.gm["x"], plan, tile.k0, tile.k0 + tile.kt)
        self.x_que.enque(x_l1)
        return self.x_que.deque(), 0

    def _weight_tile(self, tile: Tile, slot: GlobalTensor | None) -> LocalTensor:
        plan = self.plan
        w_l1 = self.w_que.alloc_tensor(np.float16)
        if slot is not None:
            with self.core.site("copy_w_l1"):
                data_copy(w_l1, slot, tile.rows_pad * tile.cols)
        else:
            with self.core.site("copy_w"):
                copy_rows(
                    w_l1,
                    self.gm["w"][tile.k0 * plan.n + tile.n0 :],
                    tile.kt,
                    tile.cols * 2,
                    plan.n * 2,
                    tile.cols * 2,
                    plan.tail_copy,
                )
        self.w_que.enque(w_l1)
        return self.w_que.deque()

    def accumulate(self, tile: Tile, slot: GlobalTensor | None = None) -> int:
        """``l0c += x[:, tile rows] @ w[tile]``; ``slot`` is the workspace slot
        holding the dequantized tile (None: fp16 weights straight from GM).
        Returns when the weight tile's copy-in finished (the slot is free again)."""
        plan, core, m = self.plan, self.core, self.plan.m
        if self.l0c is None:
            raise RuntimeError("Matmul.accumulate before begin_column")
        w_l1 = self._weight_tile(tile, slot)
        slot_free_ps = core.timeline.pipe_free["MTE2"]
        x_l1, first_chunk = self._x_tile(tile)
        for chunk, k_off in enumerate(range(0, tile.kt, plan.l0_k)):
            rows = align_up(min(plan.l0_k, tile.kt - k_off), FRACTAL)
            a, b = self.a_que.alloc_tensor(np.float16), self.b_que.alloc_tensor(np.float16)
            with core.site("load_l0"):
                load_data(a, x_l1[(first_chunk + chunk) * m * plan.l0_k :], m * rows)
                load_data(b, w_l1[k_off * tile.cols :], rows * tile.cols)
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
        return slot_free_ps

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
