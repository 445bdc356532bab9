"""``ubscope rules`` and ``ubscope rule CODE``: list and explain the rules."""

from __future__ import annotations

import argparse

from rich.table import Table
from rich.text import Text

from ubscope.analyzers.rules import load_rules
from ubscope.commands.common import console
from ubscope.probe.errors import ParameterError

ORDER = 35


def register(commands: argparse._SubParsersAction) -> None:
    listing = commands.add_parser(
        "rules", help="list the rules (code, name, severity, summary)",
        description="List every rule ubscope runs on traces and vendor output.",
    )  # fmt: skip
    listing.set_defaults(handler=_rules)
    explain = commands.add_parser(
        "rule", help="explain one rule: what it flags, why, how to fix, thresholds",
        description="Print a rule's whole explanation and its thresholds with defaults.",
    )  # fmt: skip
    explain.add_argument("code", help="rule code, e.g. UB001")
    explain.set_defaults(handler=_rule)


def _rules(args: argparse.Namespace) -> int:
    header = ("code", "name", "severity", "input", "summary")
    rows = [(code, rule.name, str(rule.severity), rule.input_kind, rule.summary())
            for code, rule in sorted(load_rules().items())]  # fmt: skip
    out = console()
    if not out.is_terminal:
        # One line per rule, never wrapped, so `ubscope rules | grep FRG001` finds it whole.
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
        for row in (header, *rows):
            cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
            out.print("  ".join([*cells, row[-1]]), markup=False, soft_wrap=True)
        return 0
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in header:
        # Codes and names are never split; the summary wraps at spaces.
        table.add_column(column, no_wrap=column != "summary")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    out.print(table)
    return 0


def _rule(args: argparse.Namespace) -> int:
    code = args.code.strip().upper()
    rule = load_rules().get(code)
    if rule is None:
        raise ParameterError(f"unknown rule {args.code!r} (see `ubscope rules`)")
    out = console()
    out.print(Text(f"{code} {rule.name} ({rule.severity}, reads {rule.input_kind})", style="bold"))
    out.print()
    out.print(Text(rule.explanation()))
    out.print()
    if rule.thresholds:
        out.print(Text("thresholds (set in [tool.ubscope.thresholds." + code + "]):", style="bold"))
        for name, value in rule.thresholds.items():
            out.print(Text(f"  {name} = {value}"))
    else:
        out.print(Text("thresholds: none"))
    return 0
