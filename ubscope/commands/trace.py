"""``ubscope trace info FILE``: metadata and event counts of a trace."""

from __future__ import annotations

import argparse
import json

from ubscope.analyzers.context import TraceContext
from ubscope.commands.common import console
from ubscope.probe.trace import read_trace, trace_summary

ORDER = 40


def register(commands: argparse._SubParsersAction) -> None:
    trace = commands.add_parser("trace", help="inspect trace files",
                                description="Inspect .ubtrace files.")  # fmt: skip
    actions = trace.add_subparsers(dest="action", metavar="ACTION")
    info = actions.add_parser("info", help="print a trace's metadata and event counts",
                              description="Print a trace's metadata and event counts.")  # fmt: skip
    info.add_argument("file", help="a .ubtrace file")
    info.add_argument("--json", action="store_true", help="print as JSON")
    info.set_defaults(handler=_info)
    trace.set_defaults(handler=lambda args: trace.print_help() or 2)


def _info(args: argparse.Namespace) -> int:
    trace = read_trace(args.file)
    summary = trace_summary(trace, TraceContext(trace).modelled_time_ps)
    out = console()
    if args.json:
        out.print_json(json.dumps(summary, default=str))
        return 0
    for key, value in summary.items():
        if isinstance(value, dict):
            out.print(f"{key}:", markup=False)
            for sub, item in value.items():
                out.print(f"  {sub}: {item}", markup=False)
        else:
            out.print(f"{key}: {value}", markup=False)
    return 0
