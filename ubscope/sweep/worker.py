"""One configuration of a sweep, run in a worker process: the kernel (or the
Ascend C case on the CPU twin) into its trace, then the trace analyzed into
the configuration's row. Module-level functions only: the executors send
them to workers by reference."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ubscope.analyzers import STATUS_INVALID, SweepRow, analyze_path, row_of_analysis
from ubscope.kernels.catalog import get_kernel, is_user_kernel, load_user_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.probe.ascendc.build import CompileError
from ubscope.probe.ascendc.case import Case, load_case, make_tensors, mismatch_share
from ubscope.probe.ascendc.case import reference_outputs as case_references
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.sweep.plan import CASE, SweepTask, case_params

# Inputs of a case are generated with this seed, as `ubscope run case.yaml` does by default.
CASE_SEED = 0


def run_task(task: SweepTask) -> SweepRow:
    """Run one configuration and analyze its trace. A source that does not
    compile with the configuration's values is an ``invalid`` configuration;
    anything else the kernel raises propagates (the executor records it as a
    crash)."""
    try:
        numerics_ok = _run_case(task) if task.kind == CASE else _run_kernel(task)
    except CompileError as exc:
        return task.row(STATUS_INVALID, "does not compile: " + "; ".join(exc.message_lines()))
    analysis = analyze_path(task.trace)
    return row_of_analysis(
        analysis,
        key=task.key,
        grid=task.grid,
        trace=Path(task.trace).name,
        numerics_ok=numerics_ok,
    )


def _run_kernel(task: SweepTask) -> bool:
    spec = load_user_kernel(task.target) if is_user_kernel(task.target) else get_kernel(task.target)
    swept = [f"{name}={text}" for name, text in task.values]
    params = spec.resolve([*task.fixed, *swept], task.preset)
    outcome = run_kernel(spec, params, load_chip(task.chip), task.trace, preset=task.preset)
    return outcome.result.matches()


def _run_case(task: SweepTask) -> bool | None:
    """Run the case with the swept values in place of its own; whether every
    output is within the case's tolerance of its reference (None: no reference)."""
    case = load_case(task.target)
    launch = case.launch_values
    tiling, scalars = dict(launch.tiling), dict(launch.scalars)
    defines, block_dim, tiling_key = [], case.block_dim, launch.tiling_key
    for name, text in task.values:
        group, _, field = name.partition(".")
        if group == "tiling":
            tiling[field] = text
        elif group == "scalar":
            scalars[field] = text
        elif group == "define":
            defines.append(f"{field}={text}")
        elif name == "block_dim":
            block_dim = int(text)
        else:
            tiling_key = int(text)
    values = dataclasses.replace(launch, tiling=tiling, scalars=scalars, tiling_key=tiling_key)
    rng = np.random.default_rng(CASE_SEED)
    inputs = make_tensors(case.inputs, rng, case.path)
    outputs = make_tensors(case.outputs, rng, case.path)
    run = run_ascendc(
        case.source,
        case.entry,
        block_dim,
        inputs,
        outputs,
        load_chip(task.chip),
        task.trace,
        defines=tuple(defines),
        params=case_params(str(case.path), task.grid),
        values=values,
    )
    return _matches(case, inputs, run.outputs)


def _matches(
    case: Case, inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray]
) -> bool | None:
    if case.reference is None:
        return None
    expected = case_references(case, inputs)
    limit = case.tolerance.max_mismatch
    return all(
        mismatch_share(outputs[n], want, case.tolerance) <= limit for n, want in expected.items()
    )
