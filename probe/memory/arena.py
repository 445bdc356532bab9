"""On-chip memory as real bytes: one arena per core and space, with a red zone.

An arena is a numpy byte array of the space's capacity plus a red zone of the
same size. Local tensors are typed views into it, so two buffers that overlap
really share bytes and corrupt each other, and a buffer placed past capacity
lands in the red zone, where every write is recorded instead of crashing
Python or silently succeeding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ubscope.probe.errors import EmulationError
from ubscope.probe.events import Space

if TYPE_CHECKING:
    from ubscope.probe.device import Core


class Arena:
    """The bytes of one on-chip space of one core."""

    __slots__ = ("core", "space", "capacity", "alignment", "data")

    def __init__(self, core: Core, space: Space, capacity: int, alignment: int):
        self.core = core
        self.space = space
        self.capacity = capacity
        self.alignment = alignment
        self.data = np.zeros(2 * capacity, dtype=np.uint8)

    @property
    def limit(self) -> int:
        """End of the red zone: nothing can be placed beyond it."""
        return self.data.size

    def tensor(
        self, addr: int, nbytes: int, dtype: np.dtype, key: object, name: str
    ) -> LocalTensor:
        if addr < 0 or addr + nbytes > self.limit:
            raise EmulationError(
                f"{self.core.label} {self.space.name}: buffer '{name}' at 0x{addr:x} + {nbytes} B "
                f"reaches beyond the red zone (capacity {self.capacity} B); the emulator cannot "
                "place it"
            )
        return LocalTensor(self, addr, nbytes, np.dtype(dtype), key, name)


class LocalTensor:
    """A typed view of on-chip bytes (Ascend C ``LocalTensor<T>``).

    ``key`` identifies the allocation block the view belongs to; the cost
    model tracks data dependencies per block.
    """

    __slots__ = ("arena", "addr", "nbytes", "dtype", "key", "name")

    def __init__(
        self, arena: Arena, addr: int, nbytes: int, dtype: np.dtype, key: object, name: str
    ):
        self.arena = arena
        self.addr = addr
        self.nbytes = nbytes
        self.dtype = dtype
        self.key = key
        self.name = name

    @property
    def space(self) -> Space:
        return self.arena.space

    @property
    def core(self) -> Core:
        return self.arena.core

    @property
    def size(self) -> int:
        """Number of elements."""
        return self.nbytes // self.dtype.itemsize

    @property
    def array(self) -> np.ndarray:
        """The live elements (a view: writing it writes the arena)."""
        return self.arena.data[self.addr : self.addr + self.nbytes].view(self.dtype)

    def bytes(self, nbytes: int | None = None) -> np.ndarray:
        n = self.nbytes if nbytes is None else nbytes
        return self.arena.data[self.addr : self.addr + n]

    def __getitem__(self, index: slice) -> LocalTensor:
        """``tensor[start:stop]`` in elements, like Ascend C's ``tensor[offset]``."""
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("local tensors take a contiguous element slice, e.g. t[64:128]")
        start, stop, _ = index.indices(self.size)
        item = self.dtype.itemsize
        return LocalTensor(
            self.arena,
            self.addr + start * item,
            max(0, stop - start) * item,
            self.dtype,
            self.key,
            self.name,
        )

    def reinterpret(self, dtype: np.dtype | type) -> LocalTensor:
        """``ReinterpretCast``: the same bytes seen as another element type."""
        return LocalTensor(self.arena, self.addr, self.nbytes, np.dtype(dtype), self.key, self.name)

    def __repr__(self) -> str:
        return (
            f"LocalTensor({self.name}, {self.space.name}@0x{self.addr:x}, {self.size}x{self.dtype})"
        )
