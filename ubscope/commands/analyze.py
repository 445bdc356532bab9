"""``ubscope analyze``: run the rules on a trace and/or vendor tool output and report."""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from rich.console import Console

# The facade's names load on use (analyzers.X): `ubscope analyze --help` loads no analysis.
import ubscope.analyzers as analyzers
from ubscope.analyzers import FORMATS, JSON_SCHEMA
from ubscope.check.baseline import SCHEMA as BASELINE_SCHEMA
from ubscope.commands.common import (
    add_chip_option,
    add_executor_options,
    add_stream_option,
    add_vendor_options,
    console,
    each_input,
    print_error,
    progress,
    stream_choice,
    vendor_inputs,
)
from ubscope.probe.errors import InputError, ParameterError
from ubscope.probe.events import ROW_FIELDS
from ubscope.probe.outputs import atomic_output, check_output_path
from ubscope.probe.trace_meta import find_traces, is_trace_file

if TYPE_CHECKING:
    from ubscope.analyzers import Analysis, Config

RANK_OUTLIER = "TNPU004"  # the rule --rank-outlier sets
# Files ubscope writes itself, recognised by their first bytes.
_SNIFF_BYTES = 4096
_PERFETTO_HEADER = re.compile(
    r'^\{"displayTimeUnit".*?"exporter": "ubscope[^"]*", "trace": "([^"]*)"'
)
_CSV_HEADER = ",".join(("seq", *ROW_FIELDS[:3]))
_OWN_MARKERS = (
    (f'"schema": "{JSON_SCHEMA}"', "ubscope's JSON report (written by `analyze --format json`)"),
    (f'"schema": "{BASELINE_SCHEMA}"', "a ubscope baseline (read by `ubscope check --baseline`)"),
    ('"name": "ubscope"', "ubscope's SARIF report (written by `analyze --format sarif`)"),
    ("<title>ubscope report", "ubscope's HTML report (written by `ubscope report`)"),
)


def setup(analyze: argparse.ArgumentParser) -> None:
    analyze.description = (
        "Run ubscope's rules on a .ubtrace and on msSanitizer / msadvisor / msprof op "
        "/ torch_npu output, correlate them and report. Exit code 0: nothing at or above "
        "--fail-on; 1: findings at or above it; 2: bad input."
    )
    analyze.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="a .ubtrace and/or vendor output files or folders (auto-detected)",
    )
    add_vendor_options(analyze)
    analyze.add_argument("--format", choices=FORMATS, default="text", help="report format")
    analyze.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    analyze.add_argument(
        "--fail-on",
        choices=("error", "warning", "info"),
        default=None,
        help="exit 1 when a finding is at or above this severity (default: error)",
    )
    analyze.add_argument(
        "--select", metavar="CODES", help="comma-separated rule codes or prefixes to run"
    )
    analyze.add_argument(
        "--ignore", metavar="CODES", help="comma-separated rule codes or prefixes to skip"
    )
    analyze.add_argument(
        "--config",
        metavar="FILE",
        help="pyproject.toml ([tool.ubscope]) or ubscope.yaml "
        "(default: found from the working directory up)",
    )
    add_stream_option(analyze)
    add_chip_option(analyze)
    add_executor_options(analyze, "rank folders of a cluster profile read at once")
    analyze.add_argument(
        "--rank-outlier",
        metavar="PCT",
        type=_share,
        help="a cluster profile's rank is an outlier (TNPU004) when its peak reserved memory "
        "is more than PCT (a percentage: 20%%) above or below the median (default: 10%%)",
    )
    analyze.set_defaults(handler=_analyze)


def _share(text: str) -> float:
    """``20%`` -> 0.20, read as the decimal written (``33.3%`` is 0.333). A bare
    number is refused: ``0.2`` could mean 20 % (the configuration's fraction) or 0.2 %."""
    number, percent, rest = text.strip().partition("%")
    try:
        if not percent or rest:
            raise ValueError(text)
        value = float(Fraction(number) / 100)
    except (ValueError, ZeroDivisionError, OverflowError):
        raise argparse.ArgumentTypeError(f"write a percentage like 20%, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a percentage above 0, got {text!r}")
    return value


class Inputs(NamedTuple):
    """The positional inputs of ``analyze`` sorted out: traces, (vendor reader
    kind, path) pairs, and a one-line error for each input that is neither."""

    traces: list[str]
    vendor: list[tuple[str, str]]
    unreadable: list[InputError]


def classify_inputs(paths: list[str]) -> Inputs:
    """Sort the positional inputs out; a folder that is not vendor output
    stands for the traces in it."""
    inputs = Inputs([], [], [])
    for text in paths:
        try:
            _classify(text, inputs)
        except InputError as exc:
            inputs.unreadable.append(exc)
    return inputs


def _classify(text: str, inputs: Inputs) -> None:
    path = Path(text)
    if not path.exists():
        raise InputError(path, "no such file or folder")
    if path.is_file() and is_trace_file(path):
        inputs.traces.append(text)
        return
    # Before vendor detection: a Perfetto export looks like torch_npu's trace JSON.
    own = _own_output(path) if path.is_file() else None
    if own is not None:
        raise InputError(path, f"this is {own}; analyze the .ubtrace it was made from")
    kind = analyzers.detect_vendor_input(path)
    if kind is not None:
        inputs.vendor.append((kind, text))
        return
    try:
        inputs.traces.extend(str(entry.path) for entry in find_traces(path))
    except InputError:
        raise InputError(
            path,
            "neither a .ubtrace nor recognised vendor output ("
            + ", ".join(tool.what for tool in analyzers.vendor_tools())
            + "); name it with "
            + ", ".join(tool.option for tool in analyzers.vendor_tools())
            + ("; a folder of traces holds *.ubtrace files" if path.is_dir() else ""),
        ) from None


def _own_output(path: Path) -> str | None:
    """What ubscope wrote ``path`` as (an export, a report, a baseline), or None."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None
    perfetto = _PERFETTO_HEADER.search(head)
    if perfetto:
        return f"ubscope's Perfetto export of {perfetto.group(1)} (written by `ubscope export`)"
    if head.startswith(_CSV_HEADER):
        return "ubscope's CSV export of a trace (written by `ubscope export --format csv`)"
    for marker, what in _OWN_MARKERS:
        if marker in head:
            return what
    return None


def _codes(text: str | None) -> list[str] | None:
    """``"UB001, ALN"`` -> ``["UB001", "ALN"]`` (None when the option is absent)."""
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def _config(args: argparse.Namespace) -> Config:
    """The configuration file (given or discovered), then the command-line options."""
    base = analyzers.load_config(args.config) if args.config else analyzers.discover_config()
    config = base.with_overrides(
        select=_codes(args.select), ignore=_codes(args.ignore), chip=args.chip, fail_on=args.fail_on
    )
    if args.rank_outlier is None:
        return config
    outlier = {**config.thresholds.get(RANK_OUTLIER, {}), "max_deviation": args.rank_outlier}
    return dataclasses.replace(config, thresholds={**config.thresholds, RANK_OUTLIER: outlier})


def _analyze(args: argparse.Namespace) -> int:
    traces, vendor, unreadable = classify_inputs(args.inputs)
    vendor.extend(vendor_inputs(args))
    # an input that is neither trace nor vendor output is one line; other traces
    # still run, but vendor output is not analyzed without the trace it may go with
    for error in unreadable:
        print_error(error, getattr(args, "debug", False))
    if unreadable and (vendor or not traces):
        return 2
    if not traces and not vendor:
        raise ParameterError(
            "give a trace and/or vendor output to analyze (see ubscope analyze --help)"
        )
    if len(traces) > 1 and vendor:
        raise ParameterError(
            f"vendor output goes with one trace, got {len(traces)} traces; analyze the "
            "trace it belongs to with it"
        )
    inputs = (*traces, *(path for _, path in vendor), args.config)
    output = (
        check_output_path(args.output, inputs, stdout=True) if args.output is not None else None
    )
    config = _config(args)
    cluster = _cluster_input(traces, vendor, args)
    with _report_console(output, args.format) as out:
        if cluster is not None:
            return _report_each(
                [cluster], lambda _: _analyze_cluster(cluster, config, args), config, args, out
            )
        code = _report_each(
            traces or [None],
            lambda trace: _analyze_with_progress(trace, vendor, config, args),
            config,
            args,
            out,
        )
    return 2 if unreadable else code


def _analyze_with_progress(
    trace: str | None, vendor: list[tuple[str, str]], config: Config, args: argparse.Namespace
) -> Analysis:
    """One trace (or vendor output alone) analyzed under a progress bar that
    counts the trace's events as they are read."""
    what = Path(trace).name if trace is not None else "vendor output"
    with progress(f"analyzing {what}", None, unit="events", counts_reads=True):
        return analyzers.analyze_inputs(trace, vendor, config, stream=stream_choice(args))


def _cluster_input(
    traces: list[str], vendor: list[tuple[str, str]], args: argparse.Namespace
) -> str | None:
    """The cluster profile to analyze (a folder of several *_ascend_pt rank
    folders), or None; the executor options go with one alone."""
    clusters = [
        path for kind, path in vendor if kind == "torch_npu" and analyzers.rank_folders(path)
    ]
    if clusters and (traces or len(vendor) > 1):
        raise ParameterError(
            f"{clusters[0]}: a cluster profile (several *_ascend_pt rank folders) is analyzed "
            "on its own, without a trace or other vendor output"
        )
    if not clusters and (args.jobs or args.executor != "local" or args.address):
        raise ParameterError(
            "--jobs, --executor and --address read the ranks of a cluster profile "
            "(a folder of several *_ascend_pt rank folders); none was given"
        )
    return clusters[0] if clusters else None


def _analyze_cluster(root: str, config: Config, args: argparse.Namespace) -> Analysis:
    from ubscope.cluster_profiles import analyze_cluster_folder  # the executors: only here

    return analyze_cluster_folder(
        root, config, jobs=args.jobs, executor=args.executor, address=args.address
    )


@contextmanager
def _report_console(output: Path | None, fmt: str) -> Iterator[Console]:
    if output is not None:
        with atomic_output(output) as handle:
            yield console(file=handle, width=100, color_system=None)
    else:
        yield console() if fmt == "text" else console(file=sys.stdout)


def _report_each(
    inputs: Sequence[str | None],
    analyze: Callable[[str | None], Analysis],
    config: Config,
    args: argparse.Namespace,
    out: Console,
) -> int:
    """One report per input (text: one after the other, separated by a rule;
    json: a list; sarif: a run each). Exit code: the worst of them."""
    documents: list[dict] = []
    shown = 0

    def analyze_one(item: str | None) -> int:
        nonlocal shown
        analysis = analyze(item)
        if args.format == "text":
            if shown:
                out.print()
                out.rule(style="dim")
            analyzers.render_text(analysis, out)
            shown += 1
        else:
            documents.append(analyzers.to_document(analysis, args.format))
        return 1 if any(f.severity >= config.fail_on for f in analysis.findings) else 0

    code = each_input(inputs, analyze_one, getattr(args, "debug", False))
    if documents:
        out.file.write(analyzers.dumps(analyzers.combine_documents(documents, args.format)))
    return code
