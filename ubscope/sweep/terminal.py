"""A sweep in the terminal: what ran, the configurations that failed and the
Pareto front, readable in 80 columns and in a pipe."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ubscope.analyzers import (
    GM_BYTES,
    STATUS_OK,
    STATUSES,
    TIME_METRIC,
    SweepRow,
    Trimmed,
    sweep_front,
)
from ubscope.probe.text import printable
from ubscope.probe.units import format_bytes, format_time_ps, plural
from ubscope.sweep.runner import SweepResult

FRONT_COLUMNS = ("peak UB", "GM bytes", "modelled", "configuration")


def print_sweep(result: SweepResult, kernel: str, console: Console) -> None:
    """The summary line, each failing configuration with why, then the front."""
    rows = result.rows
    counts = Counter(row.status for row in rows)
    statuses = [f"{counts[status]} {status}" for status in STATUSES if counts[status]]
    console.print(
        Phrases(
            f"{kernel}:",
            plural(len(rows), "configuration"),
            f"({result.ran} run now,",
            f"{result.reused} finished before);",
            *(f"{item}," for item in statuses[:-1]),
            *(statuses[-1:] or ["none"]),
        )
    )
    failing = [row for row in rows if row.failed]
    if failing:
        console.print(f"Failing configurations ({len(failing)}):", markup=False, style="bold")
        table = _table(("configuration", "why"), numeric=0)
        for row in failing:
            table.add_row(Text(printable(row.label)), Text(printable(row.verdict), style="red"))
        console.print(Trimmed(Padding(table, (0, 0, 0, 2), expand=False)))
    front = sweep_front(rows)
    clean = counts[STATUS_OK]
    if front:
        console.print(
            f"Pareto front of peak UB, GM bytes and time: {len(front)} of {clean} ok",
            markup=False,
            style="bold",
        )
        console.print(Trimmed(Padding(front_table(front), (0, 0, 0, 2), expand=False)))
    # Not wrapped: a path stays whole for copying, and no line ends in the space it broke at.
    console.print(
        f"table written to {result.table} (traces beside it)", markup=False, soft_wrap=True
    )


class Phrases:
    """Phrases joined by spaces, wrapped between phrases, never inside one
    (``1 timeout`` stays on one line), at the console's width; no line ends
    in a space. A phrase wider than the console wraps on its own."""

    def __init__(self, *phrases: str) -> None:
        self.phrases = [printable(phrase) for phrase in phrases]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        line = ""
        for phrase in self.phrases:
            if line and cell_len(line) + 1 + cell_len(phrase) > options.max_width:
                yield Text(line)
                line = phrase
            else:
                line = f"{line} {phrase}" if line else phrase
        yield Text(line)


def front_table(front: list[SweepRow]) -> Table:
    """Numbers first, so a long configuration wraps in its own column."""
    table = _table(FRONT_COLUMNS, numeric=3)
    for row in front:
        table.add_row(
            format_bytes(row.value("peak_bytes.UB") or 0),
            format_bytes(row.value(GM_BYTES) or 0),
            format_time_ps(row.value(TIME_METRIC) or 0),
            Text(printable(row.label)),
        )
    return table


def _table(columns: tuple[str, ...], numeric: int) -> Table:
    """A borderless table (printed indented under its heading); the first ``numeric``
    columns are right-aligned numbers that never wrap; a word too long for
    its column (a source file's path) is folded, never cut short."""
    table = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 2, 0, 0))
    for index, name in enumerate(columns):
        number = index < numeric
        table.add_column(
            name,
            justify="right" if number else "left",
            no_wrap=number,
            overflow="ellipsis" if number else "fold",
        )
    return table
