"""Whether a trace is analyzed in memory or streamed batch by batch."""

from __future__ import annotations

import os

import psutil

# The in-memory analysis peaks near 205 B of RSS per event (issue 17, 20 M
# events); traces hold 3-4.2 B per event on disk. Rounded so that the estimate errs high, so a trace is
# streamed before the in-memory path could run out of memory.
IN_MEMORY_BYTES_PER_EVENT = 256
DISK_BYTES_PER_EVENT = 3
# share of the available memory the in-memory analysis may take
MEMORY_SHARE = 0.5


def in_memory_estimate(path: str | os.PathLike[str]) -> int:
    """Bytes the in-memory analysis of the trace at ``path`` is expected to take
    (0 for a path that is no file: the reader says what is wrong with it)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return 0
    return size // DISK_BYTES_PER_EVENT * IN_MEMORY_BYTES_PER_EVENT


def should_stream(path: str | os.PathLike[str], available: int | None = None) -> bool:
    """True when the in-memory analysis of ``path`` would take more than half of
    the ``available`` memory (default: what the system has available now)."""
    if available is None:
        available = psutil.virtual_memory().available
    return in_memory_estimate(path) > available * MEMORY_SHARE


def streams(path: str | os.PathLike[str], stream: bool | None) -> bool:
    """Whether ``path`` is read batch by batch: ``stream`` True or False says
    so (``--stream``, or a view that needs every event); None decides by
    :func:`should_stream`."""
    return stream if stream is not None else should_stream(path)
