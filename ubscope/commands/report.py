"""``ubscope report TRACE``: a self-contained HTML report with plots."""

from __future__ import annotations

import argparse
from pathlib import Path

# The facade's names load on use (analyzers.X): `ubscope report --help` loads no analysis.
import ubscope.analyzers as analyzers
from ubscope.commands.common import (
    add_chip_option,
    add_executor_options,
    add_stream_option,
    add_vendor_options,
    console,
    progress,
    stream_choice,
    vendor_inputs,
)
from ubscope.probe.errors import ParameterError
from ubscope.probe.outputs import check_output_path, is_stdout


def setup(report: argparse.ArgumentParser) -> None:
    report.description = (
        "Write one self-contained HTML file (opens offline, makes no network "
        "request) with on-chip occupancy, the allocation map, fragmentation, GM traffic, the "
        "roofline and the findings of a trace, optionally with vendor tool output and a "
        "second trace to compare."
    )
    report.add_argument(
        "trace", help="a .ubtrace file, or the folder of a sweep (`ubscope sweep -o DIR`)"
    )
    add_vendor_options(report, help_prefix="also read ")
    report.add_argument("--compare", metavar="TRACE", help="a second trace shown side by side")
    report.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="report file, - for stdout (default: TRACE name + .html)",
    )
    report.add_argument(
        "--config",
        metavar="FILE",
        help="pyproject.toml ([tool.ubscope]) or ubscope.yaml "
        "(default: found from the working directory up)",
    )
    add_chip_option(report)
    add_stream_option(report)
    add_executor_options(report, "rank folders of a cluster profile read at once")
    report.set_defaults(handler=_report)


def _default_output(trace: Path, compare: Path | None) -> Path:
    """In the current folder, named after the trace file(s), never after their contents."""
    stem = trace.stem if compare is None else f"{trace.stem}_vs_{compare.stem}"
    return Path(f"{stem}.html")


def _report(args: argparse.Namespace) -> int:
    from ubscope.reports.report import write_report  # plotly: imported only when drawing

    trace = Path(args.trace)
    compare = Path(args.compare) if args.compare else None
    vendor = vendor_inputs(args)
    if analyzers.rank_folders(trace):
        if compare is not None or vendor:
            raise ParameterError(
                f"{trace}: the report of a cluster profile takes no --compare or vendor input"
            )
        return _cluster_report(trace, args)
    if trace.is_dir():
        if compare is not None or vendor:
            raise ParameterError(
                f"{trace}: the report of a sweep takes no --compare or vendor input"
            )
        return _sweep_report(trace, args.output)
    inputs = [trace, *([compare] if compare else []), *(Path(path) for _, path in vendor)]
    output = check_output_path(
        args.output, inputs, stdout=True, default=_default_output(trace, compare)
    )
    base = analyzers.load_config(args.config) if args.config else analyzers.discover_config()
    config = base.with_overrides(chip=args.chip)
    with progress("analysing and drawing", None, unit="events", counts_reads=True):
        stream = stream_choice(args)
        analysis = analyzers.analyze_inputs(trace, vendor, config, stream=stream)
        other = (
            analyzers.analyze_inputs(compare, (), config, stream=stream)
            if compare is not None
            else None
        )
        written = write_report(analysis, output, compare=other)
    _print_written(written)
    return 0


def _sweep_report(folder: Path, output: str | None) -> int:
    """The report of a sweep's table: its Pareto front drawn, what failed."""
    from ubscope.reports.sweep import write_sweep_report

    rows = analyzers.read_sweep_table(folder)
    default = Path(f"{folder.resolve().name}.html")
    target = check_output_path(
        output, [folder / analyzers.SWEEP_TABLE], stdout=True, default=default
    )
    kernel = ", ".join(dict.fromkeys(row.kernel for row in rows)) or folder.name
    _print_written(write_sweep_report(rows, target, kernel))
    return 0


def _print_written(written: Path) -> None:
    if not is_stdout(written):
        size = f" ({written.stat().st_size / 1e6:.1f} MB)" if written.is_file() else ""
        console().print(f"report written to {written}{size}", markup=False, soft_wrap=True)


def _cluster_report(folder: Path, args: argparse.Namespace) -> int:
    """The report of a cluster profile: its ranks read in parallel, the cluster view drawn."""
    from ubscope.cluster_profiles import analyze_cluster_folder
    from ubscope.reports.report import write_report

    default = Path(f"{folder.resolve().name}.html")
    target = check_output_path(args.output, [folder], stdout=True, default=default)
    base = analyzers.load_config(args.config) if args.config else analyzers.discover_config()
    analysis = analyze_cluster_folder(
        folder,
        base.with_overrides(chip=args.chip),
        jobs=args.jobs,
        executor=args.executor,
        address=args.address,
    )
    _print_written(write_report(analysis, target))
    return 0
