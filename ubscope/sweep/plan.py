"""A sweep's configurations: one :class:`SweepTask` per combination of swept
values and chip, checked before anything runs.

A name the kernel does not have or a value it cannot parse is bad input (one
line, exit 2). A combination the kernel refuses (a tile that does not divide
the shape, a run estimated past the host-memory limit) is a configuration
like the others, recorded as ``invalid`` without running.

Each configuration has a key: a hash of what decides its result (the kernel,
and the content of a user's kernel or case file; the values; the chip; the
ubscope version). The key names its trace file and lets a resumed sweep find
what is already done.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ubscope.analyzers import STATUS_INVALID, SweepRow
from ubscope.commands.twin import SOURCE_SUFFIXES
from ubscope.kernels.catalog import get_kernel, is_user_kernel, load_user_kernel
from ubscope.kernels.registry import check_host_memory, estimate_run
from ubscope.probe.ascendc.case import CASE_SUFFIXES, load_case
from ubscope.probe.chip import builtin_chips, load_chip
from ubscope.probe.errors import ParameterError
from ubscope.probe.estimate import DEFAULT_MAX_MEMORY
from ubscope.probe.kernel_spec import ByModel, KernelSpec, PerChip
from ubscope.probe.trace import TRACE_SUFFIX
from ubscope.probe.version import __version__
from ubscope.sweep.grid import Grid, combinations

KERNEL = "kernel"
CASE = "case"
# What an Ascend C case sweeps: GET_TILING_DATA fields, scalar parameters,
# compile-time defines (-D NAME=VALUE) and the launch.
CASE_FIELDS = ("tiling.", "scalar.", "define.")
CASE_LAUNCH = ("block_dim", "tiling_key")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_UNSAFE = re.compile(r"[^\w.-]+", re.ASCII)
_KEY_DIGITS = 16


@dataclass(frozen=True)
class SweepTask:
    """One configuration to run: ``target`` is a kernel name, a Python
    file (absolute, ``:NAME`` allowed), ``pkg.module:NAME`` or a case file
    (absolute); ``values`` the swept values as given; ``chip`` a chip name or
    an absolute profile path (``chip_name`` the profile's name); ``trace`` the
    absolute trace path; ``kernel`` the name its row gives the kernel."""

    kind: str
    target: str
    values: tuple[tuple[str, str], ...]
    chip: str
    chip_name: str
    trace: str
    key: str
    kernel: str
    fixed: tuple[str, ...] = ()
    preset: str | None = None
    # Every parameter the configuration runs with, as its trace records them:
    # the name of a row that has no trace (crashed, timed out).
    params: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def grid(self) -> dict[str, Any]:
        """The swept values as numbers where they are numbers (the table's columns)."""
        return typed_grid(self.values)

    def row(self, status: str, error: str) -> SweepRow:
        """The configuration's row when there is no analysis of it (a
        refusal, a crash, a timeout)."""
        return SweepRow(
            self.key,
            self.kernel,
            self.chip_name,
            self.grid,
            status,
            params=dict(self.params),
            error=error,
        )


@dataclass
class SweepPlan:
    """The configurations of a sweep in order: tasks to run, and those refused
    before running (``invalid`` rows)."""

    kernel: str
    keys: list[str] = field(default_factory=list)
    tasks: list[SweepTask] = field(default_factory=list)
    refused: list[SweepRow] = field(default_factory=list)


def plain_value(text: str) -> Any:
    """``"16"`` -> 16, ``"0.5"`` -> 0.5, anything else stays text."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text) if _NUMBER.fullmatch(text) else text
    except ValueError:
        return text


def typed_grid(values: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Swept values (name, text) as numbers where they are numbers."""
    return {name: plain_value(text) for name, text in values}


def case_params(case: str, grid: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters a case's trace records: the case file and the swept values."""
    return {"case": case, **grid}


def is_case(target: str) -> bool:
    return target.lower().endswith(CASE_SUFFIXES)


def plan_sweep(
    target: str,
    grid: Grid,
    chips: Sequence[str],
    folder: str | Path,
    *,
    fixed: Sequence[str] = (),
    preset: str | None = None,
    max_memory: int = DEFAULT_MAX_MEMORY,
) -> SweepPlan:
    """Every configuration of ``target`` over ``grid`` and ``chips``, with
    ``fixed`` (``NAME=VALUE``) parameters and a preset for Python kernels;
    traces go in ``folder``."""
    folder = Path(folder).resolve()
    if target.lower().endswith(SOURCE_SUFFIXES):
        raise ParameterError(
            f"{target}: sweep an Ascend C source through a case file that names its inputs "
            "and outputs (docs/sweep.md)"
        )
    _fixed_or_swept(grid, fixed)
    if is_case(target):
        if fixed or preset:
            raise ParameterError(f"{target}: --param and --preset are for Python kernels")
        return _plan_case(target, grid, chips, folder)
    return _plan_kernel(target, grid, chips, folder, tuple(fixed), preset, max_memory)


def _plan_kernel(
    target: str,
    grid: Grid,
    chips: Sequence[str],
    folder: Path,
    fixed: tuple[str, ...],
    preset: str | None,
    max_memory: int,
) -> SweepPlan:
    user = is_user_kernel(target)
    spec = load_user_kernel(target) if user else get_kernel(target)
    if user:
        file, sep, name = target.partition(":")
        if file.endswith(".py"):
            target = str(Path(file).resolve()) + sep + name
    identity = _kernel_identity(target, user)
    plan = SweepPlan(spec.name)
    for chip_name in chips:
        chip = load_chip(chip_name)
        chip_target = _chip_target(chip_name)
        for values in combinations(grid):
            assignments = [*fixed, *(f"{name}={text}" for name, text in values.items())]
            params = spec.resolve(assignments, preset)  # unknown names, bad values: exit 2
            key = _key(identity, values, chip_target, _file_digest(chip_target), fixed, preset)
            refusal = _refusal(spec, params, chip, max_memory)
            plan.keys.append(key)
            if refusal is not None:
                row = SweepRow(
                    key,
                    spec.name,
                    chip.name,
                    typed_grid(values.items()),
                    STATUS_INVALID,
                    params=_as_given(params),
                    error=refusal,
                )
                plan.refused.append(row)
                continue
            task = SweepTask(
                KERNEL,
                target,
                tuple(values.items()),
                chip_target,
                chip.name,
                str(folder / _trace_name(spec.name, values, chip.name, key)),
                key,
                spec.name,
                fixed,
                preset,
                spec.for_chip(params, chip),  # as the run records them (refused above if not)
            )
            plan.tasks.append(task)
    return plan


def _as_given(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters of a configuration that never ran: the values the chip
    or the kernel would choose shown as their label (``auto``)."""
    return {
        name: str(value) if isinstance(value, (ByModel, PerChip)) else value
        for name, value in params.items()
    }


def _fixed_or_swept(grid: Grid, fixed: Sequence[str]) -> None:
    """A parameter both held fixed and swept is one line: which one wins would be a guess."""
    held = {text.partition("=")[0].strip() for text in fixed}
    for name in grid:
        if name in held:
            raise ParameterError(
                f"-p {name} and --grid {name}: hold a parameter fixed or sweep it, not both"
            )


def _refusal(spec: KernelSpec, params: dict[str, Any], chip: Any, max_memory: int) -> str | None:
    """Why the kernel will not run these values on ``chip`` (None: it will)."""
    try:
        estimate = estimate_run(spec, params, chip)
        if estimate is not None:
            check_host_memory(spec.name, estimate, max_memory)
    except ParameterError as exc:
        return str(exc)
    return None


def _plan_case(target: str, grid: Grid, chips: Sequence[str], folder: Path) -> SweepPlan:
    case = load_case(target)  # a broken case file: exit 2
    for name, listed in grid.items():
        if not (name in CASE_LAUNCH or name.startswith(CASE_FIELDS)):
            raise ParameterError(
                f"--grid {name}: a case file sweeps tiling.FIELD, scalar.NAME, define.NAME, "
                "block_dim or tiling_key"
            )
        for text in listed:
            number = plain_value(text)
            if name in CASE_LAUNCH and not isinstance(number, int):
                raise ParameterError(f"--grid {name}={text}: expected an integer")
            if name.startswith(("tiling.", "scalar.")) and isinstance(number, str):
                raise ParameterError(f"--grid {name}={text}: expected a number")
    identity = {
        "case": _digest(case.path.read_bytes()),
        "source": _file_digest(str(case.source)),
    }
    plan = SweepPlan(case.entry)
    for chip_name in chips:
        chip = load_chip(chip_name)
        chip_target = _chip_target(chip_name)
        for values in combinations(grid):
            key = _key(identity, values, chip_target, _file_digest(chip_target), (), None)
            trace = str(folder / _trace_name(case.entry, values, chip.name, key))
            target = str(case.path.resolve())
            params = case_params(target, typed_grid(values.items()))
            task = SweepTask(
                CASE,
                target,
                tuple(values.items()),
                chip_target,
                chip.name,
                trace,
                key,
                case.entry,
                params=params,
            )
            plan.keys.append(key)
            plan.tasks.append(task)
    return plan


def _chip_target(name: str) -> str:
    """A built-in chip's name, or the absolute path of a profile file (workers
    may run elsewhere)."""
    return name if name in builtin_chips() else str(Path(name).resolve())


def _kernel_identity(target: str, user: bool) -> dict[str, str]:
    file = target.partition(":")[0]
    if user and file.endswith(".py"):
        return {"kernel": target, "content": _file_digest(file)}
    return {"kernel": target}


def _key(
    identity: Mapping[str, str],
    values: Mapping[str, str],
    chip: str,
    chip_digest: str,
    fixed: Sequence[str],
    preset: str | None,
) -> str:
    described = {
        **identity,
        "values": values,
        "chip": chip,
        "chip_content": chip_digest,
        "fixed": list(fixed),
        "preset": preset,
        "ubscope": __version__,
    }
    text = json.dumps(described, sort_keys=True, separators=(",", ":"))
    return _digest(text.encode())[:_KEY_DIGITS]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_digest(path: str) -> str:
    """The content's hash of a file (a built-in name or a missing file: "")."""
    try:
        return _digest(Path(path).read_bytes())
    except OSError:
        return ""


def _trace_name(kernel: str, values: Mapping[str, str], chip: str, key: str) -> str:
    """``pool_demo_n16384_tile1024_Ascend910B2_3f2a9c1d.ubtrace``: readable,
    safe in any file system, and unique by its key."""
    words = [kernel, *(f"{name}{text}" for name, text in values.items()), chip]
    stem = _UNSAFE.sub("-", "_".join(words))[:80]
    return f"{stem}_{key[:8]}{TRACE_SUFFIX}"
