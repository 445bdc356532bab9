"""``ubscope sweep KERNEL --grid NAME=V1,V2 -o DIR``: run every configuration of
a grid, write the traces and one Parquet table, print what failed and the
Pareto front."""

from __future__ import annotations

import argparse

from ubscope.commands.common import add_executor_options, add_param_options, console
from ubscope.probe.errors import ParameterError
from ubscope.probe.outputs import check_output_folder
from ubscope.sweep.grid import parse_chips, parse_grid

SWEEP_REPORT = "sweep.html"


def setup(sweep: argparse.ArgumentParser) -> None:
    sweep.description = (
        "Run a kernel over every combination of the --grid values (and --chip chips) "
        "on a local process pool or a Ray cluster, write each configuration's trace and one "
        "table DIR/sweep.parquet (metrics, finding counts, status), then print the "
        "configurations that fail (overflow, misalignment, numerics, crashed, timeout) and "
        "the Pareto front of peak UB, GM bytes and modelled time. Run again, it runs only "
        "what is not finished. Exit 0: all ok; 1: a configuration failed; 2: bad input. "
        "See docs/sweep.md."
    )
    sweep.add_argument(
        "kernel",
        help="kernel name (see `ubscope kernels`), a Python file defining a KernelSpec "
        "(my_kernel.py[:NAME]), pkg.module:NAME, or an Ascend C case file (case.yaml)",
    )
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help="values of a parameter to sweep (repeatable; every combination runs); for a "
        "case file tiling.FIELD, scalar.NAME, define.NAME, block_dim or tiling_key",
    )
    add_param_options(sweep, "a parameter held fixed (repeatable)")
    sweep.add_argument(
        "--chip",
        action="append",
        default=[],
        metavar="A,B",
        help="chip names or profile files to sweep too (default: the default chip)",
    )
    sweep.add_argument(
        "-o", "--output", required=True, metavar="DIR", help="folder of the traces and table"
    )
    add_executor_options(sweep, "configurations run at once")
    sweep.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="seconds one configuration may take; a late one is stopped and recorded",
    )
    sweep.add_argument(
        "--report",
        action="store_true",
        help=f"also write the HTML report DIR/{SWEEP_REPORT} (the front drawn)",
    )
    sweep.set_defaults(handler=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    # The kernels, the runner and the analysis load here, not with `ubscope sweep --help`.
    from ubscope.sweep.plan import plan_sweep
    from ubscope.sweep.runner import ExecutorOptions, run_sweep
    from ubscope.sweep.terminal import print_sweep

    if args.jobs is not None and args.jobs < 1:
        raise ParameterError(f"--jobs {args.jobs}: expected at least 1")
    if args.timeout is not None and not args.timeout > 0:
        raise ParameterError(f"--timeout {args.timeout:g}: expected seconds, more than 0")
    grid = parse_grid(args.grid)
    chips = parse_chips(args.chip)
    plan = plan_sweep(args.kernel, grid, chips, args.output, fixed=args.param, preset=args.preset)
    folder = check_output_folder(args.output)
    options = ExecutorOptions(args.jobs, args.executor, args.address, args.timeout)
    result = run_sweep(plan, folder, options)
    out = console()
    print_sweep(result, plan.kernel, out)
    if args.report:
        from ubscope.reports.sweep import write_sweep_report  # plotly: only when drawing

        written = write_sweep_report(result.rows, folder / SWEEP_REPORT, plan.kernel)
        out.print(f"report written to {written}", markup=False)
    return 1 if any(row.failed for row in result.rows) else 0
