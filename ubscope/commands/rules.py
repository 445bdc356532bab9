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
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("code", "name", "severity", "input", "summary"):
        table.add_column(column, overflow="fold")
    for code, rule in sorted(load_rules().items()):
        table.add_row(*(Text(str(v)) for v in (code, rule.name, rule.severity, rule.input_kind,
                                               rule.summary())))  # fmt: skip
    console().print(table)
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
