"""The rows of a check result as text: what the terminal table, JUnit XML and the
Markdown summary all show, so that they never disagree."""

from __future__ import annotations

from collections.abc import Sequence

from ubscope.analyzers import LEGEND, format_value
from ubscope.check.verdicts import (
    IMPROVED,
    NEW_FINDING,
    REGRESSED,
    UNCOMPARED,
    CheckResult,
    MetricRow,
)

# A is this trace (the run under test), B its baseline: see comparison.LEGEND.
COLUMNS = ("metric", "A", "B", "delta", "tolerance", "limit", "status", "note")


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


def plain_table(result: CheckResult, show_all: bool = False) -> str:
    """The table as aligned plain text, then what A, B and delta mean (for JUnit output)."""
    lines = [list(COLUMNS), *(row_cells(row) for row in shown_rows(result, show_all))]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    table = (
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
    return "\n".join([*table, LEGEND])
