"""``ubscope check --markdown``: a job summary (``$GITHUB_STEP_SUMMARY``).

Text from traces is escaped so that it cannot open HTML, break a line or a
table cell."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ubscope.analyzers import LEGEND
from ubscope.check.table import COLUMNS, row_cells, shown_rows, summary_line, verdict
from ubscope.check.verdicts import CheckResult


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
