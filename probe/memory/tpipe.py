"""The Ascend C memory model: ``TPipe``, ``TQue`` and ``TBuf``.

``InitBuffer(que, num, len)`` bump-allocates ``num`` blocks of ``len`` bytes
in the queue position's physical space, each rounded up to 32 B whatever the
space, as Ascend C does: a length that is no multiple of the space's own
alignment (512 B on L0A/L0B) leaves the blocks after the first misaligned.
Nothing is freed until ``Reset()`` or the end of the kernel. Queues hand their
blocks out with ``alloc_tensor``/``free_tensor`` and pass them with
``enque``/``deque``. The chip's limits are recorded, not enforced, as on the
device: more than ``que_max_event`` buffers on one position (which hangs a
real NPU) or more than 64 buffers on one pipe. Capacity is checked only with ``check_capacity`` (as
under ``ASCENDC_CPU_DEBUG``); otherwise an over-allocation runs into the red zone.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ubscope.probe.device import Core
from ubscope.probe.errors import EmulationError, ParameterError
from ubscope.probe.events import Flag, Space
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.pools import align_up
from ubscope.probe.memory.positions import POSITION_SPACE, TPosition

# InitBuffer rounds every block length up to 32 B, whatever the position
# (kernel_tpipe_impl.h: len = (len + 31) / 32 * 32).
INIT_BUFFER_ROUNDING = 32


class TQue:
    """``TQue<pos, depth>``: a ring of ``num`` equal blocks set up by ``InitBuffer``."""

    def __init__(self, position: TPosition, depth: int = 1, name: str = "que"):
        self.position = position
        self.depth = depth
        self.name = name
        self.blocks: list[tuple[int, int]] = []  # (addr, bytes)
        self.space = POSITION_SPACE[position]
        self._core: Core | None = None
        self._free: deque[int] = deque()
        self._queued: deque[LocalTensor] = deque()

    def alloc_tensor(self, dtype: np.dtype | type) -> LocalTensor:
        """``AllocTensor<T>()``: the next free block as a tensor of ``dtype``."""
        if self._core is None:
            raise EmulationError(f"queue '{self.name}' used before InitBuffer")
        if not self._free:
            raise EmulationError(
                f"{self._core.label} queue '{self.name}': AllocTensor with all {len(self.blocks)} "
                "blocks in use (FreeTensor missing; this hangs on the device)"
            )
        index = self._free.popleft()
        addr, nbytes = self.blocks[index]
        key = (self.space, addr)
        self._core.acquire(key)
        return self._core.arena(self.space).tensor(addr, nbytes, np.dtype(dtype), key, self.name)

    def free_tensor(self, tensor: LocalTensor) -> None:
        """``FreeTensor``: hand the block back to the queue."""
        for index, (addr, _) in enumerate(self.blocks):
            if addr == tensor.addr and index not in self._free:
                self._free.append(index)
                return
        raise EmulationError(f"queue '{self.name}': FreeTensor of a tensor it does not own")

    def enque(self, tensor: LocalTensor) -> None:
        if len(self._queued) >= max(1, self.depth) + len(self.blocks):
            raise EmulationError(f"queue '{self.name}': EnQue beyond its depth")
        self._queued.append(tensor)

    def deque(self) -> LocalTensor:
        if not self._queued:
            raise EmulationError(f"queue '{self.name}': DeQue on an empty queue (unpaired EnQue)")
        return self._queued.popleft()


class TBuf(TQue):
    """``TBuf<pos>``: one temporary block; ``get`` returns it (no queueing)."""

    def __init__(self, position: TPosition = TPosition.VECCALC, name: str = "tbuf"):
        super().__init__(position, 0, name)

    def get(self, dtype: np.dtype | type, count: int | None = None) -> LocalTensor:
        """``Get<T>()``: the whole buffer (or its first ``count`` elements) as ``dtype``."""
        if self._core is None:
            raise EmulationError(f"buffer '{self.name}' used before InitBuffer")
        addr, nbytes = self.blocks[0]
        dtype = np.dtype(dtype)
        if count is not None:
            nbytes = min(nbytes, count * dtype.itemsize)
        return self._core.arena(self.space).tensor(
            addr, nbytes, dtype, (self.space, addr), self.name
        )


class TPipe:
    """``TPipe``: owns a core's queue memory, one bump pointer per physical space."""

    def __init__(self, core: Core, check_capacity: bool = False, name: str = "pipe"):
        self.core = core
        self.check_capacity = check_capacity
        self.name = name
        self.next_addr: dict[Space, int] = {}
        self.buffers_total = 0
        self.buffers_per_position: dict[TPosition, int] = {}
        self.queues: list[TQue] = []
        core.on_block_end(self.destroy)

    def init_buffer(self, que: TQue, num: int, length: int) -> None:
        """``InitBuffer(que, num, len)``: ``num`` blocks of ``len`` bytes (32 B rounded)."""
        core, chip = self.core, self.core.device.chip
        if not 1 <= num <= chip.qbuf_max_len:
            raise ParameterError(
                f"InitBuffer '{que.name}': num={num} outside 1..{chip.qbuf_max_len}"
            )
        arena = core.arena(que.space)
        block = align_up(length, INIT_BUFFER_ROUNDING)
        start = self.next_addr.get(que.space, 0)
        end = start + num * block
        if self.check_capacity and end > arena.capacity:
            raise ParameterError(
                f"{core.label} {que.space.name}: InitBuffer '{que.name}' needs bytes up to {end} "
                f"but {chip.name} has {arena.capacity} B of {que.space.name} per core"
            )
        self.buffers_total += num
        flags = Flag.NONE
        if isinstance(que, TBuf):
            # a TBuf synchronises through no queue, so it takes no event ID
            flags |= Flag.TBUF
        else:
            per_position = self.buffers_per_position.get(que.position, 0) + num
            self.buffers_per_position[que.position] = per_position
            if que.space is not Space.GM and per_position > chip.que_max_event:
                flags |= Flag.QUEUE_LIMIT
        if self.buffers_total > chip.qbuf_max_len:
            flags |= Flag.PIPE_LIMIT
        now = core.now()
        core.recorder.queue_init(
            core.kind,
            core.index,
            que.space,
            start,
            block,
            num,
            int(que.position),
            que.name,
            core.tag,
            now,
            int(flags),
        )
        for i in range(num):
            addr = start + i * block
            over = Flag.REDZONE if addr + block > arena.capacity else Flag.NONE
            core.recorder.alloc(
                core.kind,
                core.index,
                que.space,
                addr,
                length,
                block,
                que.name,
                core.tag,
                now,
                int(over),
                arg=i,
            )
            que.blocks.append((addr, block))
        arena.tensor(start, num * block, np.dtype(np.uint8), None, que.name)  # placement check
        self.next_addr[que.space] = end
        que._core = core
        que._free = deque(range(len(que.blocks)))
        self.queues.append(que)

    def reset(self) -> None:
        """``Reset()``: release every buffer; queues must be initialised again."""
        core = self.core
        now = core.now()
        for que in self.queues:
            for addr, block in que.blocks:
                released = core.release((que.space, addr))
                now = max(now, released)
                core.recorder.free(
                    core.kind,
                    core.index,
                    que.space,
                    addr,
                    block,
                    block,
                    que.name,
                    core.tag,
                    released,
                )
            que.blocks.clear()
            que._core = None
        for space, used in self.next_addr.items():
            core.recorder.pool_reset(core.kind, core.index, space, 0, self.name, now, used, used)
        self.queues.clear()
        self.next_addr.clear()
        self.buffers_total = 0
        self.buffers_per_position.clear()

    def destroy(self) -> None:
        """The end of the kernel: the pipe's memory goes away."""
        if self.queues:
            with self.core.site("pipe_destroy"):
                self.reset()
