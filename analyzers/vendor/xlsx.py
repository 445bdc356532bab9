"""A bounded streaming reader for the cell values of an .xlsx workbook.

An xlsx file is a zip of XML parts; a sheet may claim any ``<dimension>``
(``A1:XFD1048576`` is 17 billion cells) and a few kilobytes of XML can
describe rows far apart. So nothing here trusts a claimed size: each sheet's
XML is parsed with expat as it is unzipped, cells are placed by their own
``r`` reference, and sheets, rows, columns, kept cells and kept characters
are capped. What a cap drops is listed in :attr:`Workbook.dropped` for the
caller to warn about. Formulas are never evaluated (their cached value is
read) and documents with a DTD are refused (no entity expansion at all).
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from ubscope.probe.errors import VendorFormatError

MAX_SHEETS = 64
MAX_SHEET_ROWS = 100_000
MAX_COLUMNS = 256
MAX_CELLS = 2_000_000  # over all sheets, counting the empty cells a row is padded with
MAX_KEPT_CHARS = 64 << 20  # text of shared strings and inline cells
MAX_UNZIPPED_BYTES = 1 << 30
READ_BYTES = 1 << 16
_WORKBOOK = "xl/workbook.xml"


class _Full(Exception):
    """Raised from a handler to stop parsing a part once a cap is reached."""


@dataclass
class Workbook:
    """Sheet title -> rows (tuples of cell values), and what the caps dropped."""

    sheets: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)


def _local(name: str) -> str:
    return name.rpartition(" ")[2]


def _column(reference: str) -> int | None:
    """``"AB12"`` -> 27 (0-based); None when there are no letters."""
    number = 0
    for char in reference:
        if "A" <= char <= "Z":
            number = number * 26 + ord(char) - 64
        else:
            break
    return number - 1 if number else None


def _refuse_dtd(*_: object) -> None:
    raise ValueError("a document type declaration (not allowed in xlsx)")


class _Reader:
    def __init__(self, source: Path, archive: zipfile.ZipFile, what: str):
        self.source = source
        self.archive = archive
        self.what = what
        self.cells = MAX_CELLS
        self.chars = MAX_KEPT_CHARS
        self.book = Workbook()

    def fail(self, problem: str) -> VendorFormatError:
        return VendorFormatError(self.source, f"expected {self.what}, {problem}")

    def parse(self, part: str, start: Callable, end: Callable, text: Callable | None) -> bool:
        """Stream ``part`` through expat; False when a handler stopped it early."""
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.StartDoctypeDeclHandler = _refuse_dtd
        parser.StartElementHandler = lambda name, attrs: start(_local(name), attrs)
        parser.EndElementHandler = lambda name: end(_local(name))
        if text is not None:
            parser.CharacterDataHandler = text
        try:
            with self.archive.open(part) as stream:
                while data := stream.read(READ_BYTES):
                    parser.Parse(data, False)
                parser.Parse(b"", True)
        except _Full:
            return False
        except KeyError:
            raise self.fail(f"the part {part} is missing") from None
        except (expat.ExpatError, ValueError) as exc:
            raise self.fail(f"{part} is not valid XML ({exc})") from None
        return True

    def keep(self, pieces: list[str], data: str) -> None:
        """Append cell text while the character budget lasts."""
        self.chars -= len(data)
        if self.chars < 0:
            raise _Full
        pieces.append(data)

    def sheet_parts(self) -> list[tuple[str, str]]:
        """(title, zip part) of every sheet, in workbook order."""
        targets: dict[str, str] = {}
        sheets: list[tuple[str, str]] = []

        def relation(name: str, attrs: dict[str, str]) -> None:
            if name == "Relationship" and "Id" in attrs and "Target" in attrs:
                target = attrs["Target"]
                path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                targets[attrs["Id"]] = posixpath.normpath(path)

        def sheet(name: str, attrs: dict[str, str]) -> None:
            if name == "sheet":
                if len(sheets) >= MAX_SHEETS:
                    raise _Full
                ids = [value for key, value in attrs.items() if _local(key) == "id"]
                title = attrs.get("name", f"Sheet{len(sheets) + 1}")[:255]
                sheets.append((title, ids[0] if ids else ""))

        self.parse("xl/_rels/workbook.xml.rels", relation, lambda name: None, None)
        if not self.parse(_WORKBOOK, sheet, lambda name: None, None):
            self.book.dropped.append(f"sheets after the first {MAX_SHEETS}")
        return [(title, targets[rid]) for title, rid in sheets if rid in targets]

    def shared_strings(self) -> list[str]:
        strings: list[str] = []
        pieces: list[str] | None = None
        in_text = False

        def start(name: str, attrs: dict[str, str]) -> None:
            nonlocal pieces, in_text
            if name == "si":
                pieces = []
            elif name == "t" and pieces is not None:
                in_text = True

        def end(name: str) -> None:
            nonlocal pieces, in_text
            if name == "t":
                in_text = False
            elif name == "si" and pieces is not None:
                strings.append("".join(pieces))
                pieces = None

        def text(data: str) -> None:
            if in_text and pieces is not None:
                self.keep(pieces, data)

        if "xl/sharedStrings.xml" in self.archive.namelist():
            if not self.parse("xl/sharedStrings.xml", start, end, text):
                self.book.dropped.append(
                    f"shared strings after the first {len(strings):,} "
                    f"(at most {MAX_KEPT_CHARS >> 20} MiB of text)"
                )
        return strings

    def sheet(self, title: str, part: str, strings: list[str]) -> None:
        rows: list[tuple[Any, ...]] = []
        row: dict[int, Any] = {}
        cell: dict[str, str] = {}
        pieces: list[str] | None = None
        skipped_columns = False

        def start(name: str, attrs: dict[str, str]) -> None:
            nonlocal row, cell, pieces
            if name == "row":
                row = {}
            elif name == "c":
                cell = attrs
            elif name in ("v", "t"):
                pieces = []

        def end(name: str) -> None:
            nonlocal pieces, skipped_columns
            if name in ("v", "t") and pieces is not None:
                key = "value" if name == "v" else "inline"  # rich inline text has several <t>
                cell[key] = cell.get(key, "") + "".join(pieces)
                pieces = None
            elif name == "c":
                column = _column(cell.get("r", "")) if "r" in cell else len(row)
                column = len(row) if column is None else column
                value = self.value(cell, strings)
                if value is not None and column >= MAX_COLUMNS:
                    skipped_columns = True
                elif value is not None:
                    row[column] = value
            elif name == "row":
                width = max(row, default=-1) + 1
                if len(rows) >= MAX_SHEET_ROWS or width > self.cells:
                    raise _Full
                self.cells -= width
                rows.append(tuple(row.get(index) for index in range(width)))

        def text(data: str) -> None:
            if pieces is not None:
                self.keep(pieces, data)

        if not self.parse(part, start, end, text):
            self.book.dropped.append(
                f"sheet {title!r} after row {len(rows):,} (at most {MAX_SHEET_ROWS:,} rows a "
                f"sheet, {MAX_CELLS:,} cells and {MAX_KEPT_CHARS >> 20} MiB of text in all)"
            )
        if skipped_columns:
            self.book.dropped.append(f"sheet {title!r} columns after the first {MAX_COLUMNS}")
        self.book.sheets[title] = rows

    @staticmethod
    def value(cell: dict[str, str], strings: list[str]) -> Any:
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            return cell.get("inline")
        text = cell.get("value")
        if text is None:
            return None
        if kind == "s":
            index = int(text) if text.isdigit() else -1
            return strings[index] if 0 <= index < len(strings) else None
        if kind == "b":
            return text.strip() == "1"
        if kind == "n":
            for number in (int, float):
                try:
                    return number(text)
                except ValueError:
                    pass
        return text


def read_workbook(source: Path, what: str) -> Workbook:
    """Every sheet's cell values (see the module notes for the caps), or
    VendorFormatError naming ``what``."""
    try:
        with zipfile.ZipFile(source) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
                raise VendorFormatError(
                    source, f"expected {what}, it unpacks to over {MAX_UNZIPPED_BYTES >> 30} GiB"
                )
            reader = _Reader(source, archive, what)
            parts = reader.sheet_parts()
            strings = reader.shared_strings()
            for title, part in parts:
                reader.sheet(title, part, strings)
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
        raise VendorFormatError(source, f"expected {what}, a damaged zip archive ({exc})") from None
    except OSError as exc:
        raise VendorFormatError(source, f"expected {what}, cannot read it ({exc})") from None
    return reader.book
