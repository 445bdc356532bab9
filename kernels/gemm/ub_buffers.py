"""The dequantizer's UB tiles over the shared UB buffer backends: TPipe
queues, or the article's bump pool reset every ``buffers`` rounds."""

from __future__ import annotations

import numpy as np

from ubscope.kernels.gemm.plan import Int4Plan
from ubscope.probe.memory.buffers import BumpBuffers, Carved, Group, QueueBuffers
from ubscope.probe.memory.dtypes import F16, U8
from ubscope.probe.memory.pools import UBBufPool
from ubscope.probe.memory.tpipe import TPipe

# Each tile kind: its element type, queue kind, and its name in each backend.
_KINDS: dict[str, tuple[np.dtype, str, str, str]] = {
    "packed": (U8, "in", "w_int4_que", "packed_tile"),  # packed int4 tile
    "params": (F16, "in", "antiquant_que", "params_tile"),  # scale rows, then offset rows
    "dequant": (F16, "out", "w_fp16_que", "dequant_tile"),  # dequantized fp16 tile
}


def _groups(plan: Int4Plan, pool: str) -> dict[str, Group]:
    """One single-part group per tile kind, sized for a full tile."""
    nbytes = {
        "packed": plan.packed_tile_bytes,
        "params": 2 * plan.max_groups * plan.ub_cols * 2,
        "dequant": plan.tile_rows * plan.ub_cols * 2,
    }
    groups = {}
    for kind, (dtype, queue, queue_name, pool_name) in _KINDS.items():
        name = queue_name if pool == "tpipe" else pool_name
        groups[kind] = Group(name, queue, ((kind, dtype, nbytes[kind] // dtype.itemsize),))
    return groups


class DequantBuffers:
    """UB tiles by kind. Over TPipe queues (``pool=tpipe``): AllocTensor/EnQue/
    DeQue/FreeTensor. Over bump pools (``pool=bump``): one pool reset after
    every ``buffers`` rounds (so consecutive rounds ping-pong) and, per channel,
    the scale/offset rows in a second pool below it, reset per column tile;
    neither checks capacity unless ``check_capacity`` is set."""

    def __init__(self, pipe: TPipe, plan: Int4Plan):
        core = pipe.core
        self.plan = plan
        self.groups = _groups(plan, plan.pool)
        self.rounds = 0
        self.round_pool: BumpBuffers | None = None
        self.column_pool: BumpBuffers | None = None
        if plan.pool == "tpipe":
            with core.site("init"):
                queues = QueueBuffers(pipe, tuple(self.groups.values()), plan.buffers)
            self.tiles: QueueBuffers | BumpBuffers = queues
            self.column_tiles: QueueBuffers | BumpBuffers = queues
            return
        per_column = 0 if plan.group_size else self.groups["params"].nbytes
        check = plan.check_capacity
        column = UBBufPool(core, "ub_param_pool", size=per_column, check_capacity=check)
        self.column_pool = BumpBuffers(column)
        self.round_pool = BumpBuffers(
            UBBufPool(core, "ub_pool", check_capacity=check, base=per_column)
        )
        self.tiles = self.round_pool
        self.column_tiles = self.round_pool if plan.group_size else self.column_pool

    def _backend(self, kind: str) -> QueueBuffers | BumpBuffers:
        return self.column_tiles if kind == "params" else self.tiles

    def take(self, kind: str) -> Carved:
        return self._backend(kind).take(self.groups[kind])

    def ready(self, kind: str, carved: Carved) -> Carved:
        return self._backend(kind).ready(carved)

    def give(self, kind: str, carved: Carved) -> None:
        self._backend(kind).give(carved)

    def end_round(self) -> None:
        self.rounds += 1
        if self.round_pool is not None and self.rounds % self.plan.buffers == 0:
            self.round_pool.reset()

    def end_column(self) -> None:
        if self.column_pool is not None and self.column_pool.pool.offset:
            self.column_pool.reset()

    def finish(self) -> None:
        if self.round_pool is not None and self.round_pool.pool.offset:
            self.round_pool.reset()
