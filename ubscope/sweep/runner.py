"""Running a planned sweep: the configurations fanned out over an executor,
what a previous run finished reused, and ``DIR/sweep.parquet`` rewritten
(atomically) as results come in, so an interrupted sweep resumes where it
stopped."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from ubscope.analyzers import (
    SWEEP_TABLE,
    UNFINISHED,
    SweepRow,
    SweepTableError,
    read_sweep_table,
    unfinished_row,
    write_sweep_table,
)
from ubscope.executors import map_tasks
from ubscope.sweep.plan import SweepPlan, SweepTask
from ubscope.sweep.worker import run_task

# Rewriting the table at most this often keeps a long sweep resumable without
# rewriting it after every one of thousands of short configurations.
_SAVE_EVERY_S = 2.0


@dataclass
class SweepResult:
    """Every configuration's row in plan order, how many ran now and how many
    a previous run had finished, and where the table is."""

    rows: list[SweepRow]
    ran: int
    reused: int
    table: Path


@dataclass(frozen=True)
class ExecutorOptions:
    """Where and how configurations run (see :func:`ubscope.executors.map_tasks`)."""

    jobs: int | None = None
    executor: str = "local"
    address: str | None = None
    timeout_s: float | None = None


def run_sweep(
    plan: SweepPlan, folder: str | Path, options: ExecutorOptions | None = None
) -> SweepResult:
    """Run the configurations of ``plan`` not finished in ``folder`` yet (its
    table holds their row and their trace is there); a crash or timeout is
    recorded in the configuration's row, not raised."""
    options = options or ExecutorOptions()
    folder = Path(folder)
    table = folder / SWEEP_TABLE
    rows: dict[str, SweepRow] = {row.key: row for row in plan.refused}
    done = _finished(table, folder)
    todo: list[SweepTask] = []
    for task in plan.tasks:
        if task.key in done:
            rows[task.key] = done[task.key]
        else:
            todo.append(task)

    def ordered() -> list[SweepRow]:
        return [rows[key] for key in plan.keys if key in rows]

    saved = time.monotonic() - _SAVE_EVERY_S  # the first row is saved as it comes
    try:
        for task, row in _outcomes(todo, options, plan.kernel):
            rows[task.key] = row
            if time.monotonic() - saved >= _SAVE_EVERY_S:
                write_sweep_table(ordered(), table)
                saved = time.monotonic()
    finally:  # Ctrl-C too: what finished is kept for the next run
        write_sweep_table(ordered(), table)
        for task in todo:
            if task.key not in rows:
                _remove_leftovers(Path(task.trace))
    return SweepResult(ordered(), len(todo), len(plan.tasks) - len(todo), table)


def _outcomes(
    todo: list[SweepTask], options: ExecutorOptions, kernel: str
) -> Iterator[tuple[SweepTask, SweepRow]]:
    outcomes = map_tasks(
        run_task,
        todo,
        jobs=options.jobs,
        executor=options.executor,
        address=options.address,
        timeout_s=options.timeout_s,
        progress=f"sweeping {kernel}",
    )
    for outcome in outcomes:
        task = todo[outcome.index]
        if outcome.error is None and outcome.value is not None:
            yield task, outcome.value
        else:
            yield task, _unfinished(task, outcome.error or "crashed: no result")


def _unfinished(task: SweepTask, error: str) -> SweepRow:
    """The row of a configuration that crashed or timed out. A worker killed
    mid-write leaves the trace's temporary file behind: removed; a trace the
    run marked truncated stays, named in the row."""
    trace = Path(task.trace)
    _remove_leftovers(trace)
    return unfinished_row(task.row("", ""), error, trace.name if trace.is_file() else "")


def _remove_leftovers(trace: Path) -> None:
    """The temporary file of a trace whose worker was killed mid-write."""
    for leftover in trace.parent.glob(f".{trace.name}.*.partial"):
        with suppress(OSError):
            leftover.unlink()


def _finished(table: Path, folder: Path) -> dict[str, SweepRow]:
    """The rows of a previous run that need not run again: finished, and
    their trace still in ``folder``."""
    if not table.exists():
        return {}
    try:
        previous = read_sweep_table(table)
    except SweepTableError as exc:
        warnings.warn(f"{exc}; every configuration runs again", stacklevel=2)
        return {}
    return {
        row.key: row
        for row in previous
        if row.status not in UNFINISHED and row.trace and (folder / row.trace).is_file()
    }
