"""What every vendor reader returns, and the text/CSV/JSON helpers they share.

Huawei tools write CSVs with quirks (a TAB after every timestamp, a trailing
comma on every line, ``NA``/``N/A``/empty cells, CRLF or LF) and can write
files of a gigabyte, so the CSV reader here strips and NA-normalises cells
chunk by chunk and never lets a parser exception escape as anything but
:class:`VendorFormatError`.
"""

from __future__ import annotations

import csv
import json
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

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
    ``warnings`` list the parts of the input that could not be read.
    """

    tool: str
    path: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

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


def typed_columns(
    frame: pd.DataFrame, *, text: Sequence[str] = (), epoch_us: Sequence[str] = ()
) -> pd.DataFrame:
    """Numeric columns as numbers, epoch-microsecond columns as int64 ns.

    A column becomes numeric only when every non-missing cell parses, so name
    and shape columns stay text; ``epoch_us`` columns are replaced by a
    ``...(ns)`` column (exact, see :func:`us_text_to_ns`).
    """
    typed = frame.copy()
    for column in frame.columns:
        if column in epoch_us:
            ns_name = column.replace("(us)", "(ns)") if "(us)" in column else f"{column}(ns)"
            typed.insert(list(typed.columns).index(column), ns_name, us_text_to_ns(frame[column]))
            typed = typed.drop(columns=column)
        elif column not in text:
            numbers = pd.to_numeric(frame[column], errors="coerce")
            if numbers.notna().sum() == frame[column].notna().sum():
                typed[column] = numbers
    return typed


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


def _header_fields(path: Path, what: str) -> list[str]:
    """Every stripped field of the first line; a trailing empty one (the
    msOpProf trailing comma) is dropped."""
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
    if names and not names[-1]:
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


def _last_line_truncated(path: Path, columns: int) -> bool:
    """Whether the file ends mid-row: no final newline and too few fields."""
    with open(path, "rb") as handle:
        handle.seek(max(0, handle.seek(0, os.SEEK_END) - 65536))
        tail = handle.read()
    if tail.endswith(b"\n"):
        return False
    last = tail.rsplit(b"\n", 1)[-1].decode("utf-8", "replace")
    try:
        return len(next(csv.reader([last]), [])) < columns
    except csv.Error:
        return True


def _clean(chunk: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    chunk = chunk.iloc[:, : len(names)].copy()
    chunk.columns = names
    for column in names:
        stripped = chunk[column].str.strip()
        chunk[column] = stripped.mask(stripped.isin(NA_TOKENS))
    return chunk


def _undecodable_rows(chunk: pd.DataFrame) -> pd.Series:
    """Rows where decoding replaced bytes (U+FFFD): they are skipped, not guessed."""
    marked = pd.Series(False, index=chunk.index)
    for column in chunk.columns:
        marked |= chunk[column].str.contains("\ufffd", regex=False).fillna(False).astype(bool)
    return marked


def _next_chunk(chunks: Iterator[pd.DataFrame]) -> tuple[pd.DataFrame | None, int]:
    """The next chunk and the number of malformed-line warnings pandas gave for it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        chunk = next(chunks, None)
    return chunk, sum(issubclass(w.category, pd.errors.ParserWarning) for w in caught)


def read_csv_chunks(
    path: Path,
    report: VendorReport,
    what: str,
    *,
    columns: Sequence[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """Yield the rows of a vendor CSV as string DataFrames of at most ``chunk_rows``.

    Only ``columns`` (default: all, at most MAX_CSV_COLUMNS, with a warning
    naming the count dropped) are parsed; lines with extra fields are then not
    detected. Chunks shrink for wide files (MAX_CHUNK_CELLS). Cells are stripped
    (timestamps end with a TAB) and ``NA``/``N/A``/empty become NaN; a
    trailing empty column is dropped. Lines with too many
    fields and a truncated last line are skipped with a partial-read warning;
    an unreadable file raises VendorFormatError, one that breaks down after
    some rows keeps those rows (with a warning).
    """
    header = csv_header(path, what)
    fields = len(_header_fields(path, what))
    if fields > len(header):
        report.note_partial(path, f"read the first {len(header)} of {fields} columns")
    names = [name for name in header if columns is None or name in columns]
    if path.stat().st_size > MAX_CSV_LINE_BYTES and _longest_line(path) > MAX_CSV_LINE_BYTES:
        raise VendorFormatError(
            path, f"expected {what}, got a line longer than {MAX_CSV_LINE_BYTES >> 20} MiB"
        )
    drop_last = _last_line_truncated(path, fields)
    pending: pd.DataFrame | None = None
    rows = skipped = dropped = 0
    try:
        with pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            index_col=False,
            usecols=None if len(names) == fields else [header.index(name) for name in names],
            encoding="utf-8-sig",
            encoding_errors="replace",
            on_bad_lines="warn",
            chunksize=max(1, min(chunk_rows, MAX_CHUNK_CELLS // fields)),
        ) as reader:
            while True:
                chunk, bad = _next_chunk(reader)
                skipped += bad
                if chunk is None:
                    break
                if pending is not None:
                    yield pending
                pending = _clean(chunk, names)
                undecodable = _undecodable_rows(pending)
                if undecodable.any():
                    dropped += int(undecodable.sum())
                    pending = pending[~undecodable]
                rows += len(pending)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, OverflowError) as exc:
        reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        if rows == 0:
            raise VendorFormatError(path, f"expected {what}, {reason}") from None
        report.note_partial(path, f"stopped after {rows} rows: {reason}")
        drop_last = False
    if skipped:
        report.note_partial(path, f"skipped {skipped} malformed line(s)")
    if dropped:
        report.note_partial(path, f"skipped {dropped} row(s) that are not valid UTF-8")
    if pending is not None:
        if drop_last and len(pending):
            report.note_partial(path, "the last line is truncated; skipped it")
            pending = pending.iloc[:-1]
        yield pending


def read_csv_table(
    path: Path,
    report: VendorReport,
    what: str,
    *,
    text: Sequence[str] = (),
    epoch_us: Sequence[str] = (),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> pd.DataFrame:
    """A small vendor CSV as one typed DataFrame (see :func:`typed_columns`)."""
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
    return typed_columns(frame, text=text_columns, epoch_us=epoch_columns)
