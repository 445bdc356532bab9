"""``ubscope run KERNEL`` and ``ubscope kernels``: run a kernel into a trace."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from ubscope.commands.common import add_chip_option, chip_from_args, console, progress
from ubscope.kernels.npu_backend import cross_check, probe_npu
from ubscope.kernels.registry import RunOutcome, get_kernel, load_builtin_kernels, run_kernel
from ubscope.probe.trace import TRACE_SUFFIX
from ubscope.probe.units import format_time_ps

ORDER = 20


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run",
        help="run a built-in kernel on the emulated device and record a trace",
        description="Run a built-in kernel on the emulated device, check its numerics against "
        "a float64 reference and write a .ubtrace (exit code 1 when the output does not "
        "match). `ubscope kernels` lists kernels, parameters and presets.",
    )
    run.add_argument("kernel", help="kernel name (see `ubscope kernels`)")
    run.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                     help="set a kernel parameter (repeatable)")  # fmt: skip
    run.add_argument("--preset", help="a planted-problem preset of the kernel")
    run.add_argument("-o", "--output", metavar="FILE", help="trace file (default: KERNEL.ubtrace)")
    run.add_argument("--backend", choices=("emulated", "npu"), default="emulated",
                     help="npu: also run the matching torch_npu operator on a real NPU, compare "
                     "numerics and record a torch_npu memory profile (needs torch_npu + CANN; "
                     "untested on hardware)")  # fmt: skip
    add_chip_option(run)
    run.set_defaults(handler=_run)

    kernels = commands.add_parser(
        "kernels", help="list the built-in kernels, their parameters and presets",
        description="List the built-in kernels with their parameters, defaults and presets.",
    )  # fmt: skip
    kernels.add_argument("kernel", nargs="?", help="show one kernel in detail")
    kernels.set_defaults(handler=_kernels)


def print_outcome(outcome: RunOutcome) -> None:
    out = console()
    errors = outcome.result.max_errors()
    verdict = "matches" if outcome.result.matches() else "DOES NOT MATCH"
    worst = max(errors.values(), default=0.0)
    out.print(
        f"{outcome.spec.name}: {outcome.events} events, modelled {format_time_ps(outcome.duration_ps)}; "
        f"output {verdict} the float64 reference (max abs error {worst:.3g})",
        markup=False,
    )
    for note in outcome.result.notes:
        out.print(f"  note: {note}", markup=False)


def _run(args: argparse.Namespace) -> int:
    spec = get_kernel(args.kernel)
    params = spec.resolve(args.param, args.preset)
    chip = chip_from_args(args)
    output = Path(args.output or f"{spec.name}{'_' + args.preset if args.preset else ''}.ubtrace")
    if output.suffix != TRACE_SUFFIX:
        warnings.warn(
            f"{output}: the name does not end in {TRACE_SUFFIX}; the file is a trace all the "
            f"same, but `tui FOLDER` and `analyze FOLDER` find traces by that extension",
            stacklevel=1,
        )
    if args.backend == "npu":
        probe_npu()  # fail early, before the emulation, when the NPU path cannot run
    with progress(f"running {spec.name} on {chip.name}", total=None):
        outcome = run_kernel(spec, params, chip, output, preset=args.preset)
    print_outcome(outcome)
    console().print(f"trace written to {output}", markup=False)
    matches = outcome.result.matches()
    if args.backend == "npu":
        profile_dir = output.with_suffix(".torch_npu")
        check = cross_check(spec.name, params, outcome.result, profile_dir)
        verdict = "matches" if check.matches else "DOES NOT MATCH"
        console().print(
            f"torch_npu operator {verdict} the emulated output (max abs error "
            f"{check.max_abs_error:.3g}); torch_npu memory profile in {profile_dir}",
            markup=False,
        )
        matches = matches and check.matches
    return 0 if matches else 1


def _kernels(args: argparse.Namespace) -> int:
    out = console()
    specs = load_builtin_kernels()
    names = [args.kernel] if args.kernel else sorted(specs)
    for name in names:
        spec = get_kernel(name)
        out.print(f"{spec.name}: {spec.summary}", markup=False, style="bold")
        if args.kernel or len(names) == 1:
            for param in spec.params:
                choices = f" ({'|'.join(map(str, param.choices))})" if param.choices else ""
                out.print(
                    f"  {param.name}={param.default!s:<10} {param.help}{choices}", markup=False
                )
        for preset, (description, _) in spec.presets.items():
            out.print(f"  --preset {preset}: {description}", markup=False)
    return 0
