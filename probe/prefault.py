"""Fault in the pages of freshly allocated columns on another thread while this
one fills them.

Reading a 10 M-event trace copies ~1.2 GB into new columns, and the first touch
of each page is a page fault. On the benchmark machine (a VM) those faults were
the larger part of ``read_trace``'s wall time, all taken by the one thread that
decodes the batches. ``madvise(MADV_POPULATE_WRITE)`` (Linux 5.14 and later)
faults a range in without writing it, so a helper thread can do it ahead of the
decoder: the kernel work moves to a second CPU and costs less than the same
pages faulted one by one (issue 17, BENCHMARKS.md). A page the decoder reaches
first is simply already present when the helper gets there; contents are never
changed. Elsewhere (another OS, an older kernel) the first call fails and the
helper stops: the decoder faults its pages in itself, as before.
"""

from __future__ import annotations

import ctypes
import functools
import mmap
from collections.abc import Callable, Sequence

import numpy as np

from ubscope.probe.helper_thread import HelperThread
from ubscope.probe.libc import c_function

_MADV_POPULATE_WRITE = 23  # linux/mman.h
# Rows per step: each step faults this many rows of every column, in the order
# the decoder fills them, so the helper stays just ahead of it.
CHUNK_ROWS = 1 << 19


@functools.cache
def _madvise() -> Callable[..., int] | None:
    return c_function("madvise", ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


def _populate(rows: np.ndarray) -> bool:
    """Fault in the whole pages inside ``rows``' memory; False where the kernel
    cannot (the pages at the edges are left to whoever writes them)."""
    madvise = _madvise()
    if madvise is None:
        return False
    start = -(-rows.ctypes.data // mmap.PAGESIZE) * mmap.PAGESIZE
    end = (rows.ctypes.data + rows.nbytes) // mmap.PAGESIZE * mmap.PAGESIZE
    return end <= start or madvise(start, end - start, _MADV_POPULATE_WRITE) == 0


class Prefault(HelperThread):
    """While the ``with`` block runs, a daemon thread faults in the pages of
    ``columns`` (contiguous, equally long arrays filled from row 0 up), a chunk of
    rows of every column at a time. Leaving the block stops it at the next chunk."""

    name = "ubscope-prefault"

    def __init__(self, columns: Sequence[np.ndarray]):
        self._columns = [column for column in columns if column.size]
        super().__init__()

    def wanted(self) -> bool:
        return bool(self._columns)

    def run(self) -> None:
        rows = max((column.size for column in self._columns), default=0)
        for first in range(0, rows, CHUNK_ROWS):
            for column in self._columns:
                if self.stopping.is_set() or not _populate(column[first : first + CHUNK_ROWS]):
                    return
