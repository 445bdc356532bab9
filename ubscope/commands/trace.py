"""``ubscope trace info FILE...``: metadata and event counts of traces."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.text import Text

import ubscope.analyzers as analyzers
from ubscope.commands.common import console, each_input


def setup(trace: argparse.ArgumentParser) -> None:
    trace.description = "Inspect .ubtrace files."
    actions = trace.add_subparsers(dest="action", metavar="ACTION")
    info = actions.add_parser(
        "info",
        help="print traces' metadata and event counts",
        description="Print each trace's metadata and event counts. "
        "An unreadable file is reported in one line and the others "
        "are still shown (exit 2).",
    )
    info.add_argument("files", nargs="+", metavar="FILE", help=".ubtrace files")
    info.add_argument(
        "--json", action="store_true", help="print as JSON (a list when several files are given)"
    )
    info.set_defaults(handler=_info)
    trace.set_defaults(handler=lambda args: _usage(trace))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _info(args: argparse.Namespace) -> int:
    # pyarrow and numpy with the first trace read, not with `ubscope trace --help`
    from ubscope.probe.trace_info import summarize_trace

    out = console()
    summaries: list[dict] = []

    def show(path: str) -> int:
        summary = summarize_trace(path)
        summaries.append(summary)
        if not args.json:
            _print_summary(summary, out, first=len(summaries) == 1)
        return 0

    code = each_input(args.files, show, getattr(args, "debug", False))
    if args.json and summaries:
        document = summaries if len(args.files) > 1 else summaries[0]
        out.print_json(json.dumps(document, default=str))
    return code


def _print_summary(summary: dict, out: Console, first: bool) -> None:
    # A long value (the recorded command line, a source path) wraps under its
    # key's indent plus two, at words, with no line ending in a space.
    if not first:
        out.print()
    for key, value in summary.items():
        if isinstance(value, dict):
            out.print(f"{key}:", markup=False)
            for sub, item in value.items():
                out.print(analyzers.Hanging(Text(f"  {sub}:"), Text(str(item)), hang=4))
        else:
            out.print(analyzers.Hanging(Text(f"{key}:"), Text(str(value)), hang=2))
