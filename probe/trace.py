"""The ``.ubtrace`` file: an append-only, zstd-compressed Arrow IPC stream.

The schema's metadata (key ``ubscope``) holds one JSON object: schema version,
ubscope version, chip profile, kernel name and parameters, host info, command
line and start time. Events follow in record batches written while the kernel
runs, so a killed process leaves every completed batch readable. What is known
only when the recording finished (the device fault) travels in the custom
metadata of a last, empty batch; the reader adds it to the metadata. The reader
returns pandas DataFrames; it is the one reader every view stands on.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import pyarrow as pa

from ubscope.probe.chip import ChipProfile
from ubscope.probe.device_fault import METADATA_FIELD as DEVICE_FAULT_FIELD
from ubscope.probe.device_fault import DeviceFault
from ubscope.probe.errors import (
    Terminated,
    TraceError,
    UbscopeError,
    open_input,
    warn_partial,
)
from ubscope.probe.events import EVENT_SCHEMA
from ubscope.probe.heap import reuse_large_blocks
from ubscope.probe.outputs import AtomicFile, write_error
from ubscope.probe.read_ahead import ReadAhead
from ubscope.probe.read_progress import report_read
from ubscope.probe.text import printable, printable_tree

# Reading only the metadata needs no pyarrow (trace_meta); importers find it here too.
from ubscope.probe.trace_meta import METADATA_KEY as METADATA_KEY
from ubscope.probe.trace_meta import SCHEMA_VERSION, STREAM_MAGIC, parse_metadata
from ubscope.probe.trace_meta import TRACE_SUFFIX as TRACE_SUFFIX
from ubscope.probe.trace_meta import TraceEntry as TraceEntry
from ubscope.probe.trace_meta import find_traces as find_traces
from ubscope.probe.trace_meta import is_trace_file as is_trace_file
from ubscope.probe.trace_meta import read_metadata as read_metadata
from ubscope.probe.validate import BatchDecoder, check_metadata, check_schema, claimed_batches
from ubscope.probe.version import __version__

if TYPE_CHECKING:  # pandas and the event table cost a listing that reads only metadata
    import pandas as pd

    from ubscope.probe.event_table import EventTable

# Custom metadata of the last (empty) batch of a trace whose recording stopped early.
TRUNCATION_KEY = b"ubscope.truncated"
# Custom metadata of the last (empty) batch of a finished recording: a JSON object
# of the metadata fields known only then (FINAL_FIELDS).
FINAL_KEY = b"ubscope.final"
# A CPU-twin trace's call-site tag -> the code on that line (runner.call_site_lines).
SOURCE_LINES_FIELD = "source_lines"
FINAL_FIELDS = (DEVICE_FAULT_FIELD, SOURCE_LINES_FIELD)
_WRITE_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd", emit_dictionary_deltas=True)
# An Arrow IPC stream, when closed properly, ends with this end-of-stream marker.
_END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"


def host_info() -> dict[str, Any]:
    """What machine recorded the trace (psutil), for reproducibility."""
    import psutil  # here: readers of traces (trace info, the TUI's first screen) need none

    memory = psutil.virtual_memory()
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": psutil.cpu_count(logical=True),
        "memory_bytes": int(memory.total),
        "pid": os.getpid(),
    }


def new_metadata(
    chip: Mapping[str, Any],
    kernel: str,
    params: Mapping[str, Any],
    minimal_traffic: Mapping[str, int] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Metadata for a new trace of ``kernel`` with ``params`` on ``chip``."""
    meta: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "ubscope_version": __version__,
        "chip": dict(chip),
        "kernel": kernel,
        "params": dict(params),
        "minimal_traffic": dict(minimal_traffic or {}),
        "host": host_info(),
        "command": list(sys.argv),
        "start_time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    meta.update(extra or {})
    return meta


class TraceWriter:
    """Streams record batches to a ``.ubtrace`` file as they are produced.

    The file is written under a hidden temporary name beside ``path`` (see
    :mod:`ubscope.probe.outputs`) and renamed to ``path`` by :meth:`close`, when
    the recording finished, or by :meth:`abort`, when it stopped early: then the
    events so far are kept for a post-mortem, marked truncated with the reason.
    The schema and metadata are written at once and every batch is flushed to
    the operating system, so a SIGKILL leaves a readable, truncated temporary
    file that lost at most the batch being written. As a context manager, an
    exception in the block aborts the trace with that exception as the reason.
    """

    def __init__(self, path: str | os.PathLike[str], metadata: Mapping[str, Any]):
        self._output = AtomicFile(path, binary=True, stdout=False)
        self.path = self._output.path
        self.events_written = 0
        self._finished = False
        schema = EVENT_SCHEMA.with_metadata({METADATA_KEY: json.dumps(metadata, default=str)})
        # A zero-event batch: Arrow writes the schema only with the first batch.
        self._empty = pa.RecordBatch.from_arrays(
            [pa.array([], type=column.type) for column in EVENT_SCHEMA], schema=EVENT_SCHEMA
        )
        try:
            self._writer = pa.ipc.new_stream(self._output.handle, schema, options=_WRITE_OPTIONS)
            self._send(self._empty)
        except OSError as exc:
            self._fail(exc)
        except BaseException:  # Ctrl-C before the recording started: nothing to keep
            self._output.discard()
            raise

    def _fail(self, exc: OSError) -> NoReturn:
        self._finished = True
        self._output.discard()
        raise write_error(self.path, exc) from None

    def _send(self, batch: pa.RecordBatch, custom: dict[bytes, bytes] | None = None) -> None:
        try:
            self._writer.write_batch(batch, custom_metadata=custom)
            self._output.handle.flush()
        except OSError as exc:
            self._fail(exc)
        # A reason or final metadata travels in an empty batch sharing the last
        # batch's dictionaries.
        self._empty = batch.slice(0, 0)

    def write(self, batch: pa.RecordBatch) -> None:
        self._send(batch)
        self.events_written += batch.num_rows

    def close(self, final_metadata: Mapping[str, Any] | None = None) -> None:
        """The recording finished: write ``final_metadata`` (fields known only
        now, from ``Recorder.final_metadata``), the end-of-stream marker (a trace
        without it is 'truncated') and move the file to ``path``."""
        if self._finished:
            return
        if final_metadata:
            self._send(self._empty, {FINAL_KEY: json.dumps(dict(final_metadata)).encode("utf-8")})
        self._finished = True
        try:
            self._writer.close()
        except OSError as exc:
            self._fail(exc)
        self._output.commit()

    def abort(self, reason: str) -> None:
        """The recording stopped early: keep its events under ``path``, marked
        truncated because of ``reason``, without an end-of-stream marker."""
        if self._finished:
            return
        self._send(self._empty, {TRUNCATION_KEY: " ".join(reason.split()).encode("utf-8")})
        self._finished = True
        self._output.commit()

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb) -> None:
        if exc is None:
            self.close()
        else:
            self.abort(stop_reason(exc))


def stop_reasons(custom: pa.KeyValueMetadata | None) -> list[str]:
    """The reason :meth:`TraceWriter.abort` left in a batch's custom metadata."""
    if custom is None or TRUNCATION_KEY not in custom:
        return []
    return [printable(custom[TRUNCATION_KEY].decode("utf-8", "replace"))]


def final_metadata(path: Path, custom: pa.KeyValueMetadata | None) -> dict[str, Any]:
    """The fields :meth:`TraceWriter.close` left in a batch's custom metadata
    (:func:`check_device_fault` checks them in the merged metadata)."""
    if custom is None or FINAL_KEY not in custom:
        return {}
    try:
        final = json.loads(custom[FINAL_KEY])
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError):
        raise TraceError(path, "the metadata written at the end of the trace is not JSON") from None
    if not isinstance(final, dict):
        raise TraceError(path, "the metadata written at the end of the trace is not an object")
    return printable_tree({key: value for key, value in final.items() if key in FINAL_FIELDS})


def check_device_fault(path: Path, meta: dict[str, Any]) -> None:
    """A hand-edited or foreign ``device_fault`` (at the end of the trace or in its
    header) is a :class:`TraceError`, not a crash of whatever reads it later."""
    if DEVICE_FAULT_FIELD in meta:
        try:
            DeviceFault.from_metadata(meta[DEVICE_FAULT_FIELD])
        except ValueError as exc:
            raise TraceError(path, f"metadata {DEVICE_FAULT_FIELD} {exc}") from None


def check_source_lines(path: Path, meta: dict[str, Any]) -> None:
    """``source_lines`` must map call-site tags to their code, text to text."""
    lines = meta.get(SOURCE_LINES_FIELD)
    if lines is None:
        return
    if not isinstance(lines, dict) or not all(isinstance(v, str) for v in lines.values()):
        raise TraceError(
            path, f"metadata {SOURCE_LINES_FIELD}: expected an object of call site -> code text"
        )


def stop_reason(exc: BaseException) -> str:
    """Why a recording stopped early, for a truncated trace and its readers."""
    if isinstance(exc, Terminated):
        return "recording terminated by SIGTERM"
    if isinstance(exc, KeyboardInterrupt):
        return "recording interrupted by SIGINT (Ctrl-C)"
    if isinstance(exc, SystemExit):
        return f"recording stopped (exit {exc.code})"
    if isinstance(exc, UbscopeError):
        # written for the user (a kernel stopped at its line): the class adds nothing
        return f"recording stopped: {exc}"
    return f"recording stopped by an error: {type(exc).__name__}: {exc}"


@dataclass
class Trace:
    """A loaded trace: the events as a DataFrame, its metadata, and whether the
    file ended cleanly."""

    path: Path
    meta: dict[str, Any]
    events: pd.DataFrame
    complete: bool = True
    problems: list[str] = field(default_factory=list)

    @property
    def kernel(self) -> str:
        return str(self.meta.get("kernel", "?"))

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.meta.get("params", {}))

    @property
    def chip(self) -> ChipProfile:
        return ChipProfile.from_dict(self.meta.get("chip", {}), source=f"{self.path} (metadata)")

    @property
    def event_count(self) -> int:
        return len(self.events)

    @property
    def device_fault(self) -> DeviceFault | None:
        """The first write past on-chip capacity, where the device would have
        faulted (None: none, or a trace recorded before ubscope noted it)."""
        fault = self.meta.get(DEVICE_FAULT_FIELD)
        return DeviceFault.from_metadata(fault) if fault is not None else None

    @cached_property
    def table(self) -> EventTable:
        """The typed, per-kind view of the events (built once per trace)."""
        from ubscope.probe.event_table import EventTable

        return EventTable(self.events)


def batch_trace(
    path: Path,
    meta: dict[str, Any],
    batches: Sequence[pa.RecordBatch],
    first_event: int,
    validated: bool = False,
) -> Trace:
    """Consecutive record batches of the trace at ``path`` as a :class:`Trace`
    of their own (validated as :func:`read_trace` validates them, unless
    ``validated``: batches a scan of the file has checked already; their events
    numbered from ``first_event``, as in the whole trace)."""
    rows = sum(b.num_rows for b in batches)
    decoder = BatchDecoder(path, None, rows, first_event=first_event, validated=validated)
    for batch in batches:
        decoder.add(batch)
    return Trace(path=path, meta=meta, events=decoder.frame())


def scan_batch_traces(path: str | os.PathLike[str], each: Callable[[Trace], None]) -> TraceScan:
    """Validate a trace batch by batch as :func:`scan_trace` does, handing each
    batch to ``each`` as a :class:`Trace` of its own (:func:`batch_trace`) and
    keeping none: memory stays one batch's whatever the trace's size."""
    path = Path(path)
    meta = read_metadata(path)
    first_event = 0

    def take(batch: pa.RecordBatch) -> None:
        nonlocal first_event
        each(batch_trace(path, meta, [batch], first_event, validated=True))
        first_event += batch.num_rows

    return scan_trace(path, columns=[], each_batch=take)


class _open_stream:
    """Context manager opening ``path`` as an Arrow stream with clear errors."""

    def __init__(self, path: Path):
        self.path = path
        self._file: IO[bytes] | None = None

    def __enter__(self) -> tuple[pa.ipc.RecordBatchStreamReader, IO[bytes]]:
        path = self.path
        self._file = open_input(path, TraceError, "a .ubtrace file")
        head = self._file.read(4)
        self._file.seek(0)
        if not head:
            raise TraceError(path, "empty file, expected a ubscope trace (.ubtrace)")
        if head != STREAM_MAGIC:
            raise TraceError(path, "not a ubscope trace (expected an Arrow IPC stream)")
        try:
            reader = pa.ipc.open_stream(self._file)
        except (pa.ArrowException, OSError, ValueError, MemoryError) as exc:
            raise TraceError(
                path, f"trace header is truncated or corrupt, no events readable ({exc})"
            ) from None
        return reader, self._file

    def __exit__(self, *exc_info: object) -> None:
        if self._file is not None:
            self._file.close()


def read_trace(
    path: str | os.PathLike[str], columns: list[str] | None = None, strict: bool = False
) -> Trace:
    """Load and validate a trace (see probe/validate.py), batch by batch.

    A truncated or corrupt file, or one whose batches claim more than the file
    can hold (a decompression bomb), yields every batch before the problem plus
    a :class:`PartialReadWarning` saying how many events were recovered (or a
    :class:`TraceError` when ``strict``). A wrong column type or an invalid
    value is a :class:`TraceError` naming the column and the event."""
    scan = scan_trace(path, columns, strict)
    events = scan.decoder.frame()
    return Trace(
        path=scan.path,
        meta=scan.meta,
        events=events,
        complete=not scan.problems,
        problems=scan.problems,
    )


@dataclass
class TraceScan:
    """What :func:`scan_trace` read: the metadata (with the fields written at
    the end), why the file is incomplete (empty: it is not), and the decoder
    holding the kept columns."""

    path: Path
    meta: dict[str, Any]
    problems: list[str]
    decoder: BatchDecoder


def scan_trace(
    path: str | os.PathLike[str],
    columns: list[str] | None = None,
    strict: bool = False,
    each_batch: Callable[[pa.RecordBatch], None] | None = None,
) -> TraceScan:
    """Validate a trace batch by batch as :func:`read_trace` does, keeping only
    ``columns`` (``[]``: none, for bounded memory) and handing each validated
    batch to ``each_batch``."""
    reuse_large_blocks()  # before the helper threads first allocate
    path = Path(path)
    problems: list[str] = []
    with _open_stream(path) as (reader, handle):
        meta = parse_metadata(path, (reader.schema.metadata or {}).get(METADATA_KEY))
        check_metadata(path, meta)
        check_schema(path, reader.schema)
        batch_rows, stop = claimed_batches(path)
        claimed = sum(batch_rows)
        decoder = BatchDecoder(path, columns, claimed)
        reasons: list[str] = []  # why the recording stopped, if it said so
        final: dict[str, Any] = {}
        with decoder.prefaulted(), ReadAhead(reader, len(batch_rows), claimed) as batches:
            for _ in batch_rows:
                try:
                    batch, custom = batches.next()
                    decoder.add(batch)
                except (StopIteration, pa.ArrowException, OSError, ValueError, MemoryError) as exc:
                    stop = str(exc) or "the stream ended early"
                    break
                if each_batch is not None:
                    each_batch(batch)
                report_read(decoder.rows, claimed)
                reasons += stop_reasons(custom)
                final.update(final_metadata(path, custom))
        if stop is not None:
            problems.append(f"truncated after {decoder.rows:,} events: {stop}")
        problems += reasons
        if not problems and not _ends_with_marker(handle):
            problems.append("the end-of-stream marker is missing")
    meta.update(final)
    check_device_fault(path, meta)
    check_source_lines(path, meta)
    if problems:
        message = (
            f"trace is truncated (recording was interrupted); recovered {decoder.rows:,} events"
            f" ({problems[0]})"
        )
        if strict:
            raise TraceError(path, message)
        warn_partial(path, message)
    return TraceScan(path, meta, problems, decoder)


def _ends_with_marker(handle: IO[bytes]) -> bool:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    if size < len(_END_OF_STREAM):
        return False
    handle.seek(size - len(_END_OF_STREAM))
    return handle.read(len(_END_OF_STREAM)) == _END_OF_STREAM


def write_table(path: str | os.PathLike[str], metadata: Mapping[str, Any], table: pa.Table) -> None:
    """Write a whole events table as a trace (used by tools that build traces)."""
    writer = TraceWriter(path, metadata)
    try:
        for batch in table.to_batches(max_chunksize=65536):
            writer.write(batch)
    finally:
        writer.close()
