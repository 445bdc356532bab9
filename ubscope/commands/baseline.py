"""``ubscope baseline TRACE|DIR... -o DIR``: record the metrics ``ubscope check`` compares against."""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ubscope.check.baseline import BaselineStore
from ubscope.check.inputs import split_inputs
from ubscope.check.measurement import merge_repeats, name_chips
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
        "baselines that differ are kept unless --update is given (exit 1). A trace with "
        "error findings or a device fault is recorded with a warning: check then fails "
        "only on new findings."
    )
    baseline.add_argument(
        "traces",
        nargs="+",
        metavar="TRACE|DIR",
        help=".ubtrace files, folders of them, or folders of sweeps (`ubscope sweep -o "
        "DIR`): each configuration of DIR/sweep.parquet that ran, as `ubscope check DIR` "
        "reads it",
    )
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


def measure_inputs(paths: Sequence[str]) -> list[Measurement]:
    """The configurations of traces, folders of traces and sweep folders (those
    that ran; a warning for each that did not), merged; among several chips each
    names its chip."""
    traces, sweeps = split_inputs(paths)
    measured = measure_with_progress(traces) if traces else []
    for folder in sweeps:
        # a sweep's table (pyarrow) loads here, not with `ubscope baseline --help`
        from ubscope.check.sweep import ran, sweep_measurements

        for row, measurement in sweep_measurements(folder):
            if ran(row):
                measured.append(measurement)
            else:
                warnings.warn(
                    f"{measurement.name}: no baseline recorded, the configuration did not "
                    f"run to the end ({row.verdict})",
                    stacklevel=2,
                )
    return name_chips(merge_repeats(measured))


def _warn_of_errors(measurement: Measurement) -> None:
    """Recording error findings or a device fault blesses them: `check` fails
    only on new findings. Said, so that nobody does it unknowingly."""
    what = []
    if measurement.error_codes:
        what.append(f"error findings ({', '.join(measurement.error_codes)})")
    if measurement.device_fault:
        what.append("a device fault")
    if what:
        warnings.warn(
            f"{measurement.name}: its baseline records {' and '.join(what)}; "
            "`ubscope check` fails only on new findings, so these pass from now on",
            stacklevel=2,
        )


def _baseline(args: argparse.Namespace) -> int:
    store = BaselineStore(args.output)
    # Measured first: a refused trace (truncated, unreadable) leaves no output folder behind.
    measurements = measure_inputs(args.traces)
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
        path = store.path_for(measurement)
        state = store.save(measurement, update=args.update)
        line = f"{state}: {path} ({measurement.name})"
        out.print(line, markup=False, soft_wrap=True)
        if state == "kept":
            kept.extend(measurement.sources)
        else:
            _warn_of_errors(measurement)
    if kept:
        out.print(
            "existing baselines differ from these traces and were kept; to rewrite them run:\n  "
            + baseline_command(kept, args.output),
            markup=False,
            soft_wrap=True,
        )
        return 1
    return 0
