"""The dequantizer's UB tiles, from TPipe queues or from the article's bump pool."""

from __future__ import annotations

import numpy as np

from ubscope.kernels.gemm.plan import Int4Plan
from ubscope.probe.device import Core
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.pools import UBBufPool
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TPipe, TQue


def ub_tile_bytes(plan: Int4Plan) -> dict[str, int]:
    """Bytes of one UB buffer of each kind: packed int4 tile, scale+offset rows,
    dequantized fp16 tile."""
    return {
        "packed": plan.packed_tile_bytes,
        "params": 2 * plan.max_groups * plan.ub_cols * 2,
        "dequant": plan.tile_rows * plan.ub_cols * 2,
    }


class QueueBuffers:
    """UB tiles from TPipe queues: AllocTensor/EnQue/DeQue/FreeTensor."""

    def __init__(self, pipe: TPipe, plan: Int4Plan):
        self.queues = {
            "packed": TQue(TPosition.VECIN, name="w_int4_que"),
            "params": TQue(TPosition.VECIN, name="antiquant_que"),
            "dequant": TQue(TPosition.VECOUT, name="w_fp16_que"),
        }
        sizes = ub_tile_bytes(plan)
        with pipe.core.site("init"):
            for kind, que in self.queues.items():
                pipe.init_buffer(que, plan.buffers, sizes[kind])

    def take(self, kind: str, dtype: np.dtype | type) -> LocalTensor:
        return self.queues[kind].alloc_tensor(dtype)

    def ready(self, kind: str, tensor: LocalTensor) -> LocalTensor:
        que = self.queues[kind]
        que.enque(tensor)
        return que.deque()

    def give(self, kind: str, tensor: LocalTensor) -> None:
        self.queues[kind].free_tensor(tensor)

    def end_round(self) -> None:
        return None

    def end_column(self) -> None:
        return None

    def finish(self) -> None:
        return None


class BumpBuffers:
    """UB tiles from the article's UBBufPool: a bump pointer reset after every
    ``buffers`` rounds (so consecutive rounds ping-pong); per-channel scale and
    offset rows live in a second pool below it, reset per column tile. Neither
    checks capacity unless ``check_capacity`` is set."""

    def __init__(self, core: Core, plan: Int4Plan):
        self.plan = plan
        self.sizes = ub_tile_bytes(plan)
        per_column = 0 if plan.group_size else self.sizes["params"]
        check = plan.check_capacity
        self.column_pool = UBBufPool(core, "ub_param_pool", size=per_column, check_capacity=check)
        self.round_pool = UBBufPool(core, "ub_pool", check_capacity=check, base=per_column)
        self.rounds = 0

    def _pool(self, kind: str) -> UBBufPool:
        return (
            self.column_pool if kind == "params" and not self.plan.group_size else self.round_pool
        )

    def take(self, kind: str, dtype: np.dtype | type) -> LocalTensor:
        count = self.sizes[kind] // np.dtype(dtype).itemsize
        return self._pool(kind).allocate(count, dtype, f"{kind}_tile")

    def ready(self, kind: str, tensor: LocalTensor) -> LocalTensor:
        return tensor

    def give(self, kind: str, tensor: LocalTensor) -> None:
        return None

    def end_round(self) -> None:
        self.rounds += 1
        if self.rounds % self.plan.buffers == 0:
            self.round_pool.reset()

    def end_column(self) -> None:
        if self.column_pool.offset:
            self.column_pool.reset()

    def finish(self) -> None:
        if self.round_pool.offset:
            self.round_pool.reset()
