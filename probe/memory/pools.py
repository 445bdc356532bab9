"""UB allocator models: the article's bump-pointer pool and a first-fit free list.

Both place real LocalTensors in a core's arena and record every allocation,
free, failure and reset, so the analyzers can see overflow and fragmentation.
"""

from __future__ import annotations

import numpy as np

from ubscope.probe.device import Core
from ubscope.probe.errors import EmulationError
from ubscope.probe.events import Flag, Space
from ubscope.probe.memory.arena import LocalTensor


def align_up(nbytes: int, unit: int = 32) -> int:
    return -(-nbytes // unit) * unit


class UBBufPool:
    """The article's ``UBBufPool``: a bump pointer, 32 B alignment, ``reset()``
    once per round. As in the article, ``allocate`` does not check capacity
    unless ``check_capacity`` is set, so it can run past the end of UB (into
    the red zone, where ubscope records it)."""

    def __init__(
        self,
        core: Core,
        name: str = "ub_pool",
        size: int | None = None,
        check_capacity: bool = False,
        space: Space = Space.UB,
        base: int = 0,
    ) -> None:
        self.core = core
        self.arena = core.arena(space)
        self.name = name
        self.size = self.arena.capacity - base if size is None else size
        self.check_capacity = check_capacity
        self.base = base
        self.offset = 0
        self.high_water = 0
        self._live: list[LocalTensor] = []

    def allocate(self, count: int, dtype: np.dtype | type, name: str | None = None) -> LocalTensor:
        dtype = np.dtype(dtype)
        requested = count * dtype.itemsize
        aligned = align_up(requested, self.arena.alignment)
        core, label = self.core, name or self.name
        if self.check_capacity and self.offset + aligned > self.size:
            core.recorder.alloc_fail(
                core.kind,
                core.index,
                self.arena.space,
                requested,
                aligned,
                label,
                core.tag,
                core.now(),
                self.size - self.offset,
                self.size - self.offset,
                int(Flag.CAPACITY_CHECKED),
            )
            raise EmulationError(
                f"{core.label} {self.name}: allocating {aligned} B at offset {self.offset} exceeds "
                f"the pool's {self.size} B"
            )
        addr = self.base + self.offset
        key = (self.arena.space, addr)
        tensor = self.arena.tensor(addr, requested, dtype, key, label)
        flags = Flag.REDZONE if addr + aligned > self.arena.capacity else Flag.NONE
        core.recorder.alloc(
            core.kind,
            core.index,
            self.arena.space,
            addr,
            requested,
            aligned,
            label,
            core.tag,
            core.acquire(key),
            int(flags),
        )
        self.offset += aligned
        self.high_water = max(self.high_water, self.offset)
        self._live.append(tensor)
        return tensor

    def reset(self) -> None:
        """``Reset()``: release every allocation of the round at once."""
        core = self.core
        now = core.now()
        for tensor in self._live:
            released = core.release(tensor.key)
            now = max(now, released)
            core.recorder.free(
                core.kind,
                core.index,
                self.arena.space,
                tensor.addr,
                tensor.nbytes,
                align_up(tensor.nbytes, self.arena.alignment),
                tensor.name,
                core.tag,
                released,
            )
        core.recorder.pool_reset(
            core.kind,
            core.index,
            self.arena.space,
            self.base,
            self.name,
            now,
            self.offset,
            self.high_water,
        )
        self._live.clear()
        self.offset = 0


class FreeListAllocator:
    """Alloc/free each time, first fit, with coalescing of neighbours: the
    "traditional" way that fragments UB. A failed allocation is recorded with
    the free bytes it could not use and returns ``None``."""

    def __init__(
        self,
        core: Core,
        name: str = "freelist",
        size: int | None = None,
        space: Space = Space.UB,
        base: int = 0,
    ) -> None:
        self.core = core
        self.arena = core.arena(space)
        self.name = name
        self.size = self.arena.capacity - base if size is None else size
        self.base = base
        self.free_blocks: list[tuple[int, int]] = [(base, self.size)]  # (addr, bytes), by addr
        self._sizes: dict[int, int] = {}
        # the analysis measures fragmentation over this extent, not the whole space
        core.recorder.pool_init(
            core.kind, core.index, self.arena.space, base, self.size, name, core.tag, core.now()
        )

    @property
    def free_bytes(self) -> int:
        return sum(size for _, size in self.free_blocks)

    @property
    def largest_free(self) -> int:
        return max((size for _, size in self.free_blocks), default=0)

    def allocate(
        self, count: int, dtype: np.dtype | type, name: str | None = None
    ) -> LocalTensor | None:
        dtype = np.dtype(dtype)
        requested = count * dtype.itemsize
        aligned = align_up(requested, self.arena.alignment)
        core, label = self.core, name or self.name
        for i, (addr, size) in enumerate(self.free_blocks):
            if size >= aligned:
                if size == aligned:
                    del self.free_blocks[i]
                else:
                    self.free_blocks[i] = (addr + aligned, size - aligned)
                self._sizes[addr] = aligned
                key = (self.arena.space, addr)
                core.recorder.alloc(
                    core.kind,
                    core.index,
                    self.arena.space,
                    addr,
                    requested,
                    aligned,
                    label,
                    core.tag,
                    core.acquire(key),
                )
                return self.arena.tensor(addr, requested, dtype, key, label)
        core.recorder.alloc_fail(
            core.kind,
            core.index,
            self.arena.space,
            requested,
            aligned,
            label,
            core.tag,
            core.now(),
            self.free_bytes,
            self.largest_free,
        )
        return None

    def free(self, tensor: LocalTensor) -> None:
        addr = tensor.addr
        if addr not in self._sizes:
            raise EmulationError(
                f"{self.core.label} {self.name}: free of '{tensor.name}' at 0x{addr:x}, "
                "which this allocator did not hand out"
            )
        aligned = self._sizes.pop(addr)
        core = self.core
        core.recorder.free(
            core.kind,
            core.index,
            self.arena.space,
            addr,
            tensor.nbytes,
            aligned,
            tensor.name,
            core.tag,
            core.release(tensor.key),
        )
        blocks = self.free_blocks
        blocks.append((addr, aligned))
        blocks.sort()
        merged: list[tuple[int, int]] = []
        for block_addr, size in blocks:
            if merged and merged[-1][0] + merged[-1][1] == block_addr:
                merged[-1] = (merged[-1][0], merged[-1][1] + size)
            else:
                merged.append((block_addr, size))
        self.free_blocks = merged
