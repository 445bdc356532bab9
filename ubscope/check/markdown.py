"""``ubscope check --markdown``: a job summary (``$GITHUB_STEP_SUMMARY``).

Text from traces is escaped so that it cannot open HTML, break a line or a
table cell."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from ubscope.check import table
from ubscope.check.verdicts import CheckResult
from ubscope.probe.outputs import write_error, write_text

# The file GitHub Actions gives each step for its job summary.
STEP_SUMMARY = "GITHUB_STEP_SUMMARY"
# Numbers right-aligned, words left-aligned.
_ALIGN = {
    name: ":---" if name in ("metric", "status", "note") else "---:" for name in table.COLUMNS
}


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
    lines = [f"## {_md_cell(table.summary_line(results))}", ""]
    tabled = [result for result in results if table.shown_rows(result, show_all)]
    if tabled:  # what A, B and delta mean, when a table shows them
        lines += [_md_text(table.legend(tabled)), ""]
    for result in results:
        mark = "❌" if result.failed else "✅"
        lines += [
            f"### {mark} {_md_code(result.measurement.name)}: {_md_cell(table.verdict(result))}",
            "",
        ]
        for problem in result.problems:
            lines.append(f"- {_md_cell(problem.message)}")
        if result.problems:
            lines.append("")
        rows = table.shown_rows(result, show_all)
        if rows:
            columns = table.shown_columns(result)
            lines.append("| " + " | ".join(table.COLUMNS[i] for i in columns) + " |")
            lines.append("|" + "|".join(_ALIGN[table.COLUMNS[i]] for i in columns) + "|")
            for row in rows:
                cells = table.row_cells(row)
                cells[0] = _md_code(cells[0])
                shown = [cells[i] if i == 0 else _md_cell(cells[i]) for i in columns]
                lines.append("| " + " | ".join(shown) + " |")
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


def write_summary(path: str | os.PathLike[str], text: str) -> None:
    """Write the summary to ``path``: appended when ``path`` is the file named by
    ``$GITHUB_STEP_SUMMARY``, which every command of a step adds to (as GitHub
    documents); any other file is replaced atomically, like every output."""
    if not _is_step_summary(path):
        write_text(path, text)
        return
    try:
        with open(path, "a", encoding="utf-8", newline="\n") as handle:
            earlier = os.fstat(handle.fileno()).st_size  # a blank line after it
            handle.write(("\n" if earlier else "") + text)
    except OSError as exc:
        raise write_error(path, exc) from None


def _is_step_summary(path: str | os.PathLike[str]) -> bool:
    summary = os.environ.get(STEP_SUMMARY)
    if not summary:
        return False
    try:
        return os.path.samefile(path, summary)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(path) == os.path.realpath(summary)
