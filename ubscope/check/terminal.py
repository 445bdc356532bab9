"""``ubscope check`` in the terminal: a table per configuration, its problems,
then the summary line."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ubscope.analyzers import LEGEND
from ubscope.check.table import COLUMNS, row_cells, shown_rows, summary_line, verdict
from ubscope.check.verdicts import CheckResult, MetricRow

_STATUS_STYLE = {"FAILED": "bold red", "passed": "green"}
# The terminal table needs room for a few words of note beside the numbers.
_MIN_NOTE_WIDTH = 12


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
        table.add_column(
            COLUMNS[i],
            justify="right" if i in (1, 2, 3) else "left",
            no_wrap=not wraps,
            min_width=None if wraps else width,
        )
    for row, line in zip(rows, cells, strict=True):
        table.add_row(*(Text(line[i]) for i in shown), style="red" if row.problems else None)
    console.print(table)
