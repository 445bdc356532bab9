"""Options and helpers shared by several commands."""

from __future__ import annotations

import argparse
import errno
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column
from rich.text import Text

from ubscope.probe.chip import DEFAULT_CHIP, ChipProfile, builtin_chips, load_chip
from ubscope.probe.errors import UbscopeError
from ubscope.probe.read_progress import reporting_reads
from ubscope.probe.text import printable
from ubscope.probe.units import format_count

Item = TypeVar("Item")


def add_chip_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--chip",
        metavar="NAME|FILE",
        default=None,
        help=f"chip profile: a built-in name ({', '.join(builtin_chips())}) or a YAML file "
        f"(default: {DEFAULT_CHIP})",
    )


def add_stream_option(parser: argparse.ArgumentParser) -> None:
    """``--stream``: analyze a trace batch by batch in bounded memory (docs/streaming.md)."""
    parser.add_argument(
        "--stream",
        action="store_true",
        help="read and analyze the trace batch by batch in bounded memory (default: only "
        "when the trace would not fit the available memory)",
    )


def stream_choice(args: argparse.Namespace) -> bool | None:
    """True with ``--stream``; else None: stream only a trace too big for memory."""
    return True if args.stream else None


def add_vendor_options(parser: argparse.ArgumentParser, help_prefix: str = "") -> None:
    """One repeatable option per registered vendor tool (``--sanitizer LOG`` ...)."""
    # The registry names the tools without loading their readers (or pandas).
    from ubscope.analyzers import vendor_tools

    for tool in vendor_tools():
        parser.add_argument(
            tool.option,
            dest=tool.name,
            action="append",
            default=[],
            metavar=tool.metavar,
            help=help_prefix + tool.help,
        )


def vendor_inputs(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(tool name, path) for every vendor option given."""
    from ubscope.analyzers import vendor_tools

    return [(tool.name, path) for tool in vendor_tools() for path in getattr(args, tool.name, [])]


def add_param_options(parser: argparse.ArgumentParser, param_help: str) -> None:
    """``--param KEY=VALUE`` (repeatable) and ``--preset``: the values of a
    Python kernel's parameters, for the commands that run one."""
    parser.add_argument(
        "--param", "-p", action="append", default=[], metavar="KEY=VALUE", help=param_help
    )
    parser.add_argument("--preset", help="a planted-problem preset of the kernel")


def chip_from_args(args: argparse.Namespace) -> ChipProfile:
    return load_chip(getattr(args, "chip", None))


def print_error(exc: UbscopeError, debug: bool = False) -> None:
    """A user error as one line on stderr, or one line per problem it lists
    (and its traceback with ``--debug``)."""
    if debug:
        traceback.print_exception(exc)
    # Messages name files and quote their content: both are input.
    for line in exc.message_lines():
        print(f"ubscope: error: {printable(line)}", file=sys.stderr)


def each_input(items: Sequence[Item], action: Callable[[Item], int], debug: bool = False) -> int:
    """``action`` on every input in turn; a user error in one of several is
    reported as one line and the others still run. Returns the worst exit code."""
    worst = 0
    for item in items:
        try:
            code = action(item)
        except UbscopeError as exc:
            if len(items) == 1:
                raise
            print_error(exc, debug)
            code = exc.exit_code
        worst = max(worst, code)
    return worst


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich exits 1 when the reader leaves, ubscope's code for "problems
        # found": the CLI ends quietly instead. (Standard output's reader
        # leaving never gets here: ubscope.standard_output drops the rest.)
        raise BrokenPipeError(errno.EPIPE, "the reader of the output left")


def console(stderr: bool = False, **options: Any) -> Console:
    """A rich console (``options`` as rich's); text from traces is always
    printed with markup off. A reader that leaves ends the command quietly."""
    return _Console(stderr=stderr, highlight=False, **options)


class _CountColumn(ProgressColumn):
    """``12.3 k/40.0 k events, 8.1 k/s``: done, the total when known, throughput."""

    def __init__(self, unit: str):
        super().__init__(table_column=Column(no_wrap=True))
        self.unit = unit

    def render(self, task: Task) -> Text:
        if task.total is None and not task.completed:
            return Text("")  # nothing counted: a spinner alone
        done = format_count(task.completed)
        total = f"/{format_count(task.total)}" if task.total is not None else ""
        rate = f", {format_count(task.speed)}/s" if task.speed else ""
        return Text(f"{done}{total} {self.unit}".rstrip() + rate)


@contextmanager
def progress(
    description: str,
    total: int | None,
    quiet: bool = False,
    unit: str = "",
    counts_reads: bool = False,
) -> Iterator[Progress]:
    """A progress bar on stderr for long work (hidden when not a terminal or
    quiet): done/total in ``unit`` (an estimate may be passed as the total),
    throughput and elapsed time. With ``counts_reads`` it counts the events of
    the trace being read, batch by batch (a streamed analysis or export: the
    whole work; else the read before the analysis)."""
    stderr = console(stderr=True)
    bar = Progress(
        SpinnerColumn(),
        # The description gives way first in a narrow terminal. It holds file
        # names, shown as they are: brackets in one are not rich markup.
        TextColumn(
            "{task.description}",
            style="progress.description",
            markup=False,
            table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1),
        ),
        BarColumn(bar_width=12),
        _CountColumn(unit),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        # Not a terminal: nothing at all (rich would still end with a blank line).
        disable=quiet or not stderr.is_terminal,
    )
    with bar, ExitStack() as stack:
        # descriptions name files, and names on disk may hold terminal controls
        task = bar.add_task(printable(description), total=total)
        if counts_reads:
            stack.enter_context(
                reporting_reads(
                    lambda done, claimed: bar.update(task, completed=done, total=claimed)
                )
            )
        yield bar


def advance(bar: Progress, description: str | None = None, amount: int = 1) -> None:
    task = bar.tasks[0].id
    if description is not None:
        bar.update(task, description=printable(description))
    bar.advance(task, amount)


def add_executor_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--jobs``, ``--executor`` and ``--address`` of the commands that fan work
    out with :func:`ubscope.executors.map_tasks`; ``what`` is what runs at once."""
    from ubscope.executors import EXECUTORS

    parser.add_argument("--jobs", "-j", type=int, metavar="N", help=f"{what} (default: CPUs)")
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local worker processes (default) or a Ray cluster (pip install 'ubscope[ray]')",
    )
    parser.add_argument(
        "--address",
        metavar="ADDR",
        help="the Ray cluster with --executor ray: auto, ray://HOST:10001 (default: a new "
        "local one)",
    )
