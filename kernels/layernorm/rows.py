"""The steps the LayerNorm kernels share: a core's TPipe and rows, row copies
GM <-> UB, the residual add and the normalisation of one fp32 row."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ubscope.kernels.layernorm.plan import PIPES
from ubscope.probe.device import Block, Core
from ubscope.probe.memory import vector
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.datacopy import BLOCK, CopyExtParams, data_copy, data_copy_pad
from ubscope.probe.memory.dtypes import F16, F32
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TBuf, TPipe, TQue


def copy_row(dst: LocalTensor | GlobalTensor, src: LocalTensor | GlobalTensor, hidden: int) -> None:
    """One fp16 row: DataCopy when it is whole 32 B blocks, DataCopyPad otherwise."""
    nbytes = hidden * F16.itemsize
    if nbytes % BLOCK:
        data_copy_pad(dst, src, CopyExtParams(1, nbytes))
    else:
        data_copy(dst, src, hidden)


@dataclass(frozen=True)
class RowBuffers:
    """A kernel's UB: fp16 row queues and fp32 row TBufs, by name."""

    queues: dict[str, TQue]
    floats: dict[str, TBuf]

    def row(self, name: str) -> LocalTensor:
        """The fp32 row of TBuf ``name``."""
        return self.floats[name].get(F32)


def _pipe(core: Core, kernel: str, buffers: int, hidden: int) -> RowBuffers:
    """The kernel's TPipe: ``buffers`` fp16 row blocks per queue, one fp32 row per TBuf."""
    queues, floats = PIPES[kernel]
    pipe = TPipe(core)
    bufs = RowBuffers({}, {})
    with core.site("init"):
        for name, position in queues:
            bufs.queues[name] = TQue(position, 1, name)
            pipe.init_buffer(bufs.queues[name], buffers, hidden * F16.itemsize)
        for name in floats:
            bufs.floats[name] = TBuf(TPosition.VECCALC, name)
            pipe.init_buffer(bufs.floats[name], 1, hidden * F32.itemsize)
    return bufs


def start(
    block: Block, kernel: str, rows: int, hidden: int, buffers: int
) -> tuple[Core, range, RowBuffers]:
    """The block's vector core, its share of the rows and, if it has any, its buffers."""
    core = block.aiv
    per_core = -(-rows // block.dim)
    mine = range(block.idx * per_core, min(rows, (block.idx + 1) * per_core))
    return core, mine, _pipe(core, kernel, buffers, hidden) if mine else RowBuffers({}, {})


def load_affine(
    core: Core,
    stage_que: TQue,
    ggamma: GlobalTensor,
    gbeta: GlobalTensor,
    gamma32: LocalTensor,
    beta32: LocalTensor,
    hidden: int,
) -> None:
    """gamma and beta to fp32, once per core, staged through a row queue block."""
    with core.site("load_affine"):
        for source, target in ((ggamma, gamma32), (gbeta, beta32)):
            stage = stage_que.alloc_tensor(F16)
            copy_row(stage, source, hidden)
            stage_que.enque(stage)
            stage = stage_que.deque()
            vector.cast(target, stage, hidden)
            stage_que.free_tensor(stage)


def load_row(core: Core, que: TQue, source: GlobalTensor, hidden: int) -> LocalTensor:
    with core.site("copyin"):
        row = que.alloc_tensor(F16)
        copy_row(row, source, hidden)
        que.enque(row)
    return que.deque()


def store_row(core: Core, que: TQue, row: LocalTensor, target: GlobalTensor, hidden: int) -> None:
    with core.site("copyout"):
        copy_row(target, row, hidden)
        que.free_tensor(row)


def normalize(
    core: Core,
    total: LocalTensor,
    centered: LocalTensor,
    normed: LocalTensor,
    tmp: LocalTensor,
    gamma32: LocalTensor,
    beta32: LocalTensor,
    hidden: int,
    eps: float,
) -> None:
    """``normed = (total - mean) * rstd * gamma + beta`` in fp32; in place when
    ``centered`` and ``normed`` are ``total``. ``tmp`` is a row of scratch."""
    with core.site("normalize"):
        vector.reduce_sum(tmp, total, hidden)
        mean = float(tmp.array[0]) / hidden
        vector.adds(centered, total, -mean, hidden)
        vector.mul(tmp, centered, centered, hidden)
        vector.reduce_sum(tmp, tmp, hidden)
        rstd = 1.0 / math.sqrt(float(tmp.array[0]) / hidden + eps)
        vector.muls(normed, centered, rstd, hidden)  # multiply by rstd, not divide
        vector.mul(normed, normed, gamma32, hidden)
        vector.add(normed, normed, beta32, hidden)


def add_residual(
    core: Core,
    total: LocalTensor,
    scratch: LocalTensor,
    x: LocalTensor,
    residual: LocalTensor,
    hidden: int,
) -> None:
    with core.site("residual_add"):
        vector.cast(total, x, hidden)
        vector.cast(scratch, residual, hidden)
        vector.add(total, total, scratch, hidden)
