"""The ``ubscope`` commands, in ``ubscope --help`` order.

Each entry names a command, its one-line help and the function that fills in
its parser (description, arguments, handler) as ``module:function``. The
command line imports that module only when its command is chosen, so
``ubscope --version`` and ``ubscope --help`` load none of the analysis, report
or TUI libraries. Adding a command is adding its module and a line here.
"""

from __future__ import annotations

from typing import NamedTuple


# A NamedTuple, not a dataclass: dataclasses imports inspect, a tenth of `ubscope --help`.
class Command(NamedTuple):
    name: str
    help: str
    setup: str  # "ubscope.commands.MODULE:FUNCTION", called with the command's parser


# (name, module:function, help)
_TABLE = (
    (
        "demo",
        "demo:setup",
        "run the built-in kernels (healthy and with planted problems) and report",
    ),
    ("run", "run:setup_run", "run a kernel on the emulated device and record a trace"),
    ("kernels", "run:setup_kernels", "list the kernels, their parameters and presets"),
    ("sweep", "sweep:setup", "run a kernel over a grid of parameters: failures, Pareto front"),
    ("analyze", "analyze:setup", "find memory problems in a trace and/or vendor tool output"),
    ("rules", "rules:setup_rules", "list the rules (code, name, severity, summary)"),
    (
        "rule",
        "rules:setup_rule",
        "explain one rule: what it does, why it matters, an example, how to fix",
    ),
    ("chips", "chips:setup", "list the chip profiles, or show one with its sources"),
    ("trace", "trace:setup", "inspect trace files"),
    (
        "tui",
        "tui:setup",
        "inspect a trace in the terminal UI (findings, timeline, memory map, events)",
    ),
    ("report", "report:setup", "write a self-contained HTML report with plots of a trace"),
    ("export", "export:setup", "export a trace as Chrome trace-event JSON (Perfetto) or CSV"),
    (
        "check",
        "check:setup",
        "compare traces with baselines and budgets; exit 1 on a memory regression",
    ),
    (
        "baseline",
        "baseline:setup",
        "write the baseline files `ubscope check` compares traces against",
    ),
)
COMMANDS = tuple(Command(name, help, f"ubscope.commands.{setup}") for name, setup, help in _TABLE)
