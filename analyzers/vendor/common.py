"""What every vendor reader returns, and the text/CSV/JSON helpers they share.

Huawei tools write CSVs with quirks (a TAB after every timestamp, a trailing
comma on every line, ``NA``/``N/A``/empty cells, CRLF or LF) and can write
files of a gigabyte, so the CSV reader here streams them through Arrow's
multi-threaded CSV parser (numbers and timestamps typed by the parser itself),
strips and NA-normalises cells batch by batch and never lets a parser
exception escape as anything but :class:`VendorFormatError`.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ubscope.analyzers.findings import Finding
from ubscope.probe.errors import VendorFormatError, warn_partial

NA_TOKENS = ("", "NA", "N/A")
DEFAULT_CHUNK_ROWS = 100_000
MAX_CSV_LINE_BYTES = 16 << 20
# Columns kept from a CSV header (real tool output has under 200); a chunk holds
# at most MAX_CHUNK_CELLS cells, so a very wide file is read a few rows at a time.
MAX_CSV_COLUMNS = 4096
MAX_CHUNK_CELLS = 2_000_000
MAX_JSON_BYTES = 256 << 20
# Deep enough for any real tool output, shallow enough to stay far from
# Python's recursion limit when json builds nested containers.
MAX_JSON_DEPTH = 64
# Values (containers, keys and scalars) in a JSON file read whole: an empty
# object costs ~70 bytes for 3 bytes of file, so the byte cap alone is not a
# memory bound. Real msadvisor results hold a few thousand.
MAX_JSON_VALUES = 1_000_000


@dataclass
class VendorReport:
    """One vendor tool's output, normalised.

    ``tables`` hold the records as typed columns (one DataFrame per record
    kind); ``findings`` are the problems the tool itself reported;
    ``warnings`` list the parts of the input that could not be read;
    ``summary`` says in a few lines what the tool measured, for a report that
    has no finding to show (empty where a reader gives none).
    """

    tool: str
    path: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)

    def note_partial(self, path: str | os.PathLike[str], problem: str) -> None:
        """Record (and warn) that part of ``path`` was unreadable and skipped."""
        warn_partial(path, problem)
        self.warnings.append(f"{os.fspath(path)}: {problem}")


def header_key(name: str) -> str:
    """A column name reduced for tolerant matching: ``Device Id`` == ``device_id``."""
    return re.sub(r"[\s_]+", "", name.replace("\ufeff", "")).lower()


def find_column(columns: Sequence[str], *names: str) -> str | None:
    """The first column of ``columns`` matching one of ``names`` tolerantly."""
    keys = {header_key(column): column for column in columns}
    for name in names:
        if header_key(name) in keys:
            return keys[header_key(name)]
    return None


def to_number(values: pd.Series) -> pd.Series:
    """Cells as float64; NA tokens and unparsable cells become NaN."""
    return pd.to_numeric(values, errors="coerce").astype("float64")


def whole_numbers(values: pd.Series) -> pd.Series:
    """Cells as Int64: NA unless a whole number in 0..2**63."""
    numbers = pd.to_numeric(values, errors="coerce")
    valid = numbers.notna() & (numbers >= 0) & (numbers < 2**63) & (numbers % 1 == 0)
    return numbers.where(valid).astype("Float64").astype("Int64")


INT64_MAX = str(2**63 - 1)
_DECIMAL = r"\d{1,16}(?:\.\d*)?"  # epoch µs has 16 integer digits


def us_text_to_ns(values: pd.Series) -> pd.Series:
    """Microsecond text (``"1736408883573957.920\\t"``) as exact int64 nanoseconds.

    float64 keeps only ~16 significant digits, which loses the nanosecond
    digits of epoch-microsecond stamps, so the integer and fraction parts are
    converted separately. Unparsable cells become <NA>.
    """
    text = values.astype("str").str.strip().str.strip('"').str.strip()
    padded = text.where(text.str.contains(".", regex=False), text + ".") + "000"
    digits = padded.str.replace(r"^0*(\d{1,16})\.(\d{3})\d*$", r"\1\2", regex=True)
    valid = digits.str.fullmatch(r"\d{1,19}").fillna(False).astype(bool)
    fits = (digits.str.len() < 19) | (
        digits <= INT64_MAX
    )  # equal-length strings compare as numbers
    return digits.where(valid & fits.fillna(False).astype(bool)).astype("Int64")


def us_scalar_to_ns(value: object) -> int | None:
    """One microsecond value (string or number) as int nanoseconds, or None."""
    text = str(value).strip() if isinstance(value, (str, int, float)) else ""
    if isinstance(value, float):
        text = f"{value:.3f}"
    if not re.fullmatch(_DECIMAL, text):
        return None
    whole, _, fraction = text.partition(".")
    ns = int(whole) * 1000 + int((fraction[:3] or "0").ljust(3, "0"))
    return ns if ns <= int(INT64_MAX) else None


# Unreadable cells quoted in a problem, at most.
UNREADABLE_SHOWN = 3


def typed_columns(
    frame: pd.DataFrame,
    *,
    text: Sequence[str] = (),
    epoch_us: Sequence[str] = (),
    numeric: Sequence[str] = (),
) -> tuple[pd.DataFrame, list[str]]:
    """Numeric columns as numbers, epoch-microsecond columns as int64 ns, and
    a problem per column whose unreadable cells were read as missing.

    A ``numeric`` column, or one whose non-missing cells all or mostly parse,
    becomes numbers: its other cells (``abc`` where a duration belongs) are
    missing and named in the problem. Other columns, names and shapes, stay
    text; ``epoch_us`` columns are replaced by a ``...(ns)`` column (exact,
    see :func:`us_text_to_ns`).
    """
    typed = frame.copy()
    problems: list[str] = []
    for column in frame.columns:
        cells = frame[column]
        if column in epoch_us:
            ns_name = column.replace("(us)", "(ns)") if "(us)" in column else f"{column}(ns)"
            numbers = us_text_to_ns(cells)
            typed.insert(list(typed.columns).index(column), ns_name, numbers)
            typed = typed.drop(columns=column)
        elif column in text:
            continue
        else:
            numbers = pd.to_numeric(cells, errors="coerce")
        lost = np.flatnonzero(cells.notna().to_numpy() & numbers.isna().to_numpy())
        if column not in epoch_us:
            if column not in numeric and lost.size and lost.size >= numbers.notna().sum():
                continue  # a column of text
            typed[column] = numbers
        if lost.size:
            shown = [
                f"data row {row + 1}: {str(cells.iloc[row])[:40]!r}"
                for row in lost[:UNREADABLE_SHOWN]
            ]
            problems.append(unreadable_numbers(column, lost.size, shown))
    return typed, problems


def pmu_columns(header: Sequence[str]) -> list[str]:
    """The columns of ``header`` holding the AI cores' PMU counters (``aic_*``,
    ``aiv_*``: msprof op's metric CSVs, op_summary and kernel_details), which
    the tools write as numbers (or NA)."""
    return [name for name in header if name.startswith(("aic_", "aiv_"))]


def unreadable_numbers(column: str, count: int, shown: Sequence[str]) -> str:
    """The problem of a column with ``count`` cells that should be numbers and
    are not, the first few ``shown``."""
    what = "1 cell is not a number" if count == 1 else f"{count} cells are not numbers"
    more = ", ..." if count > len(shown) else ""
    return f"column {column!r}: {what} ({', '.join(shown)}{more}), read as missing"


def check_size(path: Path, limit: int, what: str) -> int:
    """The size of ``path``; refuses missing, empty or over-large files."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise VendorFormatError(path, f"expected {what}, cannot read it ({exc.strerror})") from None
    if size == 0:
        raise VendorFormatError(path, f"expected {what}, the file is empty")
    if size > limit:
        raise VendorFormatError(
            path, f"expected {what} of at most {limit >> 20} MiB, got {size >> 20} MiB"
        )
    return size


_JSON_SCAN_BYTES = 256 << 10


def _json_shape(path: Path) -> tuple[int, int]:
    """(deepest bracket nesting, values) of a JSON file, streamed in blocks.

    Brackets and commas inside strings do not count; ``values`` (openers plus
    commas) bounds the containers and scalars json would build, about one
    Python object each. The scan stops as soon as a cap is passed, so an
    80-million-object file costs a few blocks, not gigabytes.
    """
    depth = deepest = values = 0
    in_string, backslashes = False, 0  # state carried from the previous block
    with open(path, "rb") as handle:
        while block := handle.read(_JSON_SCAN_BYTES):
            data = np.frombuffer(block, dtype=np.uint8)
            index = np.arange(data.size)
            is_backslash = data == 92
            last_other = np.maximum.accumulate(np.where(is_backslash, -1, index))
            run = index - last_other  # backslashes ending at each position
            run = np.where(last_other < 0, run + backslashes, run)
            quotes = np.flatnonzero(data == 34)
            before = np.where(quotes > 0, run[quotes - 1], backslashes)
            before = np.where((quotes > 0) & ~is_backslash[quotes - 1], 0, before)
            quotes = quotes[before % 2 == 0]
            marks = np.flatnonzero(np.isin(data, (44, 91, 93, 123, 125)))
            outside = (np.searchsorted(quotes, marks) + in_string) % 2 == 0
            marks = data[marks[outside]]
            steps = np.where((marks == 91) | (marks == 123), 1, np.where(marks == 44, 0, -1))
            if steps.size:
                levels = depth + np.cumsum(steps)
                deepest = max(deepest, int(levels.max()))
                depth = int(levels[-1])
            values += int(np.count_nonzero(steps >= 0))
            in_string ^= bool(quotes.size % 2)
            backslashes = int(run[-1]) if is_backslash[-1] else 0
            if deepest > MAX_JSON_DEPTH or values > MAX_JSON_VALUES:
                break
    return deepest, values


def read_text(path: Path, what: str, limit: int) -> str:
    """A whole (bounded-size) UTF-8 file, or VendorFormatError naming ``what``."""
    check_size(path, limit, what)
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise VendorFormatError(path, f"expected {what} (UTF-8), got undecodable bytes") from None
    except OSError as exc:
        raise VendorFormatError(path, f"expected {what}, cannot read it ({exc.strerror})") from None


def load_json(
    path: Path, what: str, limit: int = MAX_JSON_BYTES, lenient: VendorReport | None = None
) -> object:
    """A whole JSON file within the size, nesting and value caps, or
    VendorFormatError naming ``what``. With ``lenient``, raw control
    characters inside strings (JSON pasted with a newline in a value) are
    accepted and noted on that report as a warning."""
    check_size(path, limit, what)
    deepest, values = _json_shape(path)
    if deepest > MAX_JSON_DEPTH:
        raise VendorFormatError(
            path, f"expected {what}, got JSON nested over {MAX_JSON_DEPTH} deep"
        )
    if values > MAX_JSON_VALUES:
        raise VendorFormatError(
            path, f"expected {what}, got JSON of over {MAX_JSON_VALUES:,} values"
        )
    text = read_text(path, what, limit)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        error = exc
    if lenient is not None and isinstance(error, ValueError):
        try:
            data = json.loads(text, strict=False)
        except (ValueError, RecursionError):
            pass
        else:
            lenient.note_partial(
                path, "read non-strictly: raw control characters (e.g. a newline) inside strings"
            )
            return data
    raise VendorFormatError(path, f"expected {what}, got invalid JSON ({error})")


def _header_fields(path: Path, what: str, *, trailing: bool = False) -> list[str]:
    """Every stripped field of the first line; a trailing empty one (the
    msOpProf trailing comma) is dropped unless ``trailing``."""
    check_size(path, 1 << 62, what)
    try:
        with open(path, "rb") as handle:
            first = handle.readline(MAX_CSV_LINE_BYTES).decode("utf-8-sig")
        names = next(csv.reader([first]), [])
    except (UnicodeDecodeError, csv.Error):
        raise VendorFormatError(
            path, f"expected {what} (UTF-8 CSV), got undecodable bytes"
        ) from None
    except OSError as exc:
        raise VendorFormatError(path, f"expected {what}, cannot read it ({exc.strerror})") from None
    names = [name.replace("\ufeff", "").strip() for name in names]
    if names and not names[-1] and not trailing:
        names.pop()
    return names


def csv_header(path: Path, what: str) -> list[str]:
    """The column names of a CSV file, at most MAX_CSV_COLUMNS of them."""
    names = _header_fields(path, what)[:MAX_CSV_COLUMNS]
    if not names or not all(names) or len(set(names)) != len(names):
        raise VendorFormatError(path, f"expected {what}, the first line is not a CSV header")
    return names


def require_columns(path: Path, header: Sequence[str], what: str, *groups: Sequence[str]) -> None:
    """Raise unless each group of alternative names matches one header column."""
    missing = [group[0] for group in groups if find_column(header, *group) is None]
    if missing:
        raise VendorFormatError(path, f"expected {what} with column(s) {', '.join(missing)}")


def _longest_line(path: Path) -> int:
    """Length of the longest line, scanned in blocks so no line is materialised."""
    longest = carried = 0
    with open(path, "rb") as handle:
        while block := handle.read(8 << 20):
            breaks = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
            if breaks.size == 0:
                carried += len(block)
            else:
                spans = np.diff(breaks)
                longest = max(longest, carried + int(breaks[0]), int(spans.max(initial=0)))
                carried = len(block) - int(breaks[-1]) - 1
            longest = max(longest, carried)
    return longest


_NA_VALUES = list(NA_TOKENS)
# A timestamp cell read exactly: epoch µs have 16 integer digits and 3 decimals.
_EPOCH_US = pa.decimal128(20, 3)
# Arrow parses a file in blocks of this size, a few ahead of the reader: 1 MiB
# blocks keep a 1 GiB file's read at ~140 MiB over the imports (4 MiB: ~260).
_BLOCK_BYTES = 1 << 20


@dataclass
class _Columns:
    """What a CSV read is asked for: the columns kept and how each is typed."""

    names: list[str]
    numbers: frozenset[str]
    epoch_us: frozenset[str]
    categories: frozenset[str]

    def arrow_types(self, typed: bool) -> dict[str, pa.DataType]:
        """Column types for Arrow's parser; ``typed`` parses numbers and stamps
        there (fast, but one bad cell fails the block), else every cell is bytes."""
        types: dict[str, pa.DataType] = {}
        for name in self.names:
            if name in self.categories:
                types[name] = pa.dictionary(pa.int32(), pa.binary())
            elif typed and name in self.numbers:
                types[name] = pa.float64()
            elif typed and name in self.epoch_us:
                types[name] = _EPOCH_US
            else:
                types[name] = pa.binary()
        return types


class _ConversionFailed(Exception):
    """A typed pass failed (a cell of a typed column did not parse): the file
    is read again leniently."""


class _RowCheck:
    """Arrow's handler for rows with the wrong number of fields: counted and
    skipped, except an unterminated quote (a broken file, as pandas saw it)
    and the truncated last line (skipped with its own warning)."""

    def __init__(self, last_line: str | None):
        self.last_line = last_line
        self.malformed = 0
        self.truncated = False

    def __call__(self, row: pcsv.InvalidRow) -> str:
        text = row.text.rstrip("\r\n")
        if self.last_line is not None and text == self.last_line:
            self.truncated = True
            return "skip"
        if text.count('"') % 2:
            return "error"
        self.malformed += 1
        return "skip"


def _text(values: pa.Array) -> tuple[pa.Array, np.ndarray | None]:
    """Bytes as stripped UTF-8 text with NA tokens null, and the rows (if any)
    whose bytes are not UTF-8 (they are skipped, not guessed)."""
    try:
        text = values.cast(pa.string())
        bad = None
    except pa.ArrowInvalid:
        cells = values.to_pylist()
        bad = np.array([not _decodes(cell) for cell in cells], dtype=bool)
        text = pa.array(
            [None if b or c is None else c.decode() for c, b in zip(cells, bad, strict=True)],
            pa.string(),
        )
    text = pc.utf8_trim_whitespace(text)
    return pc.if_else(pc.is_in(text, pa.array(_NA_VALUES)), None, text), bad


def _decodes(cell: bytes | None) -> bool:
    try:
        cell is None or cell.decode()
    except UnicodeDecodeError:
        return False
    return True


def _category(values: pa.DictionaryArray) -> tuple[pa.Array, np.ndarray | None]:
    """A dictionary column cleaned through its (small) dictionary: labels that
    strip to the same text merge, NA labels become null."""
    labels, bad_labels = _text(values.dictionary)
    unique = pc.unique(labels.drop_null())
    indices = pc.take(pc.index_in(labels, unique), values.indices)
    cleaned = pa.DictionaryArray.from_arrays(indices, unique)
    if bad_labels is None:
        return cleaned, None
    codes = values.indices.fill_null(0).to_numpy()
    return cleaned, bad_labels[codes] & values.indices.is_valid().to_numpy(zero_copy_only=False)


def _epoch_ns(values: pa.Array) -> pa.Array:
    """Parsed decimal µs (3 places) as int64 ns; negative or too large -> null."""
    words = np.frombuffer(values.buffers()[1], dtype=np.int64)
    words = words[2 * values.offset : 2 * (values.offset + len(values))].reshape(-1, 2)
    low, high = words[:, 0], words[:, 1]
    valid = (high == 0) & (low >= 0) & values.is_valid().to_numpy(zero_copy_only=False)
    return pa.array(low, mask=~valid)


def _lenient(values: pa.Array, epoch_us: bool) -> pa.Array:
    """Stripped text cells as numbers (or exact ns); what does not parse is null."""
    cells = values.to_pandas()
    if epoch_us:
        return pa.array(us_text_to_ns(cells), pa.int64(), from_pandas=True)
    return pa.array(to_number(cells), pa.float64(), from_pandas=True)


@dataclass
class _Unreadable:
    """A number column's cells that held text, over a whole file."""

    count: int = 0
    shown: list[str] = field(default_factory=list)

    def add(self, text: pa.Array, numbers: pa.Array) -> None:
        lost = pc.and_(text.is_valid(), numbers.is_null())
        count = pc.sum(lost).as_py() or 0
        if count and len(self.shown) < UNREADABLE_SHOWN:
            cells = text.filter(lost).slice(0, UNREADABLE_SHOWN - len(self.shown))
            self.shown += [repr(cell[:40]) for cell in cells.to_pylist()]
        self.count += count


def _clean(
    batch: pa.RecordBatch, columns: _Columns, typed: bool, unreadable: dict[str, _Unreadable]
) -> pa.RecordBatch:
    """Text stripped and NA-normalised, numbers and stamps converted, rows that
    are not UTF-8 dropped; the number and stamp cells that are text counted
    in ``unreadable``."""
    arrays, skip = [], np.zeros(batch.num_rows, dtype=bool)
    for name, values in zip(batch.schema.names, batch.columns, strict=True):
        if name in columns.categories:
            values, bad = _category(values)
        elif typed and name in columns.numbers:
            arrays.append(values)
            continue
        elif typed and name in columns.epoch_us:
            arrays.append(_epoch_ns(values))
            continue
        else:
            values, bad = _text(values)
            if name in columns.numbers or name in columns.epoch_us:
                numbers = _lenient(values, name in columns.epoch_us)
                unreadable.setdefault(name, _Unreadable()).add(values, numbers)
                values = numbers
        if bad is not None:
            skip |= bad
        arrays.append(values)
    cleaned = pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
    return cleaned.filter(pa.array(~skip)) if skip.any() else cleaned


def _rechunk(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """The same rows in batches of exactly ``rows`` (the last one shorter)."""
    held: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        held.append(batch)
        count += batch.num_rows
        while count >= rows:
            whole = pa.concat_batches(held) if len(held) > 1 else held[0]
            yield whole.slice(0, rows)
            held, count = [whole.slice(rows)], count - rows
    if count:
        yield pa.concat_batches(held) if len(held) > 1 else held[0]


def _last_line(path: Path, columns: int) -> str | None:
    """The last line's text when the file ends mid-row (no final newline and
    too few fields), else None."""
    with open(path, "rb") as handle:
        handle.seek(max(0, handle.seek(0, os.SEEK_END) - 65536))
        tail = handle.read()
    if tail.endswith(b"\n"):
        return None
    last = tail.rsplit(b"\n", 1)[-1].decode("utf-8", "replace")
    try:
        short = len(next(csv.reader([last]), [])) < columns
    except csv.Error:
        short = True
    return last.rstrip("\r") if short else None


class _CsvRead:
    """Passes of Arrow's streaming CSV reader over a vendor CSV."""

    def __init__(
        self, path: Path, fields: list[str], columns: _Columns, check: _RowCheck, block: int
    ):
        self.path, self.fields, self.columns, self.check = path, fields, columns, check
        self.block = block

    def _open(self, typed: bool) -> pcsv.CSVStreamingReader:
        return pcsv.open_csv(
            self.path,
            read_options=pcsv.ReadOptions(
                column_names=self.fields, skip_rows=1, block_size=self.block
            ),
            parse_options=pcsv.ParseOptions(invalid_row_handler=self.check),
            convert_options=pcsv.ConvertOptions(
                column_types=self.columns.arrow_types(typed),
                include_columns=self.columns.names,
                null_values=_NA_VALUES,
                strings_can_be_null=True,
            ),
        )

    def _wide_rows(self, skip_rows: int) -> Iterator[pa.RecordBatch]:
        """Rows of a file wider than MAX_CSV_COLUMNS as byte columns, through
        Python's csv module: Arrow's parser costs gigabytes of address space
        for a million columns, and only the first MAX_CSV_COLUMNS are kept."""
        keep = [self.fields.index(name) for name in self.columns.names]
        rows: list[list[bytes]] = []
        with open(self.path, encoding="utf-8-sig", errors="surrogateescape", newline="") as text:
            lines = csv.reader(text)
            try:
                next(lines, None)
                for row in lines:
                    if not row:
                        continue
                    if len(row) != len(self.fields):
                        self.check.malformed += 1
                        continue
                    if skip_rows:
                        skip_rows -= 1
                        continue
                    rows.append([row[i].encode("utf-8", "surrogateescape") for i in keep])
                    if len(rows) == MAX_CHUNK_CELLS // len(self.fields) + 1:
                        yield self._batch(rows)
                        rows = []
            except csv.Error as exc:
                raise pa.ArrowInvalid(f"CSV parse error: {exc}") from None
        if rows:
            yield self._batch(rows)

    def _batch(self, rows: list[list[bytes]]) -> pa.RecordBatch:
        cells = [
            pa.array([row[i] or None for row in rows], pa.binary()) for i in range(len(rows[0]))
        ]
        return pa.RecordBatch.from_arrays(cells, names=self.columns.names)

    def batches(self, typed: bool, skip_rows: int) -> Iterator[pa.RecordBatch]:
        """Parsed batches after the first ``skip_rows`` rows; raises
        _ConversionFailed when a ``typed`` pass fails."""
        if len(self.fields) > MAX_CSV_COLUMNS:
            yield from self._wide_rows(skip_rows)
            return
        try:
            reader = self._open(typed)  # parses the first block
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                if skip_rows < batch.num_rows:
                    yield batch.slice(skip_rows)
                skip_rows = max(0, skip_rows - batch.num_rows)
        except pa.ArrowInvalid:
            if typed:  # a parse error, if that is what it was, shows again leniently
                raise _ConversionFailed from None
            raise


def read_csv_batches(
    path: Path,
    report: VendorReport,
    what: str,
    *,
    columns: Sequence[str] | None = None,
    numbers: Sequence[str] = (),
    epoch_us: Sequence[str] = (),
    categories: Sequence[str] = (),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[pa.RecordBatch]:
    """Yield the rows of a vendor CSV as Arrow batches of at most ``chunk_rows``.

    Only ``columns`` (default: all, at most MAX_CSV_COLUMNS, with a warning
    naming the count dropped) are kept; chunks shrink for wide files
    (MAX_CHUNK_CELLS). Cells are stripped (timestamps end with a TAB) and
    ``NA``/``N/A``/empty become null; a trailing empty column is dropped.
    ``numbers`` come as float64 and ``epoch_us`` as exact int64 nanoseconds
    (null where a cell does not parse), ``categories`` as dictionary-encoded
    text, the rest as text. Arrow parses the typed columns itself; when one of
    their cells does not parse, the rest of the file is converted cell by cell
    instead. Lines with a wrong field count and a truncated last line are
    skipped with a partial-read warning, rows that are not UTF-8 too; an
    unreadable file raises VendorFormatError, one that breaks down after some
    rows keeps those rows (with a warning).
    """
    header = csv_header(path, what)
    fields = _header_fields(path, what, trailing=True)
    named = len(_header_fields(path, what))
    if named > len(header):
        report.note_partial(path, f"read the first {len(header)} of {named} columns")
    names = [name for name in header if columns is None or name in columns]
    wanted = _Columns(names, frozenset(numbers), frozenset(epoch_us), frozenset(categories))
    check = _RowCheck(_last_line(path, len(fields)))
    size = path.stat().st_size
    longest = _longest_line(path) if size > MAX_CSV_LINE_BYTES else size
    if longest > MAX_CSV_LINE_BYTES:
        raise VendorFormatError(
            path, f"expected {what}, got a line longer than {MAX_CSV_LINE_BYTES >> 20} MiB"
        )
    read = _CsvRead(
        path,
        [*header, *(f"\x00{i}" for i in range(len(header), len(fields)))],
        wanted,
        check,
        block=max(_BLOCK_BYTES, longest + 2),  # a block holds at least one whole line
    )
    state = {"rows": 0, "dropped": 0}
    unreadable: dict[str, _Unreadable] = {}

    def cleaned() -> Iterator[pa.RecordBatch]:
        typed, parsed = bool(wanted.numbers or wanted.epoch_us), 0
        while True:
            try:
                for batch in read.batches(typed, parsed):
                    parsed += batch.num_rows
                    kept = _clean(batch, wanted, typed, unreadable)
                    state["dropped"] += batch.num_rows - kept.num_rows
                    state["rows"] += kept.num_rows
                    yield kept
                return
            except _ConversionFailed:
                typed, check.malformed = False, 0

    try:
        yield from _rechunk(cleaned(), max(1, min(chunk_rows, MAX_CHUNK_CELLS // len(fields))))
    except (pa.ArrowInvalid, OSError) as exc:
        reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        if state["rows"] == 0:
            raise VendorFormatError(path, f"expected {what}, {reason}") from None
        report.note_partial(path, f"stopped after {state['rows']} rows: {reason}")
    if check.malformed:
        report.note_partial(path, f"skipped {check.malformed} malformed line(s)")
    if state["dropped"]:
        report.note_partial(path, f"skipped {state['dropped']} row(s) that are not valid UTF-8")
    if check.truncated:
        report.note_partial(path, "the last line is truncated; skipped it")
    for name, cells in unreadable.items():
        if cells.count:
            report.note_partial(path, unreadable_numbers(name, cells.count, cells.shown))


def read_csv_chunks(
    path: Path,
    report: VendorReport,
    what: str,
    *,
    columns: Sequence[str] | None = None,
    numbers: Sequence[str] = (),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """The rows of a vendor CSV as DataFrames of at most ``chunk_rows``: text,
    but ``numbers`` as float64 (see :func:`read_csv_batches`; missing cells are NaN)."""
    batches = read_csv_batches(
        path, report, what, columns=columns, numbers=numbers, chunk_rows=chunk_rows
    )
    for batch in batches:
        yield batch.to_pandas()


def read_csv_table(
    path: Path,
    report: VendorReport,
    what: str,
    *,
    text: Sequence[str] = (),
    epoch_us: Sequence[str] = (),
    numeric: Sequence[str] = (),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> pd.DataFrame:
    """A small vendor CSV as one typed DataFrame (see :func:`typed_columns`);
    a warning per column with cells that should be numbers and are not."""
    chunks = list(read_csv_chunks(path, report, what, chunk_rows=chunk_rows))
    frame = (
        pd.concat(chunks, ignore_index=True)
        if chunks
        else pd.DataFrame(columns=csv_header(path, what))
    )
    for column in [c for c in frame.columns if "Shapes" in c]:
        frame[column] = frame[column].str.strip('"')  # kernel_details writes """32,3,224,224"""
    text_columns = [c for c in frame.columns if find_column([c], *text)]
    epoch_columns = [c for c in frame.columns if find_column([c], *epoch_us)]
    numeric_columns = [c for c in frame.columns if find_column([c], *numeric)]
    typed, problems = typed_columns(
        frame, text=text_columns, epoch_us=epoch_columns, numeric=numeric_columns
    )
    for problem in problems:
        report.note_partial(path, problem)
    return typed
