"""How far trace reads have got, for a view's progress bar.

A command that reads a trace through any layer (a trace loaded whole, a
streamed analysis, an export) names a listener with :func:`reporting_reads`;
every batch a read takes in calls it with the events read so far and the
events the trace's batches claim. The listener is per context (a
``ContextVar``): a read on another thread, such as the TUI's, reports nothing
unless its own context names one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# (events read so far, events claimed by the trace's batches)
ReadListener = Callable[[int, int], None]

_listener: ContextVar[ReadListener | None] = ContextVar("ubscope_read_listener", default=None)


@contextmanager
def reporting_reads(listener: ReadListener) -> Iterator[None]:
    """Within the block, every batch a trace read takes in calls ``listener``."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def report_read(done: int, total: int) -> None:
    """Called by the readers after each batch."""
    listener = _listener.get()
    if listener is not None:
        listener(done, total)
