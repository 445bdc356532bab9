"""``ubscope baseline TRACE... -o DIR``: record the metrics ``ubscope check`` compares against."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ubscope.check.baseline import BaselineStore
from ubscope.check.runner import baseline_command
from ubscope.commands.common import console, progress
from ubscope.probe.errors import ConfigError
from ubscope.probe.outputs import check_output_folder, check_output_path
from ubscope.probe.units import plural

if TYPE_CHECKING:
    from ubscope.check.measurement import Measurement


def setup(baseline: argparse.ArgumentParser) -> None:
    baseline.description = (
        "Analyze traces and write one small JSON baseline per kernel configuration "
        "(kernel + parameters) into DIR, to commit next to the code. Several traces of one "
        "configuration are merged by keeping the worst value of every metric. Existing "
        "baselines that differ are kept unless --update is given (exit 1)."
    )
    baseline.add_argument("traces", nargs="+", metavar="TRACE", help=".ubtrace files")
    baseline.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="DIR|FILE.json",
        help="baseline directory (or one .json file for one configuration)",
    )
    baseline.add_argument(
        "--update",
        action="store_true",
        help="rewrite existing baselines that differ (accept the change)",
    )
    baseline.set_defaults(handler=_baseline)


def measure_with_progress(traces: Sequence[str]) -> list[Measurement]:
    """Analyze the traces (a spinner on stderr while it runs)."""
    # the analysis loads here, not with `ubscope baseline --help`
    from ubscope.check.measure import measure_traces

    with progress(f"analyzing {plural(len(traces), 'trace')}", total=None):
        return measure_traces(traces)


def _baseline(args: argparse.Namespace) -> int:
    store = BaselineStore(args.output)
    # Measured first: a refused trace (truncated, unreadable) leaves no output folder behind.
    measurements = measure_with_progress(args.traces)
    if store.single_file:
        check_output_path(args.output, args.traces)
    else:
        check_output_folder(args.output)
    if store.single_file and len(measurements) > 1:
        raise ConfigError(
            args.output,
            f"a .json baseline holds one configuration but the traces have {len(measurements)}; "
            "give a directory",
        )
    out = console()
    kept = []
    for measurement in measurements:
        state = store.save(measurement, update=args.update)
        line = f"{state}: {store.path_for(measurement)} ({measurement.name})"
        out.print(line, markup=False, soft_wrap=True)
        if state == "kept":
            kept.extend(measurement.sources)
    if kept:
        out.print(
            "existing baselines differ from these traces and were kept; to rewrite them run:\n  "
            + baseline_command(kept, args.output),
            markup=False,
            soft_wrap=True,
        )
        return 1
    return 0
