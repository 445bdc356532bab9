"""Read a trace's next record batches on another thread while this one decodes.

pyarrow decompresses a batch without holding the GIL, and reading a 10 M-event
trace spent about as long decompressing batches as validating and copying them,
one after the other on one thread. With the next batches read ahead, the two
overlap on two CPUs (issue 17, BENCHMARKS.md).
"""

from __future__ import annotations

import queue
from typing import Any

import pyarrow as pa

from ubscope.probe.helper_thread import HelperThread

# Batches read but not yet taken: enough to keep both threads busy, few enough
# that memory stays a few batches (ubscope writes 65,536 events per batch).
DEPTH = 2
# Below this many events a read takes well under a second and a thread is not
# worth its address space (glibc reserves an arena of 64 MiB for it).
MIN_EVENTS = 1 << 20


class ReadAhead(HelperThread):
    """In a ``with`` block, a thread reads up to ``count`` batches from
    ``reader`` in order (when they hold at least ``MIN_EVENTS`` ``events``, else
    :meth:`next` reads them itself); :meth:`next` hands them over, or raises
    what reading the next one raised (after which nothing more is read).
    Leaving the block stops the thread, also when batches are left unread."""

    name = "ubscope-read-ahead"

    def __init__(self, reader: pa.ipc.RecordBatchStreamReader, count: int, events: int):
        self._reader = reader
        self._count = count if events >= MIN_EVENTS else 0
        self._ready: queue.Queue[Any] = queue.Queue(DEPTH)
        super().__init__()

    def wanted(self) -> bool:
        return bool(self._count)

    def run(self) -> None:
        for _ in range(self._count):
            try:
                item: Any = self._reader.read_next_batch_with_custom_metadata()
            except Exception as exc:  # the reader's error, raised by next() in order
                self._hand_over(exc)
                return
            if not self._hand_over(item):
                return

    def _hand_over(self, item: Any) -> bool:
        while not self.stopping.is_set():
            try:
                self._ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def next(self) -> tuple[pa.RecordBatch, pa.KeyValueMetadata | None]:
        """The next batch and its custom metadata."""
        if not self._count:
            batch, custom = self._reader.read_next_batch_with_custom_metadata()
            return batch, custom
        item = self._ready.get()
        if isinstance(item, Exception):
            raise item
        batch, custom = item
        return batch, custom
