"""The twin child's event stream, recorded as it arrives.

The child (``ubscope_twin/runtime.h``) writes chunks, each a header {uint32
type, uint32 count, uint64 payload bytes} and its payload:

- STRINGS: ``count`` strings, each a uint32 length and its UTF-8 bytes; they
  take the ids 1, 2, ... in order (0 is the empty string);
- EVENTS: ``count`` events column by column in ``ROW_FIELDS`` order, each
  column at the width of its Arrow column (``COLUMN_DTYPES``) and starting
  8 B aligned, so a column is a numpy view of the payload: no Python object
  per event, no copy but the string ids' translation;
- FAILURE: why the kernel stopped (UTF-8); END: the modelled end (int64 ps).

A chunk cut short (the child died mid-write) ends the stream.
"""

from __future__ import annotations

import io
import queue
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ubscope.probe.events import EVENT_SCHEMA, ROW_FIELDS, EventKind
from ubscope.probe.recorder import Recorder

_HEADER = struct.Struct("<IIQ")
_LENGTH = struct.Struct("<I")
_STRINGS, _EVENTS, _FAILURE, _END = 1, 2, 3, 4
_COLUMN_ALIGNMENT = 8
# Chunks read ahead of their recording (at most ~7 MB each): the child never
# waits for Python to record a chunk before it can write the next.
_READ_AHEAD = 4


def _column_dtype(arrow_type: pa.DataType) -> np.dtype:
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.index_type
    return np.dtype(arrow_type.to_pandas_dtype())


COLUMN_DTYPES = {
    field.name: _column_dtype(field.type) for field in EVENT_SCHEMA if field.name in ROW_FIELDS
}


def _column_offsets(count: int) -> tuple[list[int], int]:
    """Where each column of a ``count``-event chunk starts, and the chunk's bytes."""
    offsets, at = [], 0
    for dtype in COLUMN_DTYPES.values():
        offsets.append(at)
        at += -(-count * dtype.itemsize // _COLUMN_ALIGNMENT) * _COLUMN_ALIGNMENT
    return offsets, at


@dataclass
class ChildLog:
    """What the stream said besides its events: how many there were, the call
    site of the last event that had one, why the kernel stopped and when it
    ended (None: it did not finish)."""

    events: int
    last_tag: str | None
    failure: str | None
    end_ps: int | None


class _Translation:
    """The child's string ids -> the recorder's; queue names by their call site."""

    def __init__(self, recorder: Recorder, queue_name: Callable[[str], str | None]):
        self.recorder = recorder
        self.queue_name = queue_name
        self.strings = [""]
        self.ids = np.zeros(1, dtype=np.int32)
        self.name_ids = self.ids.copy()
        self.named: set[int] = set()

    def add_strings(self, payload: bytes, count: int) -> None:
        at, added = 0, []
        for _ in range(count):
            (length,) = _LENGTH.unpack_from(payload, at)
            added.append(payload[at + 4 : at + 4 + length].decode("utf-8", "replace"))
            at += 4 + length
        self.strings += added
        new = np.array([self.recorder.intern(text) for text in added], dtype=np.int32)
        self.ids = np.concatenate([self.ids, new])
        self.name_ids = np.concatenate([self.name_ids, new])

    def name_queues(self, kinds: np.ndarray, names: np.ndarray) -> None:
        """The twin names a queue or buffer by its InitBuffer call site; the
        variable passed on that line reads better."""
        for sid in np.unique(names[kinds == int(EventKind.QUEUE_INIT)]).tolist():
            if sid not in self.named:
                self.named.add(sid)
                name = self.queue_name(self.strings[sid])
                if name:
                    self.name_ids[sid] = self.recorder.intern(name)


def _read_exactly(stream: io.BufferedIOBase, nbytes: int) -> np.ndarray | None:
    buffer = np.empty(nbytes, dtype=np.uint8)  # numpy's allocation: 8 B aligned columns
    view = buffer.data
    got = 0
    while got < nbytes:
        read = stream.readinto(view[got:])
        if not read:
            return None
        got += read
    return buffer


def _chunks(stream: io.BufferedIOBase) -> Iterator[tuple[int, int, np.ndarray]]:
    """(type, count, payload) of each whole chunk until the stream ends."""
    while (header := _read_exactly(stream, _HEADER.size)) is not None:
        kind, count, nbytes = _HEADER.unpack(header.tobytes())
        payload = _read_exactly(stream, nbytes)
        if payload is None:
            return
        yield kind, count, payload


def _read_ahead(stream: io.BufferedIOBase) -> Iterator[tuple[int, int, np.ndarray]]:
    """:func:`_chunks` read on a thread (its reads release the GIL) up to
    ``_READ_AHEAD`` chunks ahead. Not joined when the consumer stops early: it
    ends when the stream does (the runner kills the child)."""
    ahead: queue.Queue[object] = queue.Queue(_READ_AHEAD)
    stopped = threading.Event()
    end = object()

    def hand_over(item: object) -> None:
        while not stopped.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read() -> None:
        try:
            for chunk in _chunks(stream):
                hand_over(chunk)
            hand_over(end)
        except (OSError, ValueError) as exc:  # the stream failed or was closed
            hand_over(exc)

    threading.Thread(target=read, name="twin-events", daemon=True).start()
    try:
        while (item := ahead.get()) is not end:
            if isinstance(item, Exception):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stopped.set()


def record_stream(
    stream: io.BufferedIOBase, recorder: Recorder, queue_name: Callable[[str], str | None]
) -> ChildLog:
    """Record the events of ``stream`` (a pipe or file of chunks) into
    ``recorder`` chunk by chunk until it ends; ``queue_name`` gives a queue's
    readable name from its InitBuffer call site (``file:line``), or None."""
    names = _Translation(recorder, queue_name)
    failure, end_ps, last_tag, events = None, None, 0, 0
    for kind, count, payload in _read_ahead(stream):
        nbytes = payload.size
        if kind == _STRINGS:
            names.add_strings(payload.tobytes(), count)
        elif kind == _EVENTS:
            offsets, expected = _column_offsets(count)
            if nbytes != expected:
                raise ValueError(f"twin event chunk of {nbytes} B for {count} events ({expected})")
            columns = {
                name: np.frombuffer(payload, dtype, count, at)
                for (name, dtype), at in zip(COLUMN_DTYPES.items(), offsets, strict=True)
            }
            names.name_queues(columns["kind"], columns["name"])
            tagged = np.flatnonzero(columns["tag"])
            if tagged.size:
                last_tag = int(columns["tag"][tagged[-1]])
            columns["name"] = names.name_ids[columns["name"]]
            columns["tensor"] = names.ids[columns["tensor"]]
            columns["tag"] = names.ids[columns["tag"]]
            recorder.extend_columns(columns)
            events += count
        elif kind == _FAILURE:
            failure = payload.tobytes().decode("utf-8", "replace")
        elif kind == _END:
            (end_ps,) = struct.unpack("<q", payload.tobytes())
    tag = names.strings[last_tag] if last_tag else None
    return ChildLog(events, tag, failure, end_ps)
