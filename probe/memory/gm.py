"""Global memory (GM, the HBM/DDR): tensors with device-like addresses.

GM contents live in host numpy arrays; what the model adds is the address each
tensor would have on the device (allocations start 512 B aligned, as the
runtime guarantees for kernel arguments, unless a misalignment is planted) and
bounds checking of every access.
"""

from __future__ import annotations

import numpy as np

GM_BASE = 0x12C0_C000_0000  # the shape of addresses msSanitizer prints on A2


class GmBuffer:
    """One GM allocation: name, device address and its bytes."""

    __slots__ = ("name", "addr", "data", "workspace")

    def __init__(self, name: str, addr: int, data: np.ndarray, workspace: bool):
        self.name = name
        self.addr = addr
        self.data = data  # uint8, C-contiguous
        self.workspace = workspace


class GlobalTensor:
    """A typed window into a GM buffer (Ascend C ``GlobalTensor<T>``)."""

    __slots__ = ("buffer", "offset", "dtype", "shape")

    def __init__(self, buffer: GmBuffer, offset: int, dtype: np.dtype, shape: tuple[int, ...]):
        self.buffer = buffer
        self.offset = offset  # bytes from the buffer start
        self.dtype = np.dtype(dtype)
        self.shape = shape

    @property
    def name(self) -> str:
        return self.buffer.name

    @property
    def addr(self) -> int:
        return self.buffer.addr + self.offset

    @property
    def size(self) -> int:
        return (self.buffer.data.size - self.offset) // self.dtype.itemsize

    def __getitem__(self, index: int | slice) -> GlobalTensor:
        """``gm[offset:]`` (or ``gm[offset]``): the tensor from element ``offset`` on."""
        start = index.start or 0 if isinstance(index, slice) else int(index)
        return GlobalTensor(
            self.buffer, self.offset + start * self.dtype.itemsize, self.dtype, (-1,)
        )

    def numpy(self) -> np.ndarray:
        """The whole tensor's current contents with its shape (host side)."""
        flat = self.buffer.data[self.offset :].view(self.dtype)
        if self.shape and self.shape[0] >= 0:
            return flat[: int(np.prod(self.shape))].reshape(self.shape)
        return flat


class GlobalMemory:
    """Hands out GM buffers at device-like addresses."""

    def __init__(self, alignment: int = 512, misalign: int = 0):
        self.alignment = alignment
        self.misalign = misalign
        self._next = GM_BASE
        self.buffers: list[GmBuffer] = []

    def tensor(
        self, name: str, array: np.ndarray, workspace: bool = False, misalign: int | None = None
    ) -> GlobalTensor:
        """A GM tensor holding a copy of ``array`` (its dtype and shape)."""
        array = np.ascontiguousarray(array)
        offset = self.misalign if misalign is None else misalign
        addr = self._next + offset
        self._next = -(-(addr + array.nbytes + 1) // self.alignment) * self.alignment
        buffer = GmBuffer(name, addr, array.view(np.uint8).reshape(-1).copy(), workspace)
        self.buffers.append(buffer)
        return GlobalTensor(buffer, 0, array.dtype, array.shape)

    def empty(
        self, name: str, shape: tuple[int, ...], dtype: np.dtype | type, workspace: bool = False
    ) -> GlobalTensor:
        return self.tensor(name, np.zeros(shape, dtype=dtype), workspace=workspace)
