"""The rows of a check result as text: what the terminal table, JUnit XML and the
Markdown summary all show, so that they never disagree."""

from __future__ import annotations

from collections.abc import Sequence

from ubscope.analyzers import A_MEANING, LEGEND
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
# Empty in every row of a configuration without a baseline: left out there.
BASELINE_COLUMNS = ("B", "delta", "tolerance")


def has_baseline(result: CheckResult) -> bool:
    """Whether ``result`` was compared with a baseline (its rows have a B)."""
    return result.baseline_state == "compared"


def shown_columns(result: CheckResult) -> list[int]:
    """The indexes in :data:`COLUMNS` of the columns the table of ``result``
    has: without a baseline, neither B nor what compares with it."""
    compared = has_baseline(result)
    return [i for i, name in enumerate(COLUMNS) if compared or name not in BASELINE_COLUMNS]


def legend(results: Sequence[CheckResult]) -> str:
    """What A, B and delta mean; only what A means when no configuration has a baseline."""
    return LEGEND if any(has_baseline(result) for result in results) else A_MEANING


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
    # the limit in A's unit: "24,064 B" over "24,000 B", not "23.5 KiB" over it
    now, before, change, *limit = row.delta.texts(*([row.limit.value] if row.limit else []))
    return [
        row.metric,
        now,
        before if row.baseline is not None else "",
        change,
        row.tolerance,
        limit[0] if limit else "",
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
    """The table as aligned plain text, then what A, B and delta mean (for JUnit
    output); empty when no row is shown (a sweep configuration that did not run)."""
    rows = shown_rows(result, show_all)
    if not rows:
        return ""
    columns = shown_columns(result)
    lines = [[line[i] for i in columns] for line in [list(COLUMNS), *map(row_cells, rows)]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    table = (
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
    return "\n".join([*table, legend([result])])
