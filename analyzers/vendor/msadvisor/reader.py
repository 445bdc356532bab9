"""Reader for advisor output: the old msadvisor knowledge-base result JSON, and
(dispatched by suffix) ``msprof-analyze advisor`` ``mstt_advisor_*.xlsx``/``.html``.

The wrapper msadvisor puts around per-knowledge-base results is not
documented, and knowledge bases spell keys differently (``errorCode`` /
``"error_code "``, ``extendResult`` / ``extend_result``), so result objects
are found by a bounded search for any object with a ``summary`` and an
error-code-like key, and keys are compared with case, spaces and underscores
removed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ubscope.analyzers.findings import Finding, Location, Severity
from ubscope.analyzers.vendor.common import VendorReport, load_json
from ubscope.analyzers.vendor.msadvisor import MSADVISOR
from ubscope.analyzers.vendor.msadvisor.advisor_report import read_advisor_html, read_advisor_xlsx
from ubscope.analyzers.vendor.msadvisor.detect import ADVISOR_REPORT
from ubscope.analyzers.vendor.tool import listing
from ubscope.probe.errors import VendorFormatError

WHAT = "an msadvisor result JSON (objects with 'summary' and 'errorCode')"
MAX_SEARCH_DEPTH = 16
MAX_CELL_CHARS = 4096
EVIDENCE_ROWS = 20
CLASS_TYPES = {"0": "op", "1": "model"}
SECTION_TYPES = {"0": "list", "1": "table", "2": "sourcedata"}
_RECOMMENDS = re.compile(
    r"recommend|suggest|should|need|please|consider|optimi[sz]|improve|problem|issue|bound"
    r"|建议|需要|优化|请|问题|瓶颈",
    re.IGNORECASE,
)
_NOTHING_TO_DO = re.compile(
    r"\bno (?:problem|issue|need|optimi[sz])|not need|nothing to|no further"
    r"|无需|不需要|未发现|没有问题|无问题",
    re.IGNORECASE,
)


def _key(name: object) -> str:
    return re.sub(r"[\s_]+", "", name).lower() if isinstance(name, str) else ""


def _normalised(node: dict[Any, Any]) -> dict[str, Any]:
    return {_key(name): value for name, value in node.items()}


def find_results(data: object) -> list[tuple[dict[str, Any], str | None]]:
    """Result objects (keys normalised) with the knowledge-base name around them, in order."""
    found: list[tuple[dict[str, Any], str | None]] = []
    stack: list[tuple[object, int, str | None]] = [(data, 0, None)]
    while stack:
        node, depth, owner = stack.pop()
        if isinstance(node, dict):
            keys = _normalised(node)
            if "summary" in keys and "errorcode" in keys:
                found.append((keys, owner))
                continue
            name = keys.get("modelname") or keys.get("knowledgebase") or keys.get("name")
            owner = name if isinstance(name, str) else owner
            children = list(node.values())
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth < MAX_SEARCH_DEPTH:
            stack.extend((child, depth + 1, owner) for child in reversed(children))
    return found


def _cell(value: object) -> str:
    return ("" if value is None else str(value))[:MAX_CELL_CHARS]


def _section_rows(section: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Column names and rows of one extendResult; flattened table rows are regrouped."""
    keys = section.get("key")
    columns = [_cell(name) for name in keys] if isinstance(keys, list) else []
    values = section.get("value")
    values = values if isinstance(values, list) else [] if values is None else [values]
    if str(section.get("type", "")).strip() == "1" and columns:
        if values and all(isinstance(row, list) for row in values):
            return columns, [[_cell(cell) for cell in row] for row in values]
        width = len(columns)
        flat = [_cell(cell) for cell in values]
        return columns, [flat[i : i + width] for i in range(0, len(flat), width)]
    return ["value"], [[_cell(value)] for value in values]


def recommends(summary: str, sections: list[dict[str, Any]]) -> bool:
    """Whether a result asks for a change: it lists rows (operators, settings,
    suggestions) or its summary recommends something. Knowledge bases
    disagree on errorCode ("0" is "problem found" for the API base, while the
    running-environment base writes "1" beside a recommendation), so the
    code alone decides nothing."""
    if any(any(cell.strip() for row in s["rows"] for cell in row) for s in sections):
        return True
    return bool(_RECOMMENDS.search(summary)) and not _NOTHING_TO_DO.search(summary)


def _read_result_json(source: Path) -> VendorReport:
    report = VendorReport(tool=MSADVISOR, path=os.fspath(source))
    results = find_results(load_json(source, WHAT, lenient=report))
    if not results:
        raise VendorFormatError(source, f"expected {WHAT}, found none")
    result_rows, detail_rows = [], []
    for index, (result, knowledge_base) in enumerate(results):
        sections = []
        extends = result.get("extendresult")
        for number, section in enumerate(extends if isinstance(extends, list) else []):
            if not isinstance(section, dict):
                continue
            section = _normalised(section)
            columns, rows = _section_rows(section)
            title = _cell(section.get("extendtitle")).strip()
            kind = SECTION_TYPES.get(_cell(section.get("type")).strip(), "unknown")
            sections.append(
                {"title": title, "type": kind, "columns": columns, "rows": rows[:EVIDENCE_ROWS]}
            )
            for row_number, row in enumerate(rows):
                for column, value in zip(columns, row, strict=False):
                    detail_rows.append((index, number, title, kind, row_number, column, value))
        class_type = CLASS_TYPES.get(
            _cell(result.get("classtype")).strip(), _cell(result.get("classtype"))
        )
        summary = _cell(result.get("summary")).strip()
        error_code = _cell(result.get("errorcode")).strip()
        problem = recommends(summary, sections)
        result_rows.append(
            (index, knowledge_base, class_type, error_code, problem, summary, len(sections))
        )
        if problem:
            report.findings.append(_finding(summary, knowledge_base, class_type, sections))
    report.tables["results"] = pd.DataFrame(
        result_rows,
        columns=[
            "result",
            "knowledge_base",
            "class_type",
            "error_code",
            "problem",
            "summary",
            "sections",
        ],
    )
    report.tables["details"] = pd.DataFrame(
        detail_rows, columns=["result", "section", "title", "type", "row", "column", "value"]
    )
    return report


def _suggestions(sections: list[dict[str, Any]]) -> str:
    """Cells of table columns named like "Optimization Suggestion" (or 建议), in order."""
    found: list[str] = []
    for section in sections:
        for index, column in enumerate(section["columns"]):
            if "suggest" in column.lower() or "建议" in column:
                found += [row[index] for row in section["rows"] if index < len(row) and row[index]]
    return "\n".join(dict.fromkeys(found))


def _finding(
    summary: str, knowledge_base: str | None, class_type: str, sections: list[dict[str, Any]]
) -> Finding:
    evidence: dict[str, Any] = {"class_type": class_type, "sections": sections}
    if knowledge_base:
        evidence["knowledge_base"] = knowledge_base
    return Finding(
        code="ADV001",
        severity=Severity.WARNING,
        message=summary or "msadvisor knowledge base reported a problem",
        location=Location(),
        evidence=evidence,
        suggestion=_suggestions(sections),
        source=MSADVISOR,
    )


def read_msadvisor(path: str | os.PathLike[str]) -> VendorReport:
    """Read advisor output: msadvisor result ``.json`` (a result object, a list of
    them or any wrapper), or ``msprof-analyze advisor`` ``.xlsx``/``.html``, or
    the folder the advisor wrote them to (see :func:`advisor_report_in`).

    Results that ask for a change (see :func:`recommends`; errorCode is kept
    in ``results`` but decides nothing) become ``ADV001`` findings; JSON
    with a raw newline inside a string is read with a warning. Advisor problems become ``ADV002``-``ADV009`` by category. Tables:
    ``results`` and ``details`` (JSON, long format), or ``problems`` (+ detail
    sheets for xlsx).
    """
    source = Path(path)
    if source.is_dir():
        return _read_folder(source)
    suffix = source.suffix.lower()
    if suffix == ".xlsx":
        return read_advisor_xlsx(source)
    if suffix in (".html", ".htm"):
        return read_advisor_html(source)
    return _read_result_json(source)


def advisor_report_in(folder: Path) -> tuple[Path, int]:
    """The report of the newest advisor run in ``folder`` (by the timestamp of
    its ``mstt_advisor_<timestamp>`` files, in the folder or in its ``log/``,
    where the advisor writes the workbook): its workbook when there is one,
    else its HTML page (the same problems, without the detail sheets); and how
    many runs left a report there. A VendorFormatError if none did."""
    found: list[tuple[int, bool, Path]] = []
    for place in (folder, folder / "log"):
        if place.is_dir():
            for name in listing(place):
                if (match := ADVISOR_REPORT.fullmatch(name)) and (place / name).is_file():
                    found.append(
                        (int(match.group(1)), match.group(2).lower() == "xlsx", place / name)
                    )
    if not found:
        raise VendorFormatError(
            folder,
            "expected msprof-analyze advisor output (mstt_advisor_<timestamp>.xlsx or .html, "
            "in the folder or its log/) or an msadvisor result JSON file, found none in the folder",
        )
    _, _, newest = max(found)  # the latest timestamp; of one run, its workbook
    return newest, len({stamp for stamp, _, _ in found})


def _read_folder(folder: Path) -> VendorReport:
    path, runs = advisor_report_in(folder)
    report = read_msadvisor(path)
    if runs > 1:
        report.note_partial(
            folder,
            f"holds the reports of {runs} advisor runs; read the newest, "
            f"{path.relative_to(folder).as_posix()}",
        )
    return report
