"""A trace's events read back from disk one batch (page) at a time.

A trace bigger than memory cannot be loaded whole, but a view lists a screen of
events at once. One pass over the stream's message headers (no batch is
decompressed) notes where each record batch lies in the file and how many
events it holds. A page is then read alone: the schema message, the dictionary
messages written before the batch (so its dictionary indices mean what they
meant when it was written), and the batch's own message make a small Arrow
stream of their own, decoded and validated as :func:`read_trace` decodes one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from ubscope.probe.errors import TraceError, open_input
from ubscope.probe.trace import Trace, batch_trace
from ubscope.probe.trace_meta import STREAM_MAGIC, read_metadata
from ubscope.probe.validate import claim_of

_END_OF_STREAM = STREAM_MAGIC + b"\x00\x00\x00\x00"


@dataclass(frozen=True)
class _Page:
    offset: int  # of the batch's message in the file
    length: int
    first_event: int
    dictionaries: int  # dictionary messages written before it


class TracePages:
    """Where each batch of the trace at ``path`` lies, and its events read on demand."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.meta = read_metadata(self.path)
        self._pages: list[_Page] = []
        self._dictionaries: list[bytes] = []
        with open_input(self.path, TraceError, "a .ubtrace file") as handle:
            self._schema, self.event_count = self._index(handle)
        starts = [page.first_event for page in self._pages]
        self.first_events = np.array(starts, dtype=np.int64)

    def _index(self, handle: BinaryIO) -> tuple[bytes, int]:
        """Walk the messages, keeping the schema and dictionary messages' bytes
        and each batch's place; a cut or corrupt tail ends the walk (the pages
        before it stay readable, as a truncated trace's events do). Returns the
        schema message and the number of events."""
        try:
            messages = pa.ipc.MessageReader.open_stream(handle)
            messages.read_next_message()
        except (StopIteration, pa.ArrowException, OSError, ValueError) as exc:
            raise TraceError(self.path, f"trace header is unreadable ({exc})") from None
        schema_end = handle.tell()
        events, at = 0, schema_end
        while True:
            try:
                message = messages.read_next_message()
                claim = claim_of(message)
            except (StopIteration, pa.ArrowException, OSError, ValueError, MemoryError):
                break
            end = handle.tell()
            if claim.is_batch:
                if claim.rows > 0:  # not the empty batches carrying metadata
                    self._pages.append(_Page(at, end - at, events, len(self._dictionaries)))
                    events += claim.rows
            else:
                handle.seek(at)
                self._dictionaries.append(handle.read(end - at))
            at = end
        handle.seek(0)
        return handle.read(schema_end), events

    @property
    def page_count(self) -> int:
        return len(self._pages)

    def page_of_event(self, event: int) -> int:
        """The page holding event number ``event`` (its sequence number)."""
        return int(np.searchsorted(self.first_events, event, side="right")) - 1

    def page(self, index: int) -> Trace:
        """The events of page ``index``, validated, as a :class:`Trace` of their own
        (the file's metadata, events numbered as in the whole trace)."""
        page = self._pages[index]
        with open_input(self.path, TraceError, "a .ubtrace file") as handle:
            handle.seek(page.offset)
            body = handle.read(page.length)
        stream = b"".join(
            [self._schema, *self._dictionaries[: page.dictionaries], body, _END_OF_STREAM]
        )
        try:
            batch = pa.ipc.open_stream(pa.BufferReader(stream)).read_next_batch()
        except (pa.ArrowException, OSError, ValueError, StopIteration) as exc:
            raise TraceError(
                self.path, f"events from {page.first_event} are unreadable ({exc})"
            ) from None
        return batch_trace(self.path, self.meta, [batch], page.first_event)
