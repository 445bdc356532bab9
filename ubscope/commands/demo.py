"""``ubscope demo``: run the built-in kernels on the default chip and say what was found."""

from __future__ import annotations

import argparse
from pathlib import Path

from ubscope.commands.common import add_chip_option, advance, chip_from_args, console, progress
from ubscope.commands.run import print_outcome
from ubscope.kernels.demo_set import DEMO_RUNS
from ubscope.kernels.registry import get_kernel, run_kernel

ORDER = 10


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo",
        help="run the built-in kernels (healthy and with planted problems) and report",
        description="Run a representative set of built-in kernels, healthy and with planted "
        "memory problems, on the emulated default chip; write their traces and print what "
        "ubscope found.",
    )
    demo.add_argument("--out", default="ubscope-demo", metavar="DIR",
                      help="folder for the traces (default: ./ubscope-demo)")  # fmt: skip
    add_chip_option(demo)
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    chip = chip_from_args(args)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = console()
    out.print(f"ubscope demo on {chip.name} ({chip.description})", markup=False, style="bold")
    traces = []
    with progress("demo", total=len(DEMO_RUNS)) as bar:
        for run in DEMO_RUNS:
            advance(bar, f"running {run.label}")
            spec = get_kernel(run.kernel)
            params = spec.resolve(preset=run.preset, overrides=run.params)
            path = out_dir / f"{run.label}.ubtrace"
            outcome = run_kernel(spec, params, chip, path, preset=run.preset)
            out.print(f"\n[{run.label}]", markup=False, style="bold")
            print_outcome(outcome)
            traces.append(path)
    out.print(f"\n{len(traces)} traces written to {out_dir}/", markup=False)
    return 0
