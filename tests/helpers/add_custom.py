"""add_custom.cpp (the shared Ascend C sample 01_add_custom_neo) written against
ubscope.probe's Python memory model: the twin's events are compared with its."""

from __future__ import annotations

import numpy as np

from ubscope.probe.device import Block
from ubscope.probe.memory import vector
from ubscope.probe.memory.datacopy import data_copy
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TPipe, TQue


def python_add_custom(block: Block, x: GlobalTensor, y: GlobalTensor, z: GlobalTensor) -> None:
    """add_custom.cpp's algorithm: 2048 halves per block, 16 tiles of 128, double buffered."""
    core, tile, block_length = block.aiv, 128, 2048
    pipe = TPipe(core)
    qx, qy = TQue(TPosition.VECIN, 2, "inQueueX"), TQue(TPosition.VECIN, 2, "inQueueY")
    qz = TQue(TPosition.VECOUT, 2, "outQueueZ")
    for que in (qx, qy, qz):
        pipe.init_buffer(que, 2, tile * 2)
    base = block.idx * block_length
    for progress in range(16):
        a, b = qx.alloc_tensor(np.float16), qy.alloc_tensor(np.float16)
        data_copy(a, x[base + progress * tile :], tile)
        data_copy(b, y[base + progress * tile :], tile)
        qx.enque(a)
        qy.enque(b)
        a, b, c = qx.deque(), qy.deque(), qz.alloc_tensor(np.float16)
        vector.add(c, a, b, tile)
        qz.enque(c)
        qx.free_tensor(a)
        qy.free_tensor(b)
        c = qz.deque()
        data_copy(z[base + progress * tile :], c, tile)
        qz.free_tensor(c)
