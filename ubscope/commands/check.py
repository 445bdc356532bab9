"""``ubscope check TRACE...``: fail CI when a kernel uses more memory than its baseline or budget.

Exit 0 when every configuration is within its baseline (plus tolerance) and its
limits, 1 when one regressed, exceeded a limit, gained a finding at or above
``--fail-on`` or has no baseline (``--missing-baseline fail``), 2 for bad input.
"""

from __future__ import annotations

import argparse
import os

from ubscope.analyzers import Severity
from ubscope.check.annotations import github_annotations
from ubscope.check.baseline import BaselineStore
from ubscope.check.budgets import Budgets, load_budgets
from ubscope.check.inputs import split_inputs
from ubscope.check.junit import junit_xml
from ubscope.check.markdown import markdown_summary, write_summary
from ubscope.check.runner import MISSING_BASELINE_CHOICES, accept_command, check_configuration
from ubscope.check.terminal import print_results
from ubscope.check.tolerances import DEFAULT_TOLERANCE
from ubscope.commands.baseline import measure_with_progress
from ubscope.commands.common import console
from ubscope.probe.errors import ConfigError
from ubscope.probe.outputs import check_output_path, write_text
from ubscope.workflow_commands import write_workflow_commands


def setup(check: argparse.ArgumentParser) -> None:
    check.description = (
        "Compare each trace's metrics (peak and total bytes per space, high water, "
        "GM bytes, fragmentation, findings) with its baseline, matched by kernel, "
        "parameters and chip, and with the limits of a budgets file. Exit 0: all within; 1: a "
        "regression, an exceeded limit, a new finding at or above --fail-on, or a missing "
        "baseline; 2: bad input. See docs/ci.md."
    )
    check.add_argument(
        "traces",
        nargs="+",
        metavar="TRACE|DIR",
        help=".ubtrace files, folders of them (each trace checked), or folders of sweeps "
        "(`ubscope sweep -o DIR`): each configuration of DIR/sweep.parquet is checked, and "
        "one that crashed, timed out or did not match its reference fails",
    )
    check.add_argument(
        "--baseline",
        metavar="DIR|FILE",
        help="baseline directory written by `ubscope baseline` (or one .json file)",
    )
    check.add_argument(
        "--tolerance",
        action="append",
        default=[],
        metavar="[METRIC=]AMOUNT",
        help=f"allowed growth over the baseline: the default percentage (default "
        f"{DEFAULT_TOLERANCE.replace('%', '%%')}) or METRIC=AMOUNT per metric, e.g. "
        "peak_bytes.UB=1%% or gm.read_bytes=4KiB; repeatable; overrides the budgets file",
    )
    check.add_argument(
        "--budget", metavar="FILE", help="budgets YAML: per-kernel limits, tolerances"
    )
    check.add_argument(
        "--fail-on",
        choices=("error", "warning", "info"),
        default="error",
        help="fail on new findings of this severity or above (default: error)",
    )
    check.add_argument(
        "--missing-baseline",
        choices=MISSING_BASELINE_CHOICES,
        default="fail",
        help="a configuration without baseline: fail (default), new (write it and pass), "
        "skip (check limits only)",
    )
    check.add_argument(
        "--junit", metavar="FILE", help="write JUnit XML (one test per configuration)"
    )
    check.add_argument(
        "--markdown",
        metavar="FILE",
        help="write a Markdown summary; appended to the file named by $GITHUB_STEP_SUMMARY, "
        "as GitHub's job summary expects, and replacing any other file",
    )
    check.add_argument(
        "--all",
        action="store_true",
        dest="show_all",
        help="show every metric, not only changed, limited and headline ones",
    )
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    if not args.baseline and not args.budget:
        raise ConfigError(
            "ubscope check", "nothing to compare with: give --baseline and/or --budget"
        )
    inputs = (*args.traces, args.baseline, args.budget)
    for output in (args.junit, args.markdown):
        if output is not None:
            check_output_path(output, inputs, stdout=True)
    budgets = load_budgets(args.budget) if args.budget else Budgets("")
    tolerances = budgets.tolerances_with(args.tolerance)
    fail_on = Severity.parse(args.fail_on)
    store = BaselineStore(args.baseline) if args.baseline else None
    traces, sweeps = split_inputs(args.traces)
    results = [
        check_configuration(measurement, store, budgets, tolerances, fail_on, args.missing_baseline)
        for measurement in (measure_with_progress(traces) if traces else [])
    ]
    for folder in sweeps:
        # a sweep's table (pandas, pyarrow) loads here, not with `ubscope check --help`
        from ubscope.check.sweep import check_sweep

        results += check_sweep(folder, store, budgets, tolerances, fail_on, args.missing_baseline)
    accept = accept_command(results, store)
    out = console()  # the terminal's width; piped, COLUMNS or 80, as every command
    print_results(results, out, args.show_all)
    if accept:
        out.print(
            f"If these changes are intended, accept them with:\n  {accept}",
            markup=False,
            soft_wrap=True,
        )
    if args.junit is not None:
        write_text(args.junit, junit_xml(results))
    if args.markdown is not None:
        write_summary(args.markdown, markdown_summary(results, accept, args.show_all))
    if os.environ.get("GITHUB_ACTIONS") == "true":
        write_workflow_commands(github_annotations(results))
    return 1 if any(result.failed for result in results) else 0
