"""The process the fuzz tests run every reader in (a script, not a test module).

Reading hostile input in a separate process keeps the test process safe from
what a reader bug can do to an interpreter: a hang in C code that no signal
interrupts, a crash, or the stack-depth bookkeeping a deep RecursionError can
leave behind. The tests restart the worker after a hang or a crash.

Protocol: one JSON request per line on stdin (``{"pipeline": NAME, "args":
{...}}``), one JSON reply per line on the original stdout: ``{"stages": [...]}``,
each stage ``{"stage", "outcome" ("parsed"|"error"|"crash"), "type",
"message", "where", "warnings", "info"}``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from ubscope.analyzers.api import Analysis, analyze_trace
from ubscope.analyzers.config import Config, load_config
from ubscope.analyzers.output import FORMATS, render
from ubscope.analyzers.vendor.common import VendorReport
from ubscope.analyzers.vendor.registry import detect_vendor_input, readers
from ubscope.check.baseline import Baseline, read_baseline
from ubscope.check.budgets import Budgets, load_budgets
from ubscope.probe.chip import ChipProfile, load_chip
from ubscope.probe.errors import PartialReadWarning, UbscopeError
from ubscope.probe.trace import Trace, read_trace

VENDOR_READERS = readers()
LOADERS: dict[str, tuple[Callable[[Path], Any], type]] = {
    "chip": (load_chip, ChipProfile),
    "config": (load_config, Config),
    "budgets": (load_budgets, Budgets),
    "baseline": (read_baseline, Baseline),
}
ANALYSIS = "analysis + text/json/sarif output"


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "site-packages" not in f.filename]
    frame = (ours or frames)[-1] if frames else None
    return f"{frame.filename}:{frame.lineno}" if frame else "?"


def _stage(stages: list[dict], name: str, run: Callable[[], Any], expected: type) -> Any:
    """Run one step; record how it ended. Returns the result or None."""
    entry: dict[str, Any] = {"stage": name, "warnings": [], "info": {}}
    start = time.perf_counter()
    result = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = run()
        except UbscopeError as error:
            entry.update(outcome="error", type=type(error).__name__, message=str(error))
        except Exception as error:  # reported to the test as the bug found
            entry.update(
                outcome="crash",
                type=type(error).__name__,
                message=(str(error).splitlines() or [""])[0][:300],
                where=_where(error),
            )
        else:
            if isinstance(result, expected):
                entry["outcome"] = "parsed"
            else:
                entry.update(outcome="crash", type="WrongType", message=repr(type(result)))
                result = None
    entry["warnings"] = [
        str(w.message) for w in caught if issubclass(w.category, PartialReadWarning)
    ]
    entry["seconds"] = time.perf_counter() - start
    stages.append(entry)
    return result


def _render_all(analysis: Analysis) -> Analysis:
    for fmt in FORMATS:
        render(analysis, fmt, Console(file=io.StringIO(), width=100, color_system=None))
    return analysis


def _analyze(stages: list[dict], trace: Trace | None, vendor: list[VendorReport]) -> None:
    _stage(stages, ANALYSIS, lambda: _render_all(analyze_trace(trace, vendor=vendor)), Analysis)


def trace_pipeline(stages: list[dict], path: str, analyze: bool = True) -> None:
    trace = _stage(stages, "read_trace", lambda: read_trace(path), Trace)
    if trace is None:
        return
    seq = trace.events["seq"].to_numpy()
    stages[-1]["info"] = {
        "events": int(trace.event_count),
        "complete": bool(trace.complete),
        "contiguous": bool((seq == range(len(seq))).all()),
    }
    if analyze:
        _analyze(stages, trace, [])


def vendor_pipeline(stages: list[dict], path: str, kind: str) -> None:
    report = _stage(stages, kind, lambda: VENDOR_READERS[kind](path), VendorReport)
    stages[-1]["info"] = {"detected": detect_vendor_input(path)}
    if report is not None:
        _analyze(stages, None, [report])


def load_pipeline(stages: list[dict], path: str, kind: str) -> None:
    load, expected = LOADERS[kind]
    _stage(stages, kind, lambda: load(path), expected)


def cli_pipeline(stages: list[dict], argv: list[str], cwd: str) -> None:
    """``ubscope ARGV`` in-process: exit code and what it printed."""
    from ubscope.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    entry: dict[str, Any] = {"stage": "cli", "warnings": [], "info": {}}
    start = time.perf_counter()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main(argv)
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 2
        entry.update(outcome="parsed", info={"code": code})
    except Exception as error:  # an exception escaping main() is the bug
        entry.update(
            outcome="crash",
            type=type(error).__name__,
            message=(str(error).splitlines() or [""])[0][:300],
            where=_where(error),
        )
    finally:
        os.chdir(previous)
        warnings.showwarning = warnings._showwarning_orig  # main() replaces it
    entry["info"].update(stdout=stdout.getvalue()[-4000:], stderr=stderr.getvalue()[-4000:])
    entry["seconds"] = time.perf_counter() - start
    stages.append(entry)


PIPELINES = {
    "trace": trace_pipeline,
    "vendor": vendor_pipeline,
    "load": load_pipeline,
    "cli": cli_pipeline,
}


def serve() -> None:
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray output cannot corrupt replies
    sys.stdout = io.TextIOWrapper(open(os.devnull, "wb"), encoding="utf-8")
    protocol.write(json.dumps({"ready": True}) + "\n")
    protocol.flush()
    for line in sys.stdin:
        request = json.loads(line)
        stages: list[dict] = []
        PIPELINES[request["pipeline"]](stages, **request["args"])
        protocol.write(json.dumps({"stages": stages}, default=str) + "\n")
        protocol.flush()


if __name__ == "__main__":
    serve()
