"""``ubscope analyze``: run the rules on a trace and/or vendor tool output and report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from ubscope.analyzers.api import analyze_inputs
from ubscope.analyzers.output import FORMATS, render
from ubscope.analyzers.vendor import detect_vendor_input
from ubscope.commands.common import add_chip_option, console
from ubscope.config import Config, discover_config, load_config
from ubscope.probe.errors import InputError, ParameterError
from ubscope.probe.trace import TRACE_SUFFIX

ORDER = 30
VENDOR_OPTIONS = (
    ("msadvisor", "--msadvisor", "FILE", "msadvisor result JSON or msprof-analyze advisor output"),
    ("sanitizer", "--sanitizer", "LOG", "msSanitizer report (terminal capture or --log-file)"),
    ("msprof_op", "--msprof-op", "DIR", "msprof op output folder (OPPROF_...) or one of its CSVs"),
    (
        "torch_npu",
        "--torch-npu",
        "DIR",
        "torch_npu profiler output (*_ascend_pt or ASCEND_PROFILER_OUTPUT)",
    ),
)
_ARROW_MAGIC = b"\xff\xff\xff\xff"


def register(commands: argparse._SubParsersAction) -> None:
    analyze = commands.add_parser(
        "analyze",
        help="find memory problems in a trace and/or vendor tool output",
        description="Run ubscope's rules on a .ubtrace and on msSanitizer / msadvisor / msprof op "
        "/ torch_npu output, correlate them and report. Exit code 0: nothing at or above "
        "--fail-on; 1: findings at or above it; 2: bad input.",
    )
    analyze.add_argument("inputs", nargs="*", metavar="INPUT",
                         help="a .ubtrace and/or vendor output files or folders (auto-detected)")  # fmt: skip
    for dest, flag, metavar, text in VENDOR_OPTIONS:
        analyze.add_argument(flag, dest=dest, action="append", default=[], metavar=metavar,
                             help=text)  # fmt: skip
    analyze.add_argument("--format", choices=FORMATS, default="text", help="report format")
    analyze.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    analyze.add_argument("--fail-on", choices=("error", "warning", "info"), default=None,
                         help="exit 1 when a finding is at or above this severity (default: error)")  # fmt: skip
    analyze.add_argument(
        "--select", metavar="CODES", help="comma-separated rule codes or prefixes to run"
    )
    analyze.add_argument(
        "--ignore", metavar="CODES", help="comma-separated rule codes or prefixes to skip"
    )
    analyze.add_argument("--config", metavar="FILE",
                         help="pyproject.toml ([tool.ubscope]) or ubscope.yaml "
                         "(default: found from the working directory up)")  # fmt: skip
    add_chip_option(analyze)
    analyze.set_defaults(handler=_analyze)


def _is_trace(path: Path) -> bool:
    if path.suffix == TRACE_SUFFIX:
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == _ARROW_MAGIC
    except OSError:
        return False


def classify_inputs(paths: list[str]) -> tuple[str | None, list[tuple[str, str]]]:
    """(the trace, [(vendor reader kind, path)]) from positional inputs."""
    trace: str | None = None
    vendor: list[tuple[str, str]] = []
    for text in paths:
        path = Path(text)
        if not path.exists():
            raise InputError(path, "no such file or folder")
        if path.is_file() and _is_trace(path):
            if trace is not None:
                raise ParameterError(f"{text}: one trace at a time (already have {trace})")
            trace = text
            continue
        kind = detect_vendor_input(path)
        if kind is None:
            raise InputError(
                path,
                "neither a .ubtrace nor recognised vendor output (msSanitizer log, msadvisor "
                "JSON, msprof op folder, torch_npu profiler folder); name it with --sanitizer, "
                "--msadvisor, --msprof-op or --torch-npu",
            )
        vendor.append((kind, text))
    return trace, vendor


def _codes(text: str | None) -> list[str] | None:
    """``"UB001, ALN"`` -> ``["UB001", "ALN"]`` (None when the option is absent)."""
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def _config(args: argparse.Namespace) -> Config:
    """The configuration file (given or discovered), then the command-line options."""
    base = load_config(args.config) if args.config else discover_config()
    return base.with_overrides(select=_codes(args.select), ignore=_codes(args.ignore),
                               chip=args.chip, fail_on=args.fail_on)  # fmt: skip


def _analyze(args: argparse.Namespace) -> int:
    trace, vendor = classify_inputs(args.inputs)
    for dest, _, _, _ in VENDOR_OPTIONS:
        vendor.extend((dest, path) for path in getattr(args, dest))
    if trace is None and not vendor:
        raise ParameterError(
            "give a trace and/or vendor output to analyze (see ubscope analyze --help)"
        )
    config = _config(args)
    analysis = analyze_inputs(trace, vendor, config)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                render(analysis, args.format, Console(file=handle, width=100, color_system=None,
                                                      highlight=False))  # fmt: skip
        except OSError as exc:
            raise InputError(args.output, f"cannot write the report ({exc.strerror})") from None
    elif args.format == "text":
        render(analysis, "text", console())
    else:
        render(analysis, args.format, Console(file=sys.stdout, highlight=False))
    failing = [f for f in analysis.findings if f.severity >= config.fail_on]
    return 1 if failing else 0
