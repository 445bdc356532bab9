"""A trace's metadata, read from its header without pyarrow.

Listing a folder of traces and the TUI's first screen need only the metadata,
the JSON object under the key ``ubscope`` in the custom metadata of the Arrow
schema that opens the stream. Importing pyarrow (and the numpy it loads) costs
more than the rest of the TUI's first paint, so this module decodes that one
schema message itself: the Arrow IPC framing (continuation marker, length)
and the few FlatBuffers tables on the way to the key-value pairs (Arrow's
format/Message.fbs and format/Schema.fbs). :func:`ubscope.probe.trace.read_trace`
still reads the stream with pyarrow; both check the metadata with
:func:`parse_metadata`.

A header this reader accepts can still hold a field pyarrow refuses (a corrupt
column type); the reading of the events reports that. A cut or malformed
header, a foreign file and bad metadata are refused here as by ``read_trace``.
"""

from __future__ import annotations

import json
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ubscope.probe.errors import InputError, TraceError, UbscopeError, open_input
from ubscope.probe.text import printable_tree

# The trace format's version, in every trace's metadata; a reader refuses newer ones.
SCHEMA_VERSION = 1
METADATA_KEY = b"ubscope"
TRACE_SUFFIX = ".ubtrace"
# An Arrow IPC stream starts with the continuation marker of its schema message.
STREAM_MAGIC = b"\xff\xff\xff\xff"
# Message.fbs: the union MessageHeader's value for a Schema.
_SCHEMA_HEADER = 1


class _Corrupt(Exception):
    """The header's bytes do not decode; the reason goes into the TraceError."""


class _FlatBuffer:
    """Bounds-checked reads of a FlatBuffers buffer: every offset is checked
    against the buffer, so any bytes give values or :class:`_Corrupt`."""

    def __init__(self, data: bytes):
        self.data = data

    def _unpack(self, layout: str, at: int) -> int:
        if at < 0 or at + struct.calcsize(layout) > len(self.data):
            raise _Corrupt(f"offset {at} outside the {len(self.data)}-byte schema message")
        return struct.unpack_from(layout, self.data, at)[0]

    def root(self) -> int:
        return self._unpack("<I", 0)

    def field(self, table: int, slot: int) -> int | None:
        """Where field ``slot`` of the table at ``table`` lies, or None when absent."""
        vtable = table - self._unpack("<i", table)
        vtable_size = self._unpack("<H", vtable)
        entry = 4 + 2 * slot
        if entry + 2 > vtable_size:
            return None
        offset = self._unpack("<H", vtable + entry)
        return table + offset if offset else None

    def ubyte(self, at: int) -> int:
        return self._unpack("<B", at)

    def indirect(self, at: int) -> int:
        """The table, vector or string an offset field at ``at`` points to."""
        return at + self._unpack("<I", at)

    def tables(self, vector: int) -> list[int]:
        """The tables of a vector of tables."""
        count = self._unpack("<I", vector)
        if vector + 4 + 4 * count > len(self.data):
            raise _Corrupt(f"a vector of {count} entries overruns the schema message")
        return [self.indirect(vector + 4 + 4 * index) for index in range(count)]

    def string(self, at: int) -> bytes:
        start = at + 4
        end = start + self._unpack("<I", at)
        if end > len(self.data):
            raise _Corrupt("a string overruns the schema message")
        return self.data[start:end]


def _custom_metadata(message: bytes) -> dict[bytes, bytes]:
    """The schema's key-value metadata from the flatbuffer of its IPC message
    (of pairs with the same key the first counts, as in pyarrow's ``Schema.metadata``)."""
    buffer = _FlatBuffer(message)
    root = buffer.root()
    # Message: version (slot 0), header_type (1), header (2), bodyLength (3)
    kind = buffer.field(root, 1)
    if kind is None or buffer.ubyte(kind) != _SCHEMA_HEADER:
        raise _Corrupt("the first message is not a schema")
    header = buffer.field(root, 2)
    if header is None:
        raise _Corrupt("the schema message has no schema")
    schema = buffer.indirect(header)
    # Schema: endianness (slot 0), fields (1), custom_metadata (2)
    pairs = buffer.field(schema, 2)
    if pairs is None:
        return {}
    found: dict[bytes, bytes] = {}
    for pair in buffer.tables(buffer.indirect(pairs)):
        # KeyValue: key (slot 0), value (1); both strings, absent meaning empty
        key, value = buffer.field(pair, 0), buffer.field(pair, 1)
        found.setdefault(
            buffer.string(buffer.indirect(key)) if key is not None else b"",
            buffer.string(buffer.indirect(value)) if value is not None else b"",
        )
    return found


def header_metadata(path: str | os.PathLike[str]) -> dict[bytes, bytes]:
    """The custom metadata of the schema opening the Arrow IPC stream at ``path``
    (what pyarrow's ``open_stream(path).schema.metadata`` holds; empty when
    none), or a :class:`TraceError` for a missing, empty, foreign or cut file."""
    path = Path(path)
    with open_input(path, TraceError, "a .ubtrace file") as handle:
        head = handle.read(8)
        if not head:
            raise TraceError(path, "empty file, expected a ubscope trace (.ubtrace)")
        if head[:4] != STREAM_MAGIC:
            raise TraceError(path, "not a ubscope trace (expected an Arrow IPC stream)")
        try:
            if len(head) < 8:
                raise _Corrupt("the schema message's length is cut")
            (size,) = struct.unpack("<i", head[4:])
            if size <= 0:
                raise _Corrupt("the stream holds no schema message")
            available = os.fstat(handle.fileno()).st_size - 8
            if size > available:
                raise _Corrupt(f"the schema message claims {size} bytes, {available} follow")
            return _custom_metadata(handle.read(size))
        except _Corrupt as exc:
            raise TraceError(
                path, f"trace header is truncated or corrupt, no events readable ({exc})"
            ) from None


def parse_metadata(path: Path, raw: bytes | None) -> dict[str, Any]:
    """The trace's metadata from the value of its ``ubscope`` key (None: absent),
    checked: a JSON object with an integer ``schema_version`` this ubscope reads."""
    if raw is None:
        raise TraceError(path, "an Arrow stream but not a ubscope trace (no 'ubscope' metadata)")
    try:
        meta = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TraceError(
            path, f"trace metadata is not valid JSON ({getattr(exc, 'msg', 'not UTF-8')})"
        ) from None
    except (RecursionError, ValueError) as exc:  # absurd nesting or integer sizes
        raise TraceError(path, f"trace metadata is not usable JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise TraceError(path, "trace metadata is not a JSON object")
    version = meta.get("schema_version")
    if not isinstance(version, int):
        raise TraceError(path, "trace metadata has no integer schema_version")
    if version > SCHEMA_VERSION:
        raise TraceError(
            path,
            f"trace schema version {version} is newer than this ubscope reads "
            f"({SCHEMA_VERSION}); upgrade ubscope (pip install -U ubscope)",
        )
    try:
        return printable_tree(meta)
    except RecursionError:
        raise TraceError(path, "trace metadata is nested too deeply") from None


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Only the metadata, without reading any events (cheap for listings)."""
    path = Path(path)
    return parse_metadata(path, header_metadata(path).get(METADATA_KEY))


def is_trace_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a trace: a ``.ubtrace`` file name, or a file that
    starts like an Arrow IPC stream (a trace under another name). Reads at most
    the first bytes; an unreadable file is not a trace."""
    path = Path(path)
    if path.suffix == TRACE_SUFFIX:
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(len(STREAM_MAGIC)) == STREAM_MAGIC
    except OSError:
        return False


@dataclass(frozen=True)
class TraceEntry:
    """A file of a folder listing: its metadata, or why it cannot be read."""

    path: Path
    size: int
    meta: dict[str, Any] | None
    problem: str | None


def find_traces(folder: str | os.PathLike[str]) -> list[TraceEntry]:
    """The ``.ubtrace`` files of ``folder`` by name; unreadable ones are listed
    with their reason rather than hidden. Only regular files are opened: a
    dangling symlink, a symlink loop, a folder or a FIFO named ``*.ubtrace`` is
    listed as such, never followed forever or waited on."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "not a folder")
    with os.scandir(folder) as found:
        paths = sorted(Path(entry.path) for entry in found if entry.name.endswith(TRACE_SUFFIX))
    entries = [_trace_entry(path) for path in paths]
    if not entries:
        raise InputError(folder, f"no {TRACE_SUFFIX} files in this folder")
    return entries


def _trace_entry(path: Path) -> TraceEntry:
    try:
        info = path.stat()
    except OSError as exc:  # dangling symlink, symlink loop, vanished file
        return TraceEntry(path, 0, None, f"cannot open ({exc.strerror})")
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        return TraceEntry(path, 0, None, f"{kind}, not a trace")
    try:
        meta, problem = read_metadata(path), None
    except UbscopeError as exc:
        meta, problem = None, exc.problem if isinstance(exc, TraceError) else str(exc)
    return TraceEntry(path, info.st_size, meta, problem)
