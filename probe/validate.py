"""What a trace must hold before anything analyzes it, checked once, as it is read.

* Claims, before anything is decompressed: the header of every Arrow message
  says how many rows a batch has, how many entries a dictionary adds and how
  many bytes each compressed buffer expands to. :class:`StreamGuard` reads
  those headers one message ahead of the Arrow reader and stops at a batch of
  more than ``MAX_BATCH_ROWS`` rows, buffers larger than the rows can fill,
  more rows than the file's size can honestly hold, or dictionaries larger
  than the rows can use (a decompression bomb).
* Schema: every column of ``EVENT_SCHEMA`` with exactly its type.
* Values (:class:`BatchDecoder`): no nulls; the enumeration columns (kind, core
  kind, spaces) matched by label, never by dictionary code order; every
  integer within ``VALUE_RANGES`` (shared with the recorder, so what it writes
  is what the reader accepts); sequence numbers contiguous.
* Metadata: the chip profile's figures within the ranges of probe/chip.py and
  ``minimal_traffic`` in whole bytes.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ubscope.probe.chip import ChipProfile, check_chip_figures
from ubscope.probe.errors import ChipProfileError, TraceError
from ubscope.probe.events import ENUM_COLUMNS, EVENT_SCHEMA, STRING_COLUMNS, CoreKind, enum_labels
from ubscope.probe.prefault import Prefault
from ubscope.probe.text import unique_printable

if TYPE_CHECKING:
    import pandas as pd

# -- bounds on what a file may claim -------------------------------------------------
MAX_BATCH_ROWS = 1 << 20  # ubscope writes 65,536
# Even a trace of identical events takes about 1 byte per event on disk (the
# sequence numbers); a file whose first N bytes claim more than this many events
# per byte is a bomb.
MAX_ROWS_PER_FILE_BYTE = 8
MIN_ROWS_ALLOWED = 1 << 16  # whatever the file's size
# Every event interns at most three strings (name, tensor, tag) into one table.
MAX_DICTIONARY_ENTRIES_PER_ROW = 4
DICTIONARY_ENTRIES_SLACK = 4096
MAX_DICTIONARY_BYTES = 256 << 20  # per column, decompressed
_ROW_BYTES = math.ceil(
    sum(
        (f.type.index_type if pa.types.is_dictionary(f.type) else f.type).bit_width + 1
        for f in EVENT_SCHEMA
    )
    / 8
)
_BATCH_SLACK_BYTES = 64 * 4 * len(EVENT_SCHEMA)  # buffer padding
_MAX_BUFFERS = 1024

# -- value ranges (reader and recorder) ----------------------------------------------
_BYTES_OR_PS = (0, (1 << 62) - 1)  # sums of two stay within int64
VALUE_RANGES: dict[str, tuple[int, int]] = {
    **{column: (0, len(enum) - 1) for column, enum in ENUM_COLUMNS.items()},
    "core": (-1, (1 << 15) - 1),
    "addr": _BYTES_OR_PS,
    "src_addr": _BYTES_OR_PS,
    "size": _BYTES_OR_PS,
    "aligned_size": _BYTES_OR_PS,
    "burst_len": _BYTES_OR_PS,
    "burst_count": (0, (1 << 31) - 1),
    "start_ps": _BYTES_OR_PS,
    "dur_ps": _BYTES_OR_PS,
    "flags": (0, (1 << 31) - 1),
}
_HOST = int(CoreKind.HOST)


@dataclass(frozen=True)
class RowProblem:
    """Rows with a value out of range: which, and what is wrong with the first."""

    mask: np.ndarray
    first_row: int
    message: str

    @property
    def count(self) -> int:
        return int(self.mask.sum())


def row_problems(columns: Mapping[str, np.ndarray]) -> RowProblem | None:
    """Rows of ``columns`` (integer arrays by column name; enumerations as codes)
    with a value outside ``VALUE_RANGES``, or a core index that does not fit
    its core kind (host events have core -1, core events 0 and up)."""
    size = len(next(iter(columns.values())))
    bad = np.zeros(size, dtype=bool)
    first, message = size, ""
    checks: list[tuple[np.ndarray, str]] = []
    for name, (low, high) in VALUE_RANGES.items():
        values = columns.get(name)
        # two reductions decide a column; its mask is built only when it fails
        # (a clean batch, the common case, then costs no mask: 12 % of a read)
        if values is not None and values.size and (values.min() < low or values.max() > high):
            checks.append(((values < low) | (values > high), f"{name} must be {low}..{high}"))
    if "core" in columns and "core_kind" in columns:
        host = columns["core_kind"] == _HOST
        checks.append(
            (host != (columns["core"] == -1), "core must be -1 for host events, 0 or more else")
        )
    for wrong, rule in checks:
        if wrong.any():
            bad |= wrong
            row = int(np.argmax(wrong))
            if row < first:
                name = rule.split(" ", 1)[0]
                first, message = row, f"{name} is {columns[name][row]} ({rule})"
    return RowProblem(bad, first, message) if first < size else None


# -- Arrow message headers -------------------------------------------------------------
class _FlatBuffer:
    """Just enough of a FlatBuffers reader for Arrow's message headers."""

    def __init__(self, data: bytes):
        self.data = data

    def _unpack(self, fmt: str, at: int) -> Any:
        if at < 0:
            raise ValueError("negative offset")
        return struct.unpack_from(fmt, self.data, at)[0]

    def root(self) -> int:
        return self._unpack("<I", 0)

    def _field(self, table: int, index: int) -> int:
        vtable = table - self._unpack("<i", table)
        slot = 4 + 2 * index
        if slot + 2 > self._unpack("<H", vtable):
            return 0
        offset = self._unpack("<H", vtable + slot)
        return table + offset if offset else 0

    def scalar(self, table: int, index: int, fmt: str) -> Any:
        at = self._field(table, index)
        return self._unpack(fmt, at) if at else 0

    def table(self, table: int, index: int) -> int | None:
        at = self._field(table, index)
        return at + self._unpack("<I", at) if at else None

    def pairs(self, table: int, index: int) -> list[tuple[int, int]]:
        """A vector of structs of two int64 (Arrow's Buffer)."""
        at = self._field(table, index)
        if not at:
            return []
        vector = at + self._unpack("<I", at)
        count = self._unpack("<I", vector)
        if count > _MAX_BUFFERS:
            raise ValueError(f"{count} buffers")
        return [struct.unpack_from("<qq", self.data, vector + 4 + 16 * i) for i in range(count)]


# Message header union (Arrow's Message.fbs): 2 DictionaryBatch, 3 RecordBatch.
_DICTIONARY_BATCH, _RECORD_BATCH = 2, 3


@dataclass(frozen=True)
class _Claim:
    """What one message says it holds."""

    is_batch: bool
    rows: int  # a batch's rows or a dictionary's entries
    nbytes: int  # decompressed body bytes
    dictionary_id: int = 0
    is_delta: bool = False


def claim_of(message: pa.ipc.Message) -> _Claim:
    """What a dictionary or record batch message's header says it holds."""
    flat = _FlatBuffer(message.metadata.to_pybytes())
    root = flat.root()
    header_type = flat.scalar(root, 1, "<B")
    header = flat.table(root, 2)
    if header is None or header_type not in (_DICTIONARY_BATCH, _RECORD_BATCH):
        raise ValueError(f"unexpected message type {header_type}")
    batch = header if header_type == _RECORD_BATCH else flat.table(header, 1)
    if batch is None:
        raise ValueError("dictionary message without data")
    compressed = flat.table(batch, 3) is not None
    body = message.body
    nbytes = 0
    for offset, length in flat.pairs(batch, 2):
        if compressed and length >= 8:
            expanded = struct.unpack_from("<q", body, offset)[0]
            nbytes += length - 8 if expanded < 0 else expanded
        else:
            nbytes += max(length, 0)
    rows = flat.scalar(batch, 0, "<q")
    if header_type == _RECORD_BATCH:
        return _Claim(True, rows, nbytes)
    return _Claim(
        False, rows, nbytes, flat.scalar(header, 0, "<q"), flat.scalar(header, 2, "<B") != 0
    )


def claimed_batches(path: Path) -> tuple[list[int], str | None]:
    """The rows of every batch the file's message headers claim, in order, up to
    the first claim past the limits, and what is wrong there (None: nothing).
    Only headers and compressed bodies are read: nothing is decompressed."""
    guard = StreamGuard(path)
    rows: list[int] = []
    try:
        while True:
            claimed, problem = guard.check_next()
            if problem is not None or claimed is None:
                return rows, problem
            rows.append(claimed)
    finally:
        guard.close()


class StreamGuard:
    """Reads the stream's message headers, checking each batch's claims before
    the Arrow reader decompresses it."""

    def __init__(self, path: Path):
        self._handle: IO[bytes] = open(path, "rb")  # closed in close()
        self._broken: str | None = None
        try:
            self._messages = pa.ipc.MessageReader.open_stream(self._handle)
            self._messages.read_next_message()  # the schema (the Arrow reader read it too)
        except (pa.ArrowException, OSError, ValueError, MemoryError, StopIteration) as exc:
            self._broken = f"the stream's header is unreadable ({exc})"
        self.rows = 0
        self.batches = 0
        self._entries: dict[int, int] = {}
        self._bytes: dict[int, int] = {}

    def close(self) -> None:
        self._handle.close()

    def check_next(self) -> tuple[int | None, str | None]:
        """Check every message up to the next record batch: (its rows, or None
        at the end of the stream; what is wrong with the messages, or None)."""
        if self._broken is not None:
            return None, self._broken
        dictionaries: list[_Claim] = []
        while True:
            try:
                claim = claim_of(self._messages.read_next_message())
            except StopIteration:
                return None, None
            except (pa.ArrowException, OSError, ValueError, MemoryError, struct.error) as exc:
                return None, f"message after batch {self.batches} is corrupt ({exc})"
            if claim.is_batch:
                break
            dictionaries.append(claim)
        problem = self._check_batch(claim)
        self.rows += max(claim.rows, 0)
        for dictionary in dictionaries:
            problem = problem or self._check_dictionary(dictionary)
        self.batches += 1
        return claim.rows, problem

    def _check_batch(self, claim: _Claim) -> str | None:
        number = self.batches + 1
        if not 0 <= claim.rows <= MAX_BATCH_ROWS:
            return f"batch {number} claims {claim.rows:,} events (at most {MAX_BATCH_ROWS:,})"
        # Checked for every prefix of the file: a bomb's cheap batches come first.
        read = self._handle.tell()
        allowed = max(MIN_ROWS_ALLOWED, read * MAX_ROWS_PER_FILE_BYTE)
        if self.rows + claim.rows > allowed:
            return (
                f"the batches claim {self.rows + claim.rows:,} events in the first {read:,} "
                f"bytes, more than a file of this size holds (at most "
                f"{MAX_ROWS_PER_FILE_BYTE} per byte)"
            )
        if claim.nbytes > claim.rows * _ROW_BYTES + _BATCH_SLACK_BYTES:
            return (
                f"batch {number} claims {claim.nbytes:,} bytes decompressed for "
                f"{claim.rows:,} events (at most {_ROW_BYTES} per event)"
            )
        return None

    def _check_dictionary(self, claim: _Claim) -> str | None:
        key = claim.dictionary_id
        entries = claim.rows + (self._entries.get(key, 0) if claim.is_delta else 0)
        nbytes = claim.nbytes + (self._bytes.get(key, 0) if claim.is_delta else 0)
        self._entries[key], self._bytes[key] = entries, nbytes
        allowed = MAX_DICTIONARY_ENTRIES_PER_ROW * self.rows + DICTIONARY_ENTRIES_SLACK
        if not 0 <= entries <= allowed:
            return (
                f"a dictionary claims {entries:,} entries for {self.rows:,} events "
                f"(at most {allowed:,})"
            )
        if nbytes > MAX_DICTIONARY_BYTES:
            return (
                f"a dictionary claims {nbytes:,} bytes decompressed "
                f"(at most {MAX_DICTIONARY_BYTES >> 20} MiB)"
            )
        return None


# -- schema and values -----------------------------------------------------------------
def check_schema(path: Path, schema: pa.Schema) -> None:
    """Every column of the event schema, with exactly its Arrow type."""
    try:
        names = schema.names  # decoded on access: a corrupt file's names may not be UTF-8
    except UnicodeDecodeError:
        raise TraceError(path, "the column names are not UTF-8 (a corrupt file?)") from None
    for field in EVENT_SCHEMA:
        if field.name not in names:
            missing = [f.name for f in EVENT_SCHEMA if f.name not in names]
            raise TraceError(path, f"trace lacks columns {', '.join(missing)}")
        actual = schema.field(names.index(field.name)).type
        if actual != field.type:
            raise TraceError(path, f"column '{field.name}' is {actual}, expected {field.type}")


class BatchDecoder:
    """Turns validated record batches into numpy columns: enumerations as their
    enum codes (looked up by label), strings as codes into one growing table per
    column (only the dictionary entries a batch uses are decoded). Each batch is
    copied into columns sized for every event the headers claimed, so neither a
    million one-row batches nor the final frame costs a second copy."""

    def __init__(
        self,
        path: Path,
        columns: list[str] | None,
        total_rows: int,
        first_event: int = 0,
        validated: bool = False,
    ):
        self.path = path
        # the batches passed these checks in an earlier read of the same file
        # (the streamed analysis' pass, which a streamed export decodes again):
        # only decode them
        self.validated = validated
        self.keep = list(columns) if columns is not None else EVENT_SCHEMA.names
        self.rows = 0
        # the number of the first event decoded (a page of the trace starts past 0)
        self.first_event = first_event
        self._arrays = {name: _pool_array(total_rows, _numpy_dtype(name)) for name in self.keep}
        self._strings: dict[str, dict[str, int]] = {name: {"": 0} for name in STRING_COLUMNS}
        # where each string first stood in the file's dictionary: the categories'
        # order (the recorder's interning order when the dictionary only grew)
        self._positions: dict[str, dict[str, int]] = {name: {"": -1} for name in STRING_COLUMNS}
        # per dictionary column: the dictionary last seen and its entries' codes
        self._tables: dict[str, tuple[pa.Array, np.ndarray]] = {}
        self._enum_codes = {
            name: {label: code for code, label in enumerate(enum_labels(enum))}
            for name, enum in ENUM_COLUMNS.items()
        }

    def prefaulted(self) -> Prefault:
        """A ``with`` block in which another thread faults in the columns' pages
        ahead of :meth:`add` (probe/prefault.py)."""
        return Prefault(list(self._arrays.values()))

    def _fail(self, column: str, row: int, problem: str) -> TraceError:
        event = self.first_event + self.rows + row
        return TraceError(self.path, f"column '{column}', event {event}: {problem}")

    def add(self, batch: pa.RecordBatch) -> None:
        """Validate ``batch`` (unless the decoder takes ``validated`` batches) and
        keep its columns; a TraceError names the first bad value's column and
        event (row)."""
        start, end = self.rows, self.rows + batch.num_rows
        if any(end > target.size for target in self._arrays.values()):
            raise ValueError("a batch holds more events than its header claims")
        columns: dict[str, np.ndarray] = {}
        for field in EVENT_SCHEMA:
            array = batch.column(batch.schema.get_field_index(field.name))
            if array.null_count and not self.validated:
                row = int(np.argmax(array.is_null().to_numpy(zero_copy_only=False)))
                raise self._fail(field.name, row, "is null")
            # codes are written straight into the kept column (one pass); the
            # rows only count as read once every check below passed
            target = self._arrays.get(field.name)
            out = target[start:end] if target is not None else None
            if field.name in ENUM_COLUMNS:
                columns[field.name] = self._decode(array, field.name, self._enum_label, out)
            elif field.name in STRING_COLUMNS:
                columns[field.name] = self._decode(array, field.name, self._string_code, out)
            else:
                if not self.validated:
                    array.validate(full=True)
                columns[field.name] = array.to_numpy()
        if not self.validated:
            self._check_values(columns)
        for name, target in self._arrays.items():
            if name not in ENUM_COLUMNS and name not in STRING_COLUMNS:
                target[start:end] = columns[name]
        self.rows = end

    def _check_values(self, columns: dict[str, np.ndarray]) -> None:
        seq = columns["seq"]
        first = self.first_event + self.rows
        wrong = seq != np.arange(first, first + seq.size)
        if wrong.any():
            raise TraceError(
                self.path,
                f"event sequence numbers are not contiguous from 0 (corrupt trace): "
                f"event {first + int(np.argmax(wrong))}",
            )
        problem = row_problems(columns)
        if problem is not None:
            column = problem.message.split(" ", 1)[0]
            raise self._fail(column, problem.first_row, problem.message)

    def _decode(
        self,
        array: pa.DictionaryArray,
        column: str,
        lookup: Callable[..., int],
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Codes of the batch's entries (``lookup`` maps a dictionary entry to its
        code, or raises naming the first row that used it), into ``out`` when
        given. Each entry is looked up the first time a row uses it: the codes
        of a column's dictionary are kept while the next batches bring the same
        one, or the same one grown by a delta, so most batches are one gather."""
        indices = array.indices.to_numpy()
        entries = len(array.dictionary)
        checked = not self.validated and indices.size
        if checked and (indices.min() < 0 or indices.max() >= entries):
            raise ValueError(f"column '{column}': dictionary index out of range")
        table = self._code_table(column, array.dictionary)
        # mode "clip": the indices are in range (checked above, or in the pass
        # that validated the batch), and "raise" buffers the output (int32
        # codes of 65,536 rows: 0.093 against 0.057 ms)
        codes = np.take(table, indices, out=out, mode="clip")
        if not codes.size or codes.min() >= 0:
            return codes
        new = np.flatnonzero(np.bincount(indices[codes < 0], minlength=entries))
        taken = array.dictionary.take(pa.array(new, type=array.indices.type))
        if not self.validated:
            taken.validate(full=True)  # invalid UTF-8
        for label, index in zip(taken.to_pylist(), new.tolist(), strict=True):
            table[index] = lookup(column, label, indices, index)
        return np.take(table, indices, out=out, mode="clip")

    def _code_table(self, column: str, dictionary: pa.Array) -> np.ndarray:
        """The codes of ``dictionary``'s entries known so far (-1: not looked up
        yet). The dictionary held for the table keeps its buffers alive, so the
        same addresses mean the same dictionary; a larger one that starts with
        it (a delta) keeps the codes of that start."""
        held = self._tables.get(column)
        if held is not None:
            known, table = held
            if _same_buffers(known, dictionary):
                return table
            if len(dictionary) >= len(known) and dictionary.slice(0, len(known)).equals(known):
                grown = np.full(len(dictionary), -1, dtype=table.dtype)
                grown[: table.size] = table
                self._tables[column] = (dictionary, grown)
                return grown
        table = np.full(len(dictionary), -1, dtype=np.int8 if column in ENUM_COLUMNS else np.int32)
        self._tables[column] = (dictionary, table)
        return table

    def _enum_label(self, column: str, label: str, indices: np.ndarray, index: int) -> int:
        code = self._enum_codes[column].get(label)
        if code is None:
            row = int(np.argmax(indices == index))
            known = ", ".join(self._enum_codes[column])
            raise self._fail(column, row, f"unknown value {label!r} (expected one of {known})")
        return code

    def _string_code(self, column: str, label: str, indices: np.ndarray, index: int) -> int:
        table = self._strings[column]
        self._positions[column].setdefault(label, int(index))
        return table.setdefault(label, len(table))

    def labels(self, column: str) -> dict[str, str]:
        """Each string of ``column`` read so far -> its label in :meth:`frame`
        (printable and distinct, ranked by where the file's dictionary first
        held them)."""
        positions = self._positions[column]
        ranked = sorted(self._strings[column], key=positions.__getitem__)
        return dict(zip(ranked, unique_printable(ranked), strict=True))

    def frame(self) -> pd.DataFrame:
        """The events read as a DataFrame (enumerations and strings as
        Categoricals whose codes are the enum values / table indices)."""
        import pandas as pd  # here: reading only a trace's metadata needs no pandas

        series: dict[str, Any] = {}
        for name in self.keep:
            values: Any = self._arrays.pop(name)[: self.rows]
            if name in ENUM_COLUMNS:
                values = pd.Categorical.from_codes(
                    values, pd.Index(enum_labels(ENUM_COLUMNS[name]))
                )
            elif name in STRING_COLUMNS:
                strings = list(self._strings[name])
                positions = self._positions[name]
                order = np.argsort([positions[text] for text in strings], kind="stable")
                if (order != np.arange(order.size)).any():  # else codes are already ranks
                    rank = np.empty(order.size, dtype=values.dtype)
                    rank[order] = np.arange(order.size)
                    values = rank[values]
                # names from the file reach terminals and HTML
                labels = unique_printable([strings[i] for i in order])
                values = pd.Categorical.from_codes(values, pd.Index(labels))
            series[name] = values
        return pd.DataFrame(series, copy=False)


def _same_buffers(one: pa.Array, other: pa.Array) -> bool:
    """Whether two arrays are the same values in the same memory (Arrow buffers
    are immutable)."""
    addresses = [[b.address if b else 0 for b in a.buffers()] for a in (one, other)]
    return (len(one), one.offset) == (len(other), other.offset) and addresses[0] == addresses[1]


_SMALL_ARRAY_BYTES = 8 << 20


def _pool_array(size: int, dtype: np.dtype) -> np.ndarray:
    """An uninitialised numpy array, a large one in Arrow's memory pool. The
    pool hands back the pages the batches were just decompressed into; numpy's
    own large arrays are fresh (huge-page) mappings whose first touch cost
    3-10x the copy itself here (bench/bench_analyze.py, issue 17). A small one
    (a page of a trace, the batches of a streamed export) comes from the C
    heap, which keeps freed blocks: the pool maps each afresh (10 ms a batch)."""
    if size * dtype.itemsize < _SMALL_ARRAY_BYTES:
        return np.empty(size, dtype=dtype)
    return np.frombuffer(pa.allocate_buffer(size * dtype.itemsize), dtype=dtype, count=size)


def _numpy_dtype(column: str) -> np.dtype:
    arrow_type = EVENT_SCHEMA.field(column).type
    if pa.types.is_dictionary(arrow_type):
        return np.dtype(np.int8 if column in ENUM_COLUMNS else np.int32)
    return np.dtype(arrow_type.to_pandas_dtype())


# -- metadata ------------------------------------------------------------------------
def checked_chip(chip: ChipProfile, where: str | os.PathLike[str]) -> ChipProfile:
    """``chip`` if every figure is usable (probe/chip.py's ranges, the same as for
    a profile YAML), else a TraceError naming the first bad one: a trace embeds
    its chip profile, and metadata can be hand-edited or foreign."""
    try:
        check_chip_figures(chip, os.fspath(where))
    except ChipProfileError as exc:
        raise TraceError(where, f"the chip profile in the metadata: {exc.problem}") from None
    return chip


def check_metadata(path: Path, meta: dict[str, Any]) -> None:
    """The chip profile (when present) and ``minimal_traffic`` of trace metadata."""
    if "chip" in meta:
        if not isinstance(meta["chip"], dict):
            raise TraceError(path, "the chip profile in the metadata is not a mapping")
        try:
            chip = ChipProfile.from_dict(meta["chip"], source=str(path))
        except ChipProfileError as exc:
            raise TraceError(path, f"the chip profile in the metadata: {exc.problem}") from None
        checked_chip(chip, path)
    minimal = meta.get("minimal_traffic", {})
    if not isinstance(minimal, dict):
        raise TraceError(path, "metadata minimal_traffic is not a mapping")
    for key, value in minimal.items():
        whole = isinstance(value, int) and not isinstance(value, bool)
        if key not in ("read", "write") or not (whole and 0 <= value < 1 << 62):
            raise TraceError(
                path, f"metadata minimal_traffic.{key}: expected read/write in whole bytes"
            )
