"""``ubscope tui TRACE|DIR``: inspect a trace in the terminal UI."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from ubscope.commands.common import add_chip_option
from ubscope.probe.errors import InputError, UbscopeError

ORDER = 50
# vendor inputs that cannot stand in for a trace: (option, what they are)
LOG_ONLY = {
    "cpu_debug": ("--cpu-debug", "an Ascend C CPU-debug log"),
    "npuchk": ("--npuchk", "npuchk output"),
}


def register(commands: argparse._SubParsersAction) -> None:
    tui = commands.add_parser(
        "tui",
        help="inspect a trace in the terminal UI (findings, timeline, memory map, events)",
        description="Open a trace in the terminal UI: overview, findings with their "
        "explanations, occupancy timeline, memory map, GM traffic, the raw events and vendor "
        "findings. Given a folder, pick one of its traces. Press ? inside for the keys.",
    )
    tui.add_argument("path", help="a .ubtrace file, a folder to pick a trace from, or msprof "
                     "op simulator output (opened as the trace of its data moves)")  # fmt: skip
    tui.add_argument("--compare", metavar="B.ubtrace",
                     help="a baseline trace: show metric deltas and findings new/fixed")  # fmt: skip
    tui.add_argument("--msadvisor", metavar="FILE", help="msadvisor / advisor report to load")
    tui.add_argument("--sanitizer", metavar="LOG", help="msSanitizer log to load")
    tui.add_argument("--msprof-op", metavar="DIR", help="msprof op output folder to load")
    tui.add_argument("--torch-npu", metavar="DIR", help="torch_npu profiler folder to load")
    tui.add_argument("--simulator", metavar="DIR", help="msprof op simulator output to load")
    tui.add_argument("--cpu-debug", metavar="LOG", help="Ascend C CPU-debug log to load")
    tui.add_argument("--npuchk", metavar="DIR", help="npuchk folder (or *_npuchk.log) to load")
    add_chip_option(tui)
    tui.set_defaults(handler=_tui)


def _optional_path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _tui(args: argparse.Namespace) -> int:
    from ubscope.analyzers.api import read_vendor
    from ubscope.analyzers.vendor.registry import detect_vendor_input
    from ubscope.analyzers.vendor.simulator.reader import write_simulator_trace
    from ubscope.probe.chip import load_chip

    path = Path(args.path)
    simulator = _optional_path(args.simulator)
    chip = load_chip(args.chip) if args.chip else None
    with tempfile.TemporaryDirectory(prefix="ubscope-tui-") as scratch:
        kind = detect_vendor_input(path)
        if kind in LOG_ONLY:
            # A log holds findings but no memory timeline: it goes with a trace.
            flag, name = LOG_ONLY[kind]
            raise InputError(
                path,
                f"this is {name}; open a trace with {flag} {path}, or run ubscope analyze {path}",
            )
        if kind == "simulator":
            # A kernel run on the simulator only: open the trace of its data moves.
            simulator, path = path, Path(scratch, "simulator.ubtrace")
            write_simulator_trace(read_vendor("simulator", simulator), path, chip)
        return _run(args, path, simulator, chip)


def _run(args: argparse.Namespace, path: Path, simulator: Path | None, chip: Any) -> int:
    from ubscope.tui.app import UbscopeApp
    from ubscope.tui.loading import TraceRequest, find_traces

    request = TraceRequest(
        trace=path,
        msadvisor=_optional_path(args.msadvisor),
        sanitizer=_optional_path(args.sanitizer),
        msprof_op=_optional_path(args.msprof_op),
        torch_npu=_optional_path(args.torch_npu),
        simulator=simulator,
        cpu_debug=_optional_path(args.cpu_debug),
        npuchk=_optional_path(args.npuchk),
        compare=_optional_path(args.compare),
        chip=chip,
    )
    if path.is_dir():
        app = UbscopeApp(request=request, folder=str(path), entries=find_traces(path))
    else:
        request.check()
        app = UbscopeApp(request=request)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UbscopeError("ubscope tui needs an interactive terminal (stdin/stdout are not a tty)")
    app.run()
    if app.error is not None:
        raise app.error
    return app.return_code or 0
