"""``ubscope check`` in the terminal: a table per configuration, its problems,
then the summary line."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ubscope.analyzers import Hanging, Trimmed
from ubscope.check.table import (
    COLUMNS,
    legend,
    row_cells,
    shown_columns,
    shown_rows,
    summary_line,
    verdict,
)
from ubscope.check.verdicts import CheckResult, MetricRow

_STATUS_STYLE = {"FAILED": "bold red", "passed": "green"}
# The terminal table needs room for a few words of note beside the numbers.
_MIN_NOTE_WIDTH = 12


def print_results(results: Sequence[CheckResult], console: Console, show_all: bool = False) -> None:
    """What A, B and delta mean, a table per configuration, its problems, then
    the summary line; everything but names wraps at the console's width."""
    tables = [(result, shown_rows(result, show_all)) for result in results]
    tabled = [result for result, rows in tables if rows]
    if tabled:  # what A, B and delta mean, when a table shows them
        console.print(legend(tabled), markup=False, style="dim")
    for result, rows in tables:
        state = verdict(result)
        style = _STATUS_STYLE["FAILED" if result.failed else "passed"]
        heading = Text.assemble((result.measurement.name, "bold"), ": ", (state, style))
        console.print(heading, soft_wrap=True)  # a name is never cut
        if rows:
            _print_rows(rows, result, console)
        hidden = len(result.rows) - len(rows)
        if hidden:
            note = f"({hidden} more metrics unchanged or not compared; --all shows them)"
            console.print(_indented(note, "dim"))
        for problem in result.problems:
            console.print(_indented(problem.message, "red"))
        console.print()
    console.print(summary_line(results), markup=False, style="bold")


def _indented(text: str, style: str | None, indent: int = 2, hang: int = 4) -> Hanging:
    """``text`` ``indent`` columns in, wrapped at spaces onto lines ``hang`` columns in."""
    return Hanging(Text(" " * (indent - 1)), Text(text, style=style or ""), hang=hang)


def _print_rows(rows: Sequence[MetricRow], result: CheckResult, console: Console) -> None:
    """The rows as a table, or, when that does not fit the width, each metric
    on a line of its own above its values. Columns empty in every row are left
    out (and B, delta and tolerance without a baseline); metric names and
    numbers are never cut, only notes wrap."""
    cells = [row_cells(row) for row in rows]
    shown = [i for i in shown_columns(result) if i < 2 or any(line[i] for line in cells)]
    widths = [max(len(line[i]) for line in [list(COLUMNS), *cells]) for i in shown]
    note_room = _MIN_NOTE_WIDTH if COLUMNS.index("note") in shown else 0
    if sum(widths) + 3 * (len(shown) - 1) + note_room > console.width:
        for row, line in zip(rows, cells, strict=True):
            style = "red" if row.problems else None
            console.print(line[0], markup=False, style=style, soft_wrap=True)
            values = "; ".join(f"{COLUMNS[i]}: {line[i]}" for i in shown[1:] if line[i])
            console.print(_indented(values, style, indent=4, hang=6))
        return
    table = Table(show_edge=False, pad_edge=False)
    for i, width in zip(shown, widths, strict=True):
        wraps = COLUMNS[i] == "note"
        table.add_column(
            COLUMNS[i],
            justify="right" if COLUMNS[i] in ("A", "B", "delta") else "left",
            no_wrap=not wraps,
            min_width=None if wraps else width,
        )
    for row, line in zip(rows, cells, strict=True):
        table.add_row(*(Text(line[i]) for i in shown), style="red" if row.problems else None)
    console.print(Trimmed(table))
