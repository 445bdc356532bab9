"""``ubscope tui TRACE|DIR``: inspect a trace in the terminal UI."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ubscope.commands.common import (
    add_chip_option,
    add_stream_option,
    add_vendor_options,
    stream_choice,
    vendor_inputs,
)
from ubscope.probe.errors import InputError, UbscopeError
from ubscope.probe.trace_meta import find_traces, read_metadata

if TYPE_CHECKING:
    from ubscope.probe.chip import ChipProfile


def setup(tui: argparse.ArgumentParser) -> None:
    tui.description = (
        "Open a trace in the terminal UI: overview, findings with their "
        "explanations, occupancy timeline, memory map, GM traffic, the raw events and vendor "
        "findings. Given a folder, pick one of its traces. Press ? inside for the keys."
    )
    tui.add_argument(
        "path",
        help="a .ubtrace file, a folder to pick a trace from, or msprof "
        "op simulator output (opened as the trace of its data moves)",
    )
    tui.add_argument(
        "--compare",
        metavar="B.ubtrace",
        help="a baseline trace: show metric deltas and findings new/fixed",
    )
    add_vendor_options(tui, help_prefix="load ")
    add_chip_option(tui)
    add_stream_option(tui)
    tui.set_defaults(handler=_tui)


def _optional_path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _is_trace(path: Path) -> bool:
    """Whether ``path`` is a readable trace (its header and metadata check out)."""
    try:
        read_metadata(path)
    except UbscopeError:
        return False
    return True


def _tui(args: argparse.Namespace) -> int:
    path = Path(args.path)
    vendor = [(kind, Path(source)) for kind, source in vendor_inputs(args)]
    chip = None
    if args.chip:
        from ubscope.probe.chip import load_chip

        chip = load_chip(args.chip)
    if _is_trace(path):
        # Opens at once: detecting vendor output would load every reader and pandas
        # before the first screen, and no tool claims a trace.
        return _run(args, path, tuple(vendor), chip)
    from ubscope.analyzers import detect_vendor_input, read_vendor, vendor_tools

    with tempfile.TemporaryDirectory(prefix="ubscope-tui-") as scratch:
        kind = detect_vendor_input(path)
        tool = next((tool for tool in vendor_tools() if tool.name == kind), None)
        if tool is not None and tool.save_trace is None:
            # Findings without a memory timeline go with a trace.
            raise InputError(
                path,
                f"this is {tool.what}; open a trace with {tool.option} {path}, "
                f"or run ubscope analyze {path}",
            )
        if tool is not None and tool.save_trace is not None:
            # A kernel run with no NPU (on the simulator): open the trace its output makes.
            vendor.append((tool.name, path))
            path = Path(scratch, f"{tool.name}.ubtrace")
            tool.save_trace(read_vendor(tool.name, vendor[-1][1]), path, chip)
        return _run(args, path, tuple(vendor), chip)


def _run(
    args: argparse.Namespace,
    path: Path,
    vendor: tuple[tuple[str, Path], ...],
    chip: ChipProfile | None,
) -> int:
    from ubscope.tui.app import UbscopeApp
    from ubscope.tui.loading import TraceRequest

    request = TraceRequest(
        trace=path,
        vendor=vendor,
        compare=_optional_path(args.compare),
        chip=chip,
        stream=stream_choice(args),
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
