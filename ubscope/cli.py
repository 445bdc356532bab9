"""The ``ubscope`` command line. The commands are listed in
:mod:`ubscope.commands` with their one-line help; a command's module (which
brings in pandas, pyarrow, plotly or Textual as it needs) is imported only
when that command is chosen, so ``--version`` and ``--help`` start fast.

Every command is thin: it parses options and calls library functions that
tests call too. User errors (any :class:`UbscopeError`) print one line and
exit 2; ``--debug`` shows the traceback for bug reports.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn, TextIO, cast

from ubscope.commands import COMMANDS, Command
from ubscope.probe.errors import OutputError, Terminated, UbscopeError
from ubscope.probe.text import printable
from ubscope.probe.version import __version__
from ubscope.standard_output import standard_output
from ubscope.workflow_commands import guarded_output


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (exit 2) and takes
    ``--debug`` before or after any command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # SUPPRESS: a command's parser must not reset a --debug given before it.
        self.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show tracebacks (for bug reports)",
        )
        self.register("action", "parsers", Subcommands)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class Subcommands(argparse._SubParsersAction):
    """Subcommands whose unknown arguments are reported by the subcommand's own
    parser (``ubscope report: error: ... (see ubscope report --help)``): argparse
    hands them back to the parser above, which would name its own help."""

    def load(self, name: str) -> argparse.ArgumentParser:
        """The parser of command ``name``."""
        return self.choices[name]

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        command = self.load(values[0])
        super().__call__(parser, namespace, values, option_string)
        unknown = vars(namespace).pop(argparse._UNRECOGNIZED_ARGS_ATTR, None)
        if unknown:
            command.error(f"unrecognized arguments: {' '.join(unknown)}")


class LazyCommands(Subcommands):
    """Subcommands whose parsers are filled in (description, arguments,
    handler) by their module only when argparse meets the command's name, so
    only the chosen command's module is imported; ``COMMAND --help`` is complete."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: dict[str, str] = {}

    def add_command(self, command: Command) -> None:
        self.add_parser(command.name, help=command.help)
        self._pending[command.name] = command.setup

    def load(self, name: str) -> argparse.ArgumentParser:
        """The parser of command ``name``, set up by its module."""
        parser = self.choices[name]
        setup = self._pending.pop(name, None)
        if setup is not None:
            module, function = setup.split(":")
            getattr(importlib.import_module(module), function)(parser)
        return parser


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="ubscope",
        description="Memory profiler and diagnostics for Ascend C-style NPU kernels: "
        "UB overflow, misaligned copies, fragmentation and GM traffic waste.",
    )
    parser.add_argument("--version", action="version", version=f"ubscope {__version__}")
    commands = cast(
        LazyCommands,
        parser.add_subparsers(
            dest="command", metavar="COMMAND", parser_class=OneLineParser, action=LazyCommands
        ),
    )
    for command in COMMANDS:
        commands.add_command(command)
    return parser


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    print(f"ubscope: warning: {printable(str(message))}", file=sys.stderr)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM (a CI timeout, ``kill``) ends a command as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _replace_closed_streams() -> None:
    """Started with standard output or error closed (`>&-`), Python has no
    stream for it: what would be printed there goes nowhere, as to a reader
    that left, instead of ending in a traceback."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")


def main(argv: Sequence[str] | None = None) -> int:
    _replace_closed_streams()
    try:
        with standard_output(), guarded_output(), _sigterm_raises():
            return _run(argv)
    except OutputError as exc:  # the last of the text, written as the command ends
        from ubscope.commands.common import print_error

        print_error(exc, debug=False)
        return exc.exit_code


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    warnings.showwarning = _show_warning
    try:
        return int(args.handler(args) or 0)
    except UbscopeError as exc:
        from ubscope.commands.common import print_error

        print_error(exc, getattr(args, "debug", False))
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print("ubscope: interrupted", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
    except BrokenPipeError:
        # the reader of a binary export (`export -o - | head`) left; text on
        # standard output never gets here (ubscope.standard_output)
        return 0
