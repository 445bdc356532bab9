"""A device kernel body with a double-buffered input queue, for the unused
ping-pong buffer tests (UB011) in memory and streamed."""

from __future__ import annotations

import numpy as np

from ubscope.probe.memory.datacopy import data_copy
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TPipe, TQue

KIB = 1024


def ping_pong_loop(rounds: int, destroy: bool = False, tile_kib: int = 1):
    """A double-buffered input queue of ``tile_kib`` KiB tiles filled ``rounds``
    times (then the pipe destroyed, freeing its blocks, with ``destroy``)."""

    def body(block):
        core = block.aiv
        elements = tile_kib * KIB // 2
        src = block.device.gm.tensor(f"src{tile_kib}", np.zeros(elements, dtype=np.float16))
        pipe = TPipe(core)
        que = TQue(TPosition.VECIN, name=f"in_que{tile_kib if tile_kib > 1 else ''}")
        pipe.init_buffer(que, 2, tile_kib * KIB)
        for _ in range(rounds):
            tile = que.alloc_tensor(np.float16)
            data_copy(tile, src, elements)
            que.free_tensor(tile)
        if destroy:
            pipe.destroy()

    return body
