"""``msprof-analyze advisor`` reports: ``log/mstt_advisor_<ts>.xlsx`` and ``mstt_advisor_<ts>.html``.

The workbook's summary sheet (``problems``, or ``问题综述`` with ``-l cn``)
has one row per problem; the HTML has one collapsible ``<h2>`` section per
problem (background colour = priority) with a description and a
``Suggestions`` table. Both become the same ``problems`` table and
``ADV002``-``ADV009`` findings chosen by the documented meaning of the
category (comparisons and summaries are information). The workbook's
MTE-bound operator-sequence sheet (``基于mte瓶颈的算子序列分析``) adds one
``ADV005`` finding per sequence.
"""

from __future__ import annotations

import math
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd

from ubscope.analyzers.findings import Finding, Location, Severity
from ubscope.analyzers.vendor.common import (
    NA_TOKENS,
    VendorReport,
    check_size,
    find_column,
    typed_columns,
)
from ubscope.analyzers.vendor.msadvisor import ADVISOR
from ubscope.analyzers.vendor.xlsx import read_workbook
from ubscope.probe.errors import VendorFormatError

WHAT_XLSX = "an msprof-analyze advisor workbook (mstt_advisor_*.xlsx)"
WHAT_HTML = "an msprof-analyze advisor HTML report (mstt_advisor_*.html)"
MAX_FILE_BYTES = 256 << 20
MAX_SECTION_ITEMS = 10_000
# HTML: sections kept, and characters of text kept over all of them (every
# kept piece, cell, row and table also costs ITEM_COST), so memory stays
# bounded whatever the file repeats; the rest is dropped with one warning.
MAX_SECTIONS = 10_000
MAX_KEPT_CHARS = 16 << 20
ITEM_COST = 16
# HTML is parsed as it is read, READ_CHARS at a time; markup left open for
# longer than MAX_PENDING_CHARS (an unclosed comment, tag or script) is refused.
READ_CHARS = 1 << 20
MAX_PENDING_CHARS = 16 << 20
EVIDENCE_ROWS = 20
PROBLEM_SHEETS = ("problems", "问题综述")

# canonical column -> header spellings (English xlsx headers, Chinese terminal/xlsx headers)
PROBLEM_COLUMNS: dict[str, tuple[str, ...]] = {
    "category": ("category", "类型", "问题类型", "类别"),
    "description": ("description", "描述", "问题描述"),
    "suggestion": ("suggestion", "建议", "优化建议"),
    "problem_count": ("problem count", "问题数量", "问题个数"),
    "total_time_us": ("total_time(us)", "总耗时(us)"),
    "time_ratio": ("time ratio", "耗时占比"),
    "income_us": ("income(us)", "收益(us)"),
    "income_ratio": ("income ratio", "收益占比"),
}
NUMERIC_COLUMNS = ("problem_count", "total_time_us", "time_ratio", "income_us", "income_ratio")
RATIO_COLUMNS = ("time_ratio", "income_ratio")
# Problem categories by their documented meaning (advisor README, en and cn):
# code, whether it is information only, and phrases of the category names.
# First match wins. The fusible-operator analysis is scheduling advice (host
# dispatch); its MTE-bound sequences come from their own detail sheet.
CATEGORY_CODES: tuple[tuple[str, bool, tuple[str, ...]], ...] = (
    ("ADV009", True, ("overall", "summary", "environment", "总体", "概览", "环境变量")),
    ("ADV009", True, ("compare", "comparison", "比对", "对比")),
    ("ADV009", False, ("fusible", "可融合")),
    ("ADV003", False, ("alignment", "对齐")),
    ("ADV004", False, ("bandwidth", "带宽")),
    ("ADV002", False, ("memory", "内存")),
    ("ADV005", False, ("no bound", "ai core performance", "operator bound", "mte", "算子瓶颈")),
)
OTHER_CODE = "ADV009"
# Detail sheets of the fusible-operator analysis that list MTE-bound
# operator sequences (基于mte瓶颈的算子序列分析): one ADV005 finding a row.
SEQUENCE_COLUMNS = ("start index", "end index")
MTE_SHEET_WORDS = ("mte",)
OPERATOR_NAME_WORDS = ("name", "sequence", "算子")
MAX_SEQUENCE_FINDINGS = 1000
PRIORITY_COLOURS = {"#b5495b": "high", "#fcaf17": "medium", "#65c294": "low"}
_COLOUR = re.compile(r"background-color:\s*(#[0-9a-fA-F]{3,8})")
_NUMBERED = re.compile(r"\d{1,4}\.\s*")


def _category(category: str) -> tuple[str, bool]:
    """The ADV code of an advisor problem category and whether it is information only."""
    lowered = category.lower()
    for code, informational, words in CATEGORY_CODES:
        if any(word in lowered for word in words):
            return code, informational
    return OTHER_CODE, False


def _present(value: object) -> bool:
    """Whether a cell holds something: the advisor writes empty cells as
    nothing, NaN or the text "nan" (pandas' NaN through xlsxwriter)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return not (isinstance(value, str) and value.strip().lower() in ("", "nan"))


def _text(value: object) -> str:
    return str(value).strip() if _present(value) else ""


def _findings(problems: pd.DataFrame) -> list[Finding]:
    findings = []
    for row in problems.to_dict("records"):
        category, description = _text(row.get("category")), _text(row.get("description"))
        if not category and not description:
            continue
        code, informational = _category(category)
        evidence = {
            str(key): value if isinstance(value, (str, int, float, list, dict)) else str(value)
            for key, value in row.items()
            if key not in ("description", "suggestion") and _present(value)
        }
        findings.append(
            Finding(
                code=code,
                severity=Severity.INFO
                if informational or row.get("priority") == "low"
                else Severity.WARNING,
                message=f"{category}: {description}".strip(": "),
                location=Location(),
                evidence=evidence,
                suggestion=_text(row.get("suggestion")),
                source=ADVISOR,
            )
        )
    return findings


def _sheet_keys(sheet: pd.DataFrame) -> dict[str, int]:
    """Lower-cased header -> first column position (headers may repeat)."""
    keys: dict[str, int] = {}
    for position, column in enumerate(sheet.columns):
        keys.setdefault(str(column).strip().lower(), position)
    return keys


def _is_mte_sequence_sheet(name: str, sheet: pd.DataFrame) -> bool:
    keys = _sheet_keys(sheet)
    return any(word in name.lower() for word in MTE_SHEET_WORDS) and all(
        column in keys for column in SEQUENCE_COLUMNS
    )


def _sequence_findings(name: str, sheet: pd.DataFrame, report: VendorReport) -> list[Finding]:
    """ADV005 findings from an MTE-bound operator-sequence sheet, one a row."""
    keys = _sheet_keys(sheet)
    name_keys = [
        key for key in keys if any(w in key for w in OPERATOR_NAME_WORDS) and "index" not in key
    ]
    findings: list[Finding] = []
    for row in sheet.itertuples(index=False, name=None):
        if len(findings) >= MAX_SEQUENCE_FINDINGS:
            report.note_partial(
                report.path, f"sheet {name!r}: kept the first {MAX_SEQUENCE_FINDINGS:,} sequences"
            )
            break
        values = {key: _text(row[i]) for key, i in keys.items() if _present(row[i])}
        if not values:
            continue
        operators = ", ".join(values[key] for key in name_keys if key in values)
        where = operators or (
            f"operators {values.get('start index', '?')}-{values.get('end index', '?')} "
            "of kernel_details.csv"
        )
        timing = ", ".join(
            f"{label} {values[key]} µs"
            for key, label in (("mte time(us)", "MTE"), ("execution time(us)", "execution"))
            if key in values
        )
        findings.append(
            Finding(
                code="ADV005",
                severity=Severity.WARNING,
                message=f"MTE-bound operator sequence: {where}"
                + (f" ({timing})" if timing else ""),
                # One operator is a kernel name correlation can match; a sequence is not.
                location=Location(kernel=operators if operators and "," not in operators else None),
                evidence={"sheet": name, **values},
                source=ADVISOR,
            )
        )
    return findings


def _problems_frame(
    rows: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """The problems as a table, its counts, times and ratios as numbers, and a
    problem per column (named by its ``headers`` spelling) whose cells hold
    something else. Empty cells, ``nan`` and ``N/A`` are missing without one;
    a ratio written as a percentage (``12.5%``) reads as 0.125."""
    frame = pd.DataFrame(rows)
    for column in PROBLEM_COLUMNS:
        if column not in frame:
            frame[column] = None
    cells = frame[list(NUMERIC_COLUMNS)].map(
        lambda cell: cell if _present(cell) and str(cell).strip() not in NA_TOKENS else None
    )
    for column in RATIO_COLUMNS:
        text = cells[column].astype("string").str.strip()
        percent = text.str.endswith("%").fillna(False).to_numpy(dtype=bool)
        cells[column] = cells[column].where(
            ~percent, pd.to_numeric(text.str[:-1], errors="coerce") / 100
        )
    names = [(headers or {}).get(column, column) for column in NUMERIC_COLUMNS]
    typed, problems = typed_columns(cells.set_axis(names, axis=1), numeric=names)
    for column, name in zip(NUMERIC_COLUMNS, names, strict=True):
        frame[column] = typed[name].astype("float64")
    return frame, problems


def _sheet_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """A detail sheet: first row = header."""
    if not rows:
        return pd.DataFrame()
    header = [str(name) if name is not None else f"column_{i}" for i, name in enumerate(rows[0])]
    body = [list(row) + [None] * (len(header) - len(row)) for row in rows[1:]]
    return pd.DataFrame([row[: len(header)] for row in body], columns=header)


def read_advisor_xlsx(path: str | os.PathLike[str]) -> VendorReport:
    """Read ``mstt_advisor_<ts>.xlsx``: the problems sheet plus every detail sheet."""
    source = Path(path)
    check_size(source, MAX_FILE_BYTES, WHAT_XLSX)
    workbook = read_workbook(source, WHAT_XLSX)
    sheets = workbook.sheets
    title = next((t for t in sheets if t.strip().lower() in PROBLEM_SHEETS), None)
    if title is None:
        raise VendorFormatError(
            source, f"expected {WHAT_XLSX} with a 'problems' or '问题综述' sheet"
        )
    rows = [row for row in sheets[title] if any(cell not in (None, "") for cell in row)]
    header = [str(cell).strip() if cell is not None else "" for cell in rows[0]] if rows else []
    positions = {
        column: header.index(found)
        for column, names in PROBLEM_COLUMNS.items()
        if (found := find_column(header, *names)) is not None
    }
    if "category" not in positions or "description" not in positions:
        raise VendorFormatError(
            source, f"expected {WHAT_XLSX}: sheet {title!r} has no category/description header"
        )
    records = [
        {column: (row[i] if i < len(row) else None) for column, i in positions.items()}
        for row in rows[1:]
    ]
    report = VendorReport(tool=ADVISOR, path=os.fspath(source))
    for dropped in workbook.dropped:
        report.note_partial(source, f"skipped {dropped}")
    problems, unreadable = _problems_frame(
        records, {column: header[i] for column, i in positions.items()}
    )
    for problem in unreadable:
        report.note_partial(source, f"sheet {title!r}: {problem}")
    report.tables["problems"] = problems
    report.findings = _findings(problems)
    for name, sheet_rows in sheets.items():
        if name != title:
            report.tables[name] = _sheet_frame(sheet_rows)
            if _is_mte_sequence_sheet(name, report.tables[name]):
                report.findings += _sequence_findings(name, report.tables[name], report)
    return report


class _SectionParser(HTMLParser):
    """Collects ``<h2 class="collapsible-header">`` sections: title, colour, texts, tables."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.room = MAX_KEPT_CHARS
        self.dropped_sections = self.dropped_pieces = 0
        self.sections: list[dict[str, Any]] = []
        self.title: list[str] | None = None
        self.skipping = 0
        self.table: list[list[str]] | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None

    def _take(self, cost: int) -> bool:
        """Whether ``cost`` more characters may be kept (counts what is dropped)."""
        if self.dropped_sections or cost > self.room:
            self.dropped_pieces += 1
            return False
        self.room -= cost
        return True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in ("script", "style"):
            self.skipping += 1
        elif tag == "h2" and "collapsible-header" in (attributes.get("class") or ""):
            if len(self.sections) >= MAX_SECTIONS or self.dropped_sections:
                self.dropped_sections += 1
                self.title = self.table = self.row = self.cell = None
                return
            colour = _COLOUR.search(attributes.get("style") or "")
            self.sections.append(
                {
                    "title": "",
                    "colour": colour.group(1).lower() if colour else None,
                    "texts": [],
                    "tables": [],
                }
            )
            self.title = []
        elif tag == "table" and self.sections and self.table is None:
            self.table = []
        elif tag == "tr" and self.table is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skipping = max(0, self.skipping - 1)
        elif tag == "h2" and self.title is not None:
            self.sections[-1]["title"] = " ".join("".join(self.title).split())
            self.title = None
        elif tag in ("td", "th") and self.cell is not None and self.row is not None:
            if self._take(ITEM_COST):
                self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None and self.table is not None:
            if len(self.table) < MAX_SECTION_ITEMS and self._take(ITEM_COST):
                self.table.append(self.row)
            self.row = None
        elif tag == "table" and self.table is not None:
            tables = self.sections[-1]["tables"]
            if len(tables) < MAX_SECTION_ITEMS and self._take(ITEM_COST):
                tables.append(self.table)
            self.table = None

    def handle_data(self, data: str) -> None:
        if self.skipping or not self._take(len(data) + ITEM_COST):
            return
        if self.title is not None:
            self.title.append(data)
        elif self.cell is not None:
            self.cell.append(data)
        elif self.sections and self.table is None and (text := " ".join(data.split())):
            texts = self.sections[-1]["texts"]
            if len(texts) < MAX_SECTION_ITEMS:
                texts.append(text)


def _html_problem(section: dict[str, Any], group: str | None) -> dict[str, Any]:
    texts = [t for t in section["texts"] if not t.startswith("Analysis of rank")]
    rank = next((t for t in section["texts"] if t.startswith("Analysis of rank")), None)
    suggestions: list[str] = []
    details = []
    for table in section["tables"]:
        head = [cell.lower() for cell in table[0]] if table else []
        if head[:1] in (["suggestions"], ["suggestion"], ["建议"], ["优化建议"]):
            suggestions += [_NUMBERED.sub("", row[0], count=1) for row in table[1:] if row]
        elif table:
            details.append({"header": table[0], "rows": table[1 : 1 + EVIDENCE_ROWS]})
    return {
        "category": section["title"],
        "description": texts[0] if texts else "",
        "suggestion": "\n".join(f"{i}. {s}" for i, s in enumerate(suggestions, start=1)),
        "priority": PRIORITY_COLOURS.get(section["colour"] or "", section["colour"]),
        "group": group,
        "rank": rank.removeprefix("Analysis of rank").strip(" .") if rank else None,
        "notes": texts[1:] or None,
        "details": details or None,
    }


def read_advisor_html(path: str | os.PathLike[str]) -> VendorReport:
    """Read ``mstt_advisor_<ts>.html``: one problem per coloured collapsible section.

    Sections without content are group headings (``memory``, ``computation``)
    and are recorded as the ``group`` of the problems that follow.
    """
    source = Path(path)
    parser = _parse_html(source)
    if not parser.sections:
        raise VendorFormatError(
            source, f'expected {WHAT_HTML} with <h2 class="collapsible-header"> sections'
        )
    problems, group = [], None
    for section in parser.sections:
        if section["texts"] or section["tables"]:
            problems.append(_html_problem(section, group))
        else:
            group = section["title"]
    report = VendorReport(tool=ADVISOR, path=os.fspath(source))
    if parser.dropped_sections or parser.dropped_pieces:
        report.note_partial(
            source,
            f"kept {len(parser.sections):,} sections and {MAX_KEPT_CHARS >> 20} MiB of text at "
            f"most; dropped {parser.dropped_sections:,} sections and "
            f"{parser.dropped_pieces:,} pieces of text",
        )
    report.tables["problems"], _ = _problems_frame(problems)  # the page holds no numbers
    report.findings = _findings(report.tables["problems"])
    return report


def _parse_html(source: Path) -> _SectionParser:
    """The sections of an advisor HTML file, parsed as it is read."""
    check_size(source, MAX_FILE_BYTES, WHAT_HTML)
    parser = _SectionParser()
    try:
        with open(source, encoding="utf-8-sig") as handle:
            while text := handle.read(READ_CHARS):
                parser.feed(text)
                if len(parser.rawdata) > MAX_PENDING_CHARS:
                    raise VendorFormatError(
                        source,
                        f"expected {WHAT_HTML}, got markup left open for over "
                        f"{MAX_PENDING_CHARS >> 20} MiB",
                    )
        parser.close()
    except UnicodeDecodeError:
        raise VendorFormatError(
            source, f"expected {WHAT_HTML} (UTF-8), got undecodable bytes"
        ) from None
    except OSError as exc:
        raise VendorFormatError(
            source, f"expected {WHAT_HTML}, cannot read it ({exc.strerror})"
        ) from None
    except (AssertionError, ValueError) as exc:
        raise VendorFormatError(source, f"expected {WHAT_HTML}, unparsable HTML ({exc})") from None
    return parser
