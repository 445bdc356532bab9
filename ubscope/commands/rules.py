"""``ubscope rules`` and ``ubscope rule CODE``: list and explain the rules."""

from __future__ import annotations

import argparse
import json

from rich.table import Table
from rich.text import Text

# The facade's names load on use (analyzers.X): `ubscope rules --help` loads no rule.
import ubscope.analyzers as analyzers
from ubscope.commands.common import console
from ubscope.probe.errors import ParameterError


def setup_rules(listing: argparse.ArgumentParser) -> None:
    listing.description = "List every rule ubscope runs on traces and vendor output."
    listing.set_defaults(handler=_rules)


def setup_rule(explain: argparse.ArgumentParser) -> None:
    explain.description = (
        "Print a rule's documentation and its thresholds with their meanings "
        "and defaults; --format json adds the file and line that define the rule."
    )
    explain.add_argument("code", help="rule code, e.g. UB001")
    explain.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    explain.set_defaults(handler=_rule)


def _rules(args: argparse.Namespace) -> int:
    header = ("code", "name", "severity", "input", "summary")
    rows = [
        (code, rule.name, str(rule.severity), rule.input_kind, rule.summary())
        for code, rule in sorted(analyzers.load_rules().items())
    ]
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
    try:
        doc = analyzers.explain_rule(args.code)
    except KeyError as exc:
        raise ParameterError(str(exc.args[0])) from None
    if args.format == "json":
        print(json.dumps(doc.to_dict(), indent=2, ensure_ascii=False))
    else:
        out = console()
        for line in analyzers.indented_lines(analyzers.rule_text(doc), hang=4):
            out.print(line)
    return 0
