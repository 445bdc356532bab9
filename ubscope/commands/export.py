"""``ubscope export TRACE --format perfetto|csv``: the trace for other tools."""

from __future__ import annotations

import argparse
from pathlib import Path

from ubscope.commands.common import add_stream_option, console, progress, stream_choice
from ubscope.probe.outputs import check_output_path, is_stdout

SUFFIXES = {"perfetto": ".json", "csv": ".csv"}


def setup(export: argparse.ArgumentParser) -> None:
    export.description = (
        "Export a trace: --format perfetto writes Chrome trace-event JSON "
        "(per-core tracks, copies and computes as slices, occupancy counters, findings) "
        "for ui.perfetto.dev, chrome://tracing and MindStudio Insight; --format csv writes "
        "the raw events. See docs/export-formats.md."
    )
    export.add_argument("trace", help="a .ubtrace file")
    export.add_argument(
        "--format",
        choices=sorted(SUFFIXES),
        default="perfetto",
        help="output format (default: perfetto)",
    )
    export.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="output file, - for stdout (default: TRACE name + .json/.csv)",
    )
    add_stream_option(export)
    export.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    # The readers and writers load here, not with `ubscope export --help`.
    from ubscope.reports.csv_export import export_events_csv
    from ubscope.reports.perfetto import export_perfetto

    trace = Path(args.trace)
    output = check_output_path(
        args.output,
        inputs=(trace,),
        stdout=True,
        default=Path(trace.stem + SUFFIXES[args.format]),
    )
    stream = stream_choice(args)
    with progress(f"exporting {trace.name}", None, unit="events", counts_reads=True):
        if args.format == "csv":
            written = export_events_csv(trace, output, stream=stream)
        else:
            written = export_perfetto(trace, output, stream=stream)
    if not is_stdout(written):
        console().print(f"{args.format} export written to {written}", markup=False, soft_wrap=True)
    return 0
