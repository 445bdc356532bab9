"""``ubscope run KERNEL.cpp``: an Ascend C source on the CPU twin (called by run.py)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text

# The twin (numpy, the recorder, the kernels' runtime) loads when a source runs,
# not with `ubscope run --help`.
import ubscope.analyzers as analyzers
from ubscope.commands.common import chip_from_args, console, progress
from ubscope.probe.errors import ParameterError
from ubscope.probe.outputs import check_output_folder, check_output_path
from ubscope.probe.units import format_time_ps

if TYPE_CHECKING:
    from ubscope.probe.ascendc.runner import Stages, TwinRun

SOURCE_SUFFIXES = (".cpp", ".cc", ".cxx", ".c++")


class OutputOption(argparse.Action):
    """``--output``: ``NAME=SPEC`` is a kernel output tensor, anything else the trace file."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        if "=" in str(values) and str(values).split("=", 1)[0].isidentifier():
            namespace.tensor_outputs = [*(namespace.tensor_outputs or []), values]
        else:
            namespace.output = values


def add_twin_options(run: argparse.ArgumentParser) -> None:
    group = run.add_argument_group("Ascend C sources (KERNEL is a .cpp file; docs/ascendc-twin.md)")
    group.add_argument(
        "--entry",
        help='the kernel\'s extern "C" entry (default: the function named as '
        "the file's stem, else the file's only __global__ function)",
    )
    group.add_argument("--block-dim", type=int, default=1, metavar="N", help="blocks to launch")
    group.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="an input tensor: NAME=DTYPE:SHAPE[:GEN] (GEN: zeros, ones, randn, "
        "uniform(LOW,HIGH), randint(LOW,HIGH)) or NAME=FILE.npy (repeatable)",
    )
    group.add_argument("--save-outputs", metavar="DIR", help="write each output as DIR/NAME.npy")
    group.add_argument("--seed", type=int, default=0, help="seed of generated inputs")
    group.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="a compile-time define (repeatable)",
    )
    group.add_argument(
        "-I",
        dest="include_dirs",
        action="append",
        default=[],
        metavar="DIR",
        help="an include folder (repeatable)",
    )
    group.add_argument(
        "--tiling",
        action="append",
        default=[],
        metavar="NAME=VALUE,...",
        help="GET_TILING_DATA fields by name: FIELD=NUMBER, ARRAY=[NUMBER,...], "
        "STRUCT.FIELD=NUMBER",
    )
    group.add_argument(
        "--tiling-key",
        type=int,
        default=0,
        metavar="K",
        help="the value TILING_KEY_IS(K) tests (default 0)",
    )
    group.add_argument(
        "--workspace",
        type=int,
        default=0,
        metavar="BYTES",
        help="give the entry's GM_ADDR workspace a zeroed GM buffer of BYTES",
    )
    group.add_argument(
        "--tiling-header",
        action="append",
        default=[],
        metavar="FILE",
        help="a tiling header (BEGIN_TILING_DATA_DEF) the kernel does not "
        "include itself (repeatable)",
    )
    group.add_argument(
        "--scalar",
        action="append",
        default=[],
        metavar="NAME=VALUE,...",
        help="the kernel's scalar parameters by name",
    )
    group.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="stop a kernel that runs longer than this (not counting its compile): one "
        "line, the trace so far kept as truncated, exit 2 (default: no limit)",
    )
    run.set_defaults(tensor_outputs=[])


def is_source(kernel: str) -> bool:
    from ubscope.probe.ascendc.case import CASE_SUFFIXES

    return kernel.lower().endswith(SOURCE_SUFFIXES + CASE_SUFFIXES)


def _print_fault(run: TwinRun) -> bool:
    """Say that the run wrote past on-chip capacity (the device would have
    faulted; its outputs mean nothing); whether it did."""
    if run.device_fault is None:
        return False
    fault = Text(f"{run.device_fault.describe()} (its outputs are not meaningful)", "bold red")
    console().print(analyzers.Hanging(Text(" "), fault, hang=4))  # as `ubscope run KERNEL` does
    return True


def _timeout(args: argparse.Namespace) -> float | None:
    """--timeout, checked as `ubscope sweep` checks its own."""
    if args.timeout is not None and not args.timeout > 0:
        raise ParameterError(f"--timeout {args.timeout:g}: expected seconds, more than 0")
    return args.timeout


def _check_outputs(args: argparse.Namespace, default: str) -> Path:
    """The trace file (``default`` unless --output names one) and the
    --save-outputs folder, checked before the kernel is compiled and run."""
    if args.save_outputs is not None:
        check_output_folder(args.save_outputs)
    return check_output_path(args.output, default=default)


def _print_written(args: argparse.Namespace, run: TwinRun, trace: Path) -> None:
    """Save the outputs --save-outputs asks for; name every file written."""
    from ubscope.probe.ascendc.tensors import save_outputs

    out = console()
    if args.save_outputs is not None:
        for path in save_outputs(args.save_outputs, run.outputs):
            out.print(f"output written to {path}", markup=False)
    out.print(f"trace written to {trace}", markup=False)


def _progress_stages(source: Path, entry: str, block_dim: int) -> Stages:
    """Spinners on a terminal while the source compiles (a first run: a few
    seconds) and while the kernel runs."""
    from ubscope.probe.ascendc.runner import Stages

    blocks = f"{block_dim} block{'s' if block_dim != 1 else ''}"
    return Stages(
        compiling=progress(f"compiling {source.name} (cached for later runs)", None),
        running=progress(f"running {entry} on {blocks}", None),
    )


def run_case_file(args: argparse.Namespace) -> int:
    """Run a case file; exit 1 when an output differs from its reference or the
    run would fault on the device."""
    import numpy as np

    from ubscope.probe.ascendc.case import (
        CaseError,
        load_case,
        load_reference,
        make_tensors,
        mismatch_share,
        reference_outputs,
    )
    from ubscope.probe.ascendc.runner import (
        block_dim_problem,
        launch_mode,
        read_source,
        run_ascendc,
    )

    case = load_case(args.kernel)
    timeout = _timeout(args)
    chip = chip_from_args(args)
    # Everything the case names is checked before the kernel is compiled and run.
    mode = launch_mode(case.source, read_source(case.source), chip)
    problem = block_dim_problem(case.block_dim, mode, chip)
    if problem:
        raise CaseError(case.path, f"launch.block_dim: {problem}")
    reference = load_reference(case) if case.reference is not None else None
    rng = np.random.default_rng(args.seed)
    inputs = make_tensors(case.inputs, rng, case.path)
    outputs = make_tensors(case.outputs, rng, case.path)
    trace = _check_outputs(args, f"{case.entry}.ubtrace")
    run = run_ascendc(
        case.source,
        case.entry,
        case.block_dim,
        inputs,
        outputs,
        chip,
        trace,
        defines=tuple(args.defines),
        include_dirs=tuple(args.include_dirs),
        params={"case": str(case.path)},
        values=case.launch_values,
        timeout_s=timeout,
        stages=_progress_stages(case.source, case.entry, case.block_dim),
    )
    out = console()
    out.print(
        f"{case.entry}: {run.events:,} events, modelled {format_time_ps(run.duration_ps)} "
        f"on {chip.name} (CPU twin)",
        markup=False,
    )
    faulted = _print_fault(run)
    matches = not faulted
    if reference is None:
        out.print(
            "  outputs not checked: the case has no reference: FILE.py:FUNCTION", markup=False
        )
    else:
        expected = reference_outputs(case, inputs, reference)
        for name, want in expected.items():
            share = mismatch_share(run.outputs[name], want, case.tolerance)
            ok = share <= case.tolerance.max_mismatch
            matches = matches and ok
            verdict = "matches" if ok else "DOES NOT MATCH"
            if faulted:
                verdict = (
                    f"is {analyzers.NUMERICS_NOT_MEANINGFUL}; compared all the same, it {verdict}"
                )
            out.print(
                f"  {name} {verdict} the reference ({share:.3%} of elements outside "
                f"rtol {case.tolerance.rtol:g} / atol {case.tolerance.atol:g})",
                markup=False,
            )
    _print_written(args, run, trace)
    return 0 if matches else 1


def run_source(args: argparse.Namespace) -> int:
    """Compile and run the source, write the trace, print a summary; exit 1 when
    the run would fault on the device."""
    import numpy as np

    from ubscope.probe.ascendc.build import default_entry
    from ubscope.probe.ascendc.case import CASE_SUFFIXES
    from ubscope.probe.ascendc.runner import read_source, run_ascendc
    from ubscope.probe.ascendc.tensors import parse_tensor, parse_tensors
    from ubscope.probe.ascendc.tiling import cli_launch_values

    if args.kernel.lower().endswith(CASE_SUFFIXES):
        return run_case_file(args)
    source = Path(args.kernel)
    text = read_source(source)  # a source that is not there is the first thing to say
    entry = args.entry or default_entry(source, text)
    timeout = _timeout(args)
    if not args.tensor_outputs:
        raise ParameterError(f"{source}: give the kernel's outputs with --output NAME=DTYPE:SHAPE")
    rng = np.random.default_rng(args.seed)
    inputs = parse_tensors(args.input, rng)
    outputs = dict(parse_tensor(spec, rng) for spec in args.tensor_outputs)
    trace = _check_outputs(args, f"{entry}.ubtrace")
    chip = chip_from_args(args)
    run = run_ascendc(
        source,
        entry,
        args.block_dim,
        inputs,
        outputs,
        chip,
        trace,
        defines=tuple(args.defines),
        include_dirs=tuple(args.include_dirs),
        values=cli_launch_values(
            args.tiling, args.tiling_key, args.scalar, args.tiling_header, args.workspace
        ),
        timeout_s=timeout,
        stages=_progress_stages(source, entry, args.block_dim),
    )
    out = console()
    out.print(
        f"{entry}: {run.events:,} events, modelled {format_time_ps(run.duration_ps)} on "
        f"{chip.name} (CPU twin)",
        markup=False,
    )
    faulted = _print_fault(run)
    _print_written(args, run, trace)
    return 1 if faulted else 0
