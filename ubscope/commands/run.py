"""``ubscope run KERNEL`` and ``ubscope kernels``: run a kernel into a trace."""

from __future__ import annotations

import argparse
import warnings
from typing import TYPE_CHECKING

from rich.text import Text

# The kernels, the recorder and the analysis load when a kernel runs or is
# listed, not with `ubscope run --help` (the facade's names load on use).
import ubscope.analyzers as analyzers
from ubscope.commands.common import (
    add_chip_option,
    add_param_options,
    advance,
    chip_from_args,
    console,
    progress,
)
from ubscope.commands.twin import OutputOption, add_twin_options, is_source, run_source
from ubscope.probe.estimate import DEFAULT_MAX_MEMORY
from ubscope.probe.outputs import check_output_path
from ubscope.probe.trace_meta import TRACE_SUFFIX
from ubscope.probe.units import format_bytes, format_time_ps, parse_size

if TYPE_CHECKING:
    from ubscope.kernels.registry import RunOutcome


def setup_run(run: argparse.ArgumentParser) -> None:
    run.description = (
        "Run a kernel on the emulated device, check its numerics against "
        "a float64 reference and write a .ubtrace (exit code 1 when the output does not "
        "match, or when the run wrote past on-chip capacity, which faults on the device). "
        "`ubscope kernels` lists kernels, parameters and presets; "
        "docs/writing-a-kernel.md shows how to write your own."
    )
    run.add_argument(
        "kernel",
        help="kernel name (see `ubscope kernels`), a Python file defining a KernelSpec "
        "(my_kernel.py, or my_kernel.py:NAME to choose one), pkg.module:NAME, or an Ascend C "
        "source",
    )
    add_param_options(run, "set a kernel parameter (repeatable)")
    run.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        action=OutputOption,
        help="trace file (default: KERNEL.ubtrace); for a source, NAME=DTYPE:SHAPE "
        "is an output tensor (repeatable)",
    )
    run.add_argument(
        "--backend",
        choices=("emulated", "npu"),
        default="emulated",
        help="npu: also run the matching torch_npu operator on a real NPU, compare "
        "numerics and record a torch_npu memory profile (needs torch_npu + CANN; "
        "untested on hardware)",
    )
    run.add_argument(
        "--max-memory",
        type=size,
        default=DEFAULT_MAX_MEMORY,
        metavar="SIZE",
        help="refuse a run estimated to need more host memory than this "
        f"(default: {format_bytes(DEFAULT_MAX_MEMORY)}; e.g. 16GiB)",
    )
    add_chip_option(run)
    add_twin_options(run)
    run.set_defaults(handler=_run)


def setup_kernels(kernels: argparse.ArgumentParser) -> None:
    kernels.description = (
        "List the built-in kernels and those installed packages add (entry point "
        "group ubscope.kernels) with their parameters, defaults and presets."
    )
    kernels.add_argument("kernel", nargs="?", help="show one kernel in detail")
    kernels.set_defaults(handler=_kernels)


def print_outcome(outcome: RunOutcome) -> None:
    """The run in one line with its numerics verdict; a run that wrote past
    on-chip capacity says so, and that its numerics mean nothing."""
    out = console()
    errors = outcome.result.max_errors()
    verdict = "matches" if outcome.result.matches() else "DOES NOT MATCH"
    worst = max(errors.values(), default=0.0)
    fault = outcome.device_fault
    output = f"output {verdict} the float64 reference (max abs error {worst:.3g})"
    if fault is not None:
        output = (
            f"output {analyzers.NUMERICS_NOT_MEANINGFUL} (compared all the same, it {verdict} the "
            f"float64 reference: max abs error {worst:.3g})"
        )
    headline = (
        f"{outcome.spec.name}: {outcome.events:,} events, modelled "
        f"{format_time_ps(outcome.duration_ps)}; {output}"
    )
    out.print(analyzers.Hanging(Text(), Text(headline)))
    if fault is not None:
        # Indented as an entry of the run; the lines it wraps onto two columns further.
        out.print(analyzers.Hanging(Text(" "), Text(fault.describe(), style="bold red"), hang=4))
    for note in outcome.result.notes:
        out.print(analyzers.Hanging(Text("  note:"), Text(note)))


def size(text: str) -> int:
    """An argparse type: ``16GiB`` -> bytes, more than none."""
    try:
        return parse_size(text, positive=True)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _run(args: argparse.Namespace) -> int:
    from ubscope.kernels.catalog import get_kernel, is_user_kernel, load_user_kernel
    from ubscope.kernels.npu_backend import cross_check, probe_npu
    from ubscope.kernels.registry import check_host_memory, estimate_run, progress_batch, run_kernel

    if is_source(args.kernel):
        return run_source(args)
    spec = load_user_kernel(args.kernel) if is_user_kernel(args.kernel) else get_kernel(args.kernel)
    params = spec.resolve(args.param, args.preset)
    chip = chip_from_args(args)
    output = check_output_path(
        args.output, default=f"{spec.name}{'_' + args.preset if args.preset else ''}.ubtrace"
    )
    if output.suffix != TRACE_SUFFIX:
        warnings.warn(
            f"{output}: the name does not end in {TRACE_SUFFIX}; the file is a trace all the "
            f"same, but `tui FOLDER` and `analyze FOLDER` find traces by that extension",
            stacklevel=1,
        )
    if args.backend == "npu":
        probe_npu()  # fail early, before the emulation, when the NPU path cannot run
    estimate = estimate_run(spec, params, chip)
    if estimate is not None:
        check_host_memory(spec.name, estimate, args.max_memory)
    total = estimate.events if estimate is not None else None
    with progress(f"running {spec.name} on {chip.name}", total, unit="events") as bar:
        outcome = run_kernel(
            spec,
            params,
            chip,
            output,
            preset=args.preset,
            batch_events=progress_batch(total or 0),
            on_events=lambda count: advance(bar, amount=count),
        )
    print_outcome(outcome)
    console().print(f"trace written to {output}", markup=False)
    matches = outcome.result.matches() and outcome.device_fault is None
    if args.backend == "npu":
        profile_dir = output.with_suffix(".torch_npu")
        check = cross_check(spec.name, outcome.params, outcome.result, profile_dir)
        verdict = "matches" if check.matches else "DOES NOT MATCH"
        console().print(
            f"torch_npu operator {verdict} the emulated output (max abs error "
            f"{check.max_abs_error:.3g}); torch_npu memory profile in {profile_dir}",
            markup=False,
        )
        matches = matches and check.matches
    return 0 if matches else 1


def _kernels(args: argparse.Namespace) -> int:
    from ubscope.kernels.catalog import get_kernel, load_kernels

    out = console()
    specs = {args.kernel: get_kernel(args.kernel)} if args.kernel else load_kernels()
    for name in sorted(specs):
        spec = specs[name]
        out.print(analyzers.Hanging(Text(), Text(f"{spec.name}: {spec.summary}", style="bold")))
        if len(specs) == 1:
            # The descriptions start in one column and wrap onto it.
            settings = [f"{param.name}={param.default!s}" for param in spec.params]
            width = max(map(len, settings), default=0)
            for param, setting in zip(spec.params, settings, strict=True):
                choices = f" ({'|'.join(map(str, param.choices))})" if param.choices else ""
                label = Text(f"  {setting:<{width}}")
                out.print(analyzers.Hanging(label, Text(f"{param.help}{choices}")))
        for preset, (description, _) in spec.presets.items():
            out.print(analyzers.Hanging(Text(f"  --preset {preset}:"), Text(description), hang=4))
    return 0
