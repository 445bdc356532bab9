"""What a CI system shows of ``ubscope check``: a terminal table, JUnit XML, a
Markdown job summary and GitHub Actions annotations.

All four are built from the same :class:`CheckResult` rows, so they never
disagree. Text from traces (kernel names, parameters) is escaped for each
format: XML through ElementTree (plus removal of characters XML cannot hold),
Markdown table cells, and GitHub's workflow-command escaping.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ubscope.analyzers.comparison import LEGEND
from ubscope.analyzers.regression import (
    IMPROVED,
    NEW_FINDING,
    REGRESSED,
    UNCOMPARED,
    WITHIN,
    CheckResult,
    MetricRow,
    format_value,
)

# A is this trace (the run under test), B its baseline: see comparison.LEGEND.
COLUMNS = ("metric", "A", "B", "delta", "tolerance", "limit", "status", "note")
_STATUS_STYLE = {"FAILED": "bold red", "passed": "green"}
# The terminal table needs room for a few words of note beside the numbers.
_MIN_NOTE_WIDTH = 12
# Characters XML 1.0 cannot contain, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def row_status(row: MetricRow) -> str:
    """The verdict of one row, failures in capitals."""
    verdicts = []
    if row.over_limit:
        verdicts.append("OVER LIMIT")
    elif row.limit is not None and row.status == UNCOMPARED:
        verdicts.append("within limit")
    if row.status != UNCOMPARED or not verdicts:
        verdicts.append(
            {REGRESSED: "REGRESSED", NEW_FINDING: "NEW FINDING"}.get(row.status, row.status)
        )
    return ", ".join(verdicts)


def row_cells(row: MetricRow) -> list[str]:
    """One row as text, in :data:`COLUMNS` order."""
    limit = format_value(row.metric.removesuffix("*"), row.limit.value) if row.limit else ""
    now, before, change = row.delta.texts()
    return [
        row.metric,
        now,
        before if row.baseline is not None else "",
        change,
        row.tolerance,
        limit,
        row_status(row),
        row.note,
    ]


def shown_rows(result: CheckResult, show_all: bool = False) -> list[MetricRow]:
    """Every row, or only the notable ones (changed, limited, failing, headline)."""
    return [row for row in result.rows if show_all or row.notable]


def verdict(result: CheckResult) -> str:
    """``FAILED`` or ``passed``, with what happened to the baseline."""
    if result.failed:
        return "FAILED"
    extra = {
        "created": f"new baseline written to {result.baseline_path}",
        "skipped": "no baseline, compared with limits only",
        "none": "",
        "compared": "improved" if any(r.status == IMPROVED for r in result.rows) else "",
    }.get(result.baseline_state, "")
    return f"passed ({extra})" if extra else "passed"


def summary_line(results: Sequence[CheckResult]) -> str:
    failed = sum(result.failed for result in results)
    total = len(results)
    noun = "configuration" if total == 1 else "configurations"
    return f"ubscope check: {total} kernel {noun}, {failed} failed, {total - failed} passed"


# --- terminal ------------------------------------------------------------------


def print_results(results: Sequence[CheckResult], console: Console, show_all: bool = False) -> None:
    """What A, B and delta mean, a table per configuration, its problems, then
    the summary line."""
    console.print(LEGEND, markup=False, style="dim")
    for result in results:
        state = verdict(result)
        style = _STATUS_STYLE["FAILED" if result.failed else "passed"]
        heading = Text.assemble((result.measurement.name, "bold"), ": ", (state, style))
        console.print(heading, soft_wrap=True)
        rows = shown_rows(result, show_all)
        _print_rows(rows, [row_cells(row) for row in rows], console)
        hidden = len(result.rows) - len(rows)
        if hidden:
            console.print(
                f"  ({hidden} more metrics unchanged or not compared; --all shows them)",
                markup=False,
                style="dim",
            )
        for problem in result.problems:
            console.print(f"  {problem.message}", markup=False, style="red", soft_wrap=True)
        console.print()
    console.print(summary_line(results), markup=False, style="bold")


def _print_rows(rows: Sequence[MetricRow], cells: list[list[str]], console: Console) -> None:
    """The rows as a table, or, when that does not fit the width, each metric
    on a line of its own above its values. Columns empty in every row are left
    out; metric names and numbers are never cut, only notes wrap."""
    shown = [i for i in range(len(COLUMNS)) if i < 3 or any(line[i] for line in cells)]
    widths = [max(len(line[i]) for line in [list(COLUMNS), *cells]) for i in shown]
    note_room = _MIN_NOTE_WIDTH if COLUMNS.index("note") in shown else 0
    if sum(widths) + 3 * (len(shown) - 1) + note_room > console.width:
        for row, line in zip(rows, cells, strict=True):
            style = "red" if row.problems else None
            console.print(line[0], markup=False, style=style, soft_wrap=True)
            values = "; ".join(f"{COLUMNS[i]}: {line[i]}" for i in shown[1:] if line[i])
            console.print(f"    {values}", markup=False, style=style)
        return
    table = Table(show_edge=False, pad_edge=False)
    for i, width in zip(shown, widths, strict=True):
        wraps = COLUMNS[i] == "note"
        table.add_column(COLUMNS[i], justify="right" if i in (1, 2, 3) else "left",
                         no_wrap=not wraps, min_width=None if wraps else width)  # fmt: skip
    for row, line in zip(rows, cells, strict=True):
        table.add_row(*(Text(line[i]) for i in shown), style="red" if row.problems else None)
    console.print(table)


def plain_table(result: CheckResult, show_all: bool = False) -> str:
    """The table as aligned plain text, then what A, B and delta mean (for JUnit output)."""
    lines = [list(COLUMNS), *(row_cells(row) for row in shown_rows(result, show_all))]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    table = (
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
    return "\n".join([*table, LEGEND])


# --- JUnit XML -----------------------------------------------------------------


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def junit_xml(results: Sequence[CheckResult], suite: str = "ubscope check") -> str:
    """One ``testcase`` per kernel configuration; failures carry every problem
    and the table. Parsed by Jenkins, GitLab, Azure and the JUnit report actions."""
    failures = sum(result.failed for result in results)
    skipped = sum(result.baseline_state == "skipped" and not result.failed for result in results)
    counts = {
        "tests": str(len(results)),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(skipped),
    }
    root = ET.Element("testsuites", {"name": suite, **counts})
    suite_element = ET.SubElement(root, "testsuite", {"name": suite, **counts})
    for result in results:
        measurement = result.measurement
        case = ET.SubElement(
            suite_element,
            "testcase",
            {
                "classname": _xml_text(f"ubscope.{measurement.kernel}"),
                "name": _xml_text(measurement.name),
                "file": _xml_text(", ".join(measurement.sources)),
            },
        )
        table = _xml_text(plain_table(result))
        problems = result.problems
        if problems:
            failure = ET.SubElement(
                case,
                "failure",
                {"type": _xml_text(problems[0].kind), "message": _xml_text(problems[0].message)},
            )
            failure.text = _xml_text("\n".join(p.message for p in problems)) + "\n\n" + table
        elif result.baseline_state == "skipped":
            ET.SubElement(case, "skipped", {"message": "no baseline (--missing-baseline skip)"})
        ET.SubElement(case, "system-out").text = table
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


# --- Markdown ------------------------------------------------------------------


def _md_text(text: str) -> str:
    """Text that cannot open HTML or break a line."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"[\x00-\x1f\x7f]", " ", text)


def _md_cell(text: str) -> str:
    return _md_text(text).replace("|", "\\|")


def _md_code(text: str) -> str:
    return "`" + _md_text(text).replace("`", "'") + "`"


def markdown_summary(
    results: Sequence[CheckResult], accept_command: str | None = None, show_all: bool = False
) -> str:
    """A job summary (``$GITHUB_STEP_SUMMARY``): a line per configuration, its
    table, its problems, and the command that accepts intended changes."""
    lines = [f"## {_md_cell(summary_line(results))}", "", _md_text(LEGEND), ""]
    for result in results:
        mark = "❌" if result.failed else "✅"
        lines += [
            f"### {mark} {_md_code(result.measurement.name)}: {_md_cell(verdict(result))}",
            "",
        ]
        for problem in result.problems:
            lines.append(f"- {_md_cell(problem.message)}")
        if result.problems:
            lines.append("")
        rows = shown_rows(result, show_all)
        if rows:
            lines.append("| " + " | ".join(COLUMNS) + " |")
            lines.append(
                "|"
                + "|".join(":---" if i in (0, 6, 7) else "---:" for i in range(len(COLUMNS)))
                + "|"
            )
            for row in rows:
                cells = row_cells(row)
                cells[0] = _md_code(cells[0])
                lines.append(
                    "| " + " | ".join(_md_cell(c) if i else c for i, c in enumerate(cells)) + " |"
                )
            lines.append("")
    if accept_command:
        lines += [
            "If these changes are intended, accept them as the new baselines:",
            "",
            "```sh",
            accept_command.replace("```", "'''"),
            "```",
            "",
        ]
    return "\n".join(lines)


# --- GitHub Actions ------------------------------------------------------------


def escape_annotation_data(text: str) -> str:
    """GitHub's escaping of a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_annotation_property(text: str) -> str:
    """GitHub's escaping of a workflow command's property value."""
    return escape_annotation_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    level: str, message: str, title: str, file: str | None = None, line: int | None = None
) -> str:
    """``::error file=F,line=N,title=T::message`` with every part escaped."""
    properties = []
    if file:
        properties.append(f"file={escape_annotation_property(_repo_relative(file))}")
        if line:
            properties.append(f"line={line}")
    properties.append(f"title={escape_annotation_property(title)}")
    return f"::{level} {','.join(properties)}::{escape_annotation_data(message)}"


def _repo_relative(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def github_annotations(results: Sequence[CheckResult]) -> list[str]:
    """An ``error`` per problem, a ``warning`` per new finding below --fail-on
    and a ``notice`` per configuration that improved."""
    lines = []
    for result in results:
        kernel, name = result.measurement.kernel, result.measurement.name
        for problem in result.problems:
            title = f"ubscope {problem.kind}: {kernel}"
            message = f"{name}: {problem.message}"
            lines.append(annotation("error", message, title, problem.file, problem.line))
        for row in result.rows:
            if row.status == WITHIN and row.metric.startswith("findings.by_code."):
                message = f"{name}: more {row.metric} ({row.note})"
                lines.append(
                    annotation(
                        "warning", message, f"ubscope finding: {kernel}", result.baseline_path
                    )
                )
        improved = [row.metric for row in result.rows if row.status == IMPROVED]
        if improved and not result.failed:
            message = f"{name} improved: {', '.join(improved)}; update the baseline to keep it"
            lines.append(
                annotation(
                    "notice", message, f"ubscope improvement: {kernel}", result.baseline_path
                )
            )
    return lines
