"""UB buffers a kernel takes and gives back by name, over three allocators.

A :class:`Group` is one UB allocation carved into typed parts. A kernel written
against :class:`UBBuffers` runs unchanged over

* :class:`QueueBuffers`: TPipe queues (``VECIN``/``VECOUT`` TQues of
  ``buffers`` blocks, 2 = double buffering) for the copied tiles and TBufs for
  the rest, set up once;
* :class:`FreeListBuffers`: a first-fit free list, every buffer allocated and
  freed at the start and end of its lifetime (``take`` may fail: None);
* :class:`BumpBuffers`: the article's bump pool, freed all at once by
  :meth:`BumpBuffers.reset`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ubscope.probe.device import Core
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.datacopy import BLOCK
from ubscope.probe.memory.dtypes import U8
from ubscope.probe.memory.pools import FreeListAllocator, UBBufPool, align_up
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TBuf, TPipe, TQue

QUEUE_POSITIONS = {"in": TPosition.VECIN, "out": TPosition.VECOUT}


@dataclass(frozen=True)
class Group:
    """One UB allocation carved into ``parts`` of (name, dtype, elements), each
    starting on a 32 B boundary."""

    name: str
    kind: str  # "in" (a VECIN queue), "out" (a VECOUT queue) or "calc" (a TBuf)
    parts: tuple[tuple[str, np.dtype, int], ...]
    lifetime: str = "block"  # when the kernel takes and gives it: its own vocabulary

    @property
    def nbytes(self) -> int:
        return sum(align_up(count * dtype.itemsize, BLOCK) for _, dtype, count in self.parts)

    def carve(self, base: LocalTensor) -> Carved:
        parts, offset = {}, 0
        for part, dtype, count in self.parts:
            nbytes = count * dtype.itemsize
            label = self.name if len(self.parts) == 1 else f"{self.name}.{part}"
            parts[part] = base.arena.tensor(base.addr + offset, nbytes, dtype, base.key, label)
            offset += align_up(nbytes, BLOCK)
        return Carved(self, base, parts)


@dataclass(frozen=True)
class Carved:
    """A taken :class:`Group`: its typed parts by name, over the block ``base``."""

    group: Group
    base: LocalTensor
    parts: dict[str, LocalTensor]

    def __getitem__(self, part: str) -> LocalTensor:
        return self.parts[part]


class UBBuffers(Protocol):
    def take(self, group: Group) -> Carved | None:
        """The group's buffer, or None when the allocator cannot place it."""

    def ready(self, carved: Carved) -> Carved:
        """Hand a filled buffer from one pipe stage to the next (EnQue/DeQue)."""

    def give(self, carved: Carved) -> None:
        """The kernel is done with the buffer."""


class QueueBuffers:
    """TPipe backend: a TQue of ``buffers`` blocks per ``in``/``out`` group
    (one block for the groups named in ``single_buffered``, which a chip's
    queue limit leaves one), a TBuf per ``calc`` group, all set up at once by
    InitBuffer on ``pipe`` (the core's one TPipe, which the kernel may share
    with its cube queues)."""

    def __init__(
        self,
        pipe: TPipe,
        groups: tuple[Group, ...],
        buffers: int,
        single_buffered: frozenset[str] = frozenset(),
    ):
        self.pipe = pipe
        self.queues: dict[str, TQue] = {}
        for group in groups:
            if group.kind == "calc":
                que: TQue = TBuf(TPosition.VECCALC, name=group.name)
                num = 1
            else:
                que = TQue(QUEUE_POSITIONS[group.kind], name=group.name)
                num = 1 if group.name in single_buffered else buffers
            self.pipe.init_buffer(que, num, group.nbytes)
            self.queues[group.name] = que

    def take(self, group: Group) -> Carved:
        que = self.queues[group.name]
        base = que.get(U8) if isinstance(que, TBuf) else que.alloc_tensor(U8)
        return group.carve(base)

    def ready(self, carved: Carved) -> Carved:
        que = self.queues[carved.group.name]
        if not isinstance(que, TBuf):
            que.enque(carved.base)
            que.deque()
        return carved

    def give(self, carved: Carved) -> None:
        que = self.queues[carved.group.name]
        if not isinstance(que, TBuf):
            que.free_tensor(carved.base)


class FreeListBuffers:
    """Free-list backend: first fit over ``budget`` bytes of UB."""

    def __init__(self, core: Core, budget: int, name: str = "ub_heap"):
        self.heap = FreeListAllocator(core, name, size=budget)

    def take(self, group: Group) -> Carved | None:
        base = self.heap.allocate(group.nbytes, U8, group.name)
        return None if base is None else group.carve(base)

    def ready(self, carved: Carved) -> Carved:
        return carved

    def give(self, carved: Carved) -> None:
        self.heap.free(carved.base)


class BumpBuffers:
    """Bump-pool backend: ``take`` moves the pool's pointer, ``give`` frees
    nothing; :meth:`reset` releases everything taken since the last reset."""

    def __init__(self, pool: UBBufPool):
        self.pool = pool

    def take(self, group: Group) -> Carved:
        return group.carve(self.pool.allocate(group.nbytes, U8, group.name))

    def ready(self, carved: Carved) -> Carved:
        return carved

    def give(self, carved: Carved) -> None:
        return None

    def reset(self) -> None:
        self.pool.reset()
