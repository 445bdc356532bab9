"""Small tiled kernels on the emulated device whose queues UB013 judges: tiles
copied in through a VECIN queue, or computed into a VECOUT queue and copied
out, through one block or two."""

from __future__ import annotations

import numpy as np

from ubscope.probe.kernel_api import F16, DataCopy, Muls, TBuf, TPipe, TPosition, TQue

TILE = 2048  # fp16 elements: 4 KiB a tile
TILES = 8


def tiles_and_queue(block, tensor: str, position: TPosition, queue: str, buffers: int):
    """A GM tensor of TILES tiles, a queue of ``buffers`` one-tile blocks at
    ``position`` and a one-tile work buffer on the block's AIV."""
    gm = block.device.gm.tensor(tensor, np.zeros(TILES * TILE, dtype=np.float16))
    pipe = TPipe(block.aiv)
    que, work = TQue(position, buffers, queue), TBuf(TPosition.VECCALC, "work")
    pipe.init_buffer(que, buffers, TILE * 2)
    pipe.init_buffer(work, 1, TILE * 2)
    return gm, que, work.get(F16)


def scaled_tiles(block, buffers: int, repeats: int) -> None:
    """TILES tiles copied in through a queue of ``buffers`` blocks, each scaled
    ``repeats`` times into a work buffer (one vector stage per tile)."""
    x, in_x, scaled = tiles_and_queue(block, "x", TPosition.VECIN, "in_x", buffers)
    for tile in range(TILES):
        tx = in_x.alloc_tensor(F16)
        DataCopy(tx, x[tile * TILE :], TILE)
        in_x.enque(tx)
        tx = in_x.deque()
        for _ in range(repeats):
            Muls(scaled, tx, 0.5, TILE)
        in_x.free_tensor(tx)


def drained_tiles(block, buffers: int, repeats: int) -> None:
    """TILES tiles each computed ``repeats`` times into a VECOUT queue of
    ``buffers`` blocks and copied out from it."""
    y, out, source = tiles_and_queue(block, "y", TPosition.VECOUT, "out", buffers)
    for tile in range(TILES):
        ty = out.alloc_tensor(F16)
        for _ in range(repeats):
            Muls(ty, source, 0.5, TILE)
        out.enque(ty)
        ty = out.deque()
        DataCopy(y[tile * TILE :], ty, TILE)
        out.free_tensor(ty)
