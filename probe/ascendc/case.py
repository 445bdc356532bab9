"""Case files for Ascend C kernels: ``ubscope run case.yaml``.

The format follows ``../shared/ascendc_samples/*/case.yaml`` (keys this module
does not use are ignored)::

    kernel: add_custom.cpp            # or files: [{file: ..., role: kernel}]
    entry: {name: add_custom}         # or entry: add_custom
    launch: {block_dim: 8}
    inputs:  [{name: x, dtype: float16, shape: [8, 2048], gen: uniform(1,100)}]
    outputs: [{name: z, dtype: float16, shape: [8, 2048]}]
    reference: ref.py:add             # optional: a Python function, never an expression
    tolerance: {rtol: 1e-3, atol: 1e-3, max_mismatch: 0.001}   # optional
    tiling: {totalLength: 16384, tiling_key: 1}   # optional: GET_TILING_DATA fields
    # (a tiling block whose kind says "hard-coded" or "compile-time" is prose)
    scalars: {scale: 0.5}                         # optional: scalar parameters

Paths are relative to the case file. The reference function gets the inputs as
keyword arguments and returns the output array (one output) or a mapping of
output name to array. ``reference_numpy`` expressions of the samples are never
evaluated. Errors name ``file: field``.
"""

from __future__ import annotations

import importlib.util
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ubscope.probe.ascendc.tensors import DTYPES, GENERATORS, generate
from ubscope.probe.ascendc.tiling import LaunchValues, case_launch_values
from ubscope.probe.errors import InputError, UbscopeError, read_input_text
from ubscope.probe.yamlfile import parse_yaml

CASE_SUFFIXES = (".yaml", ".yml")
_GEN_NOTE = re.compile(r"^torch\.|\s+\(.*\)$")


class CaseError(InputError):
    """A case file that does not say how to run its kernel."""


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    gen: str = "zeros"


@dataclass(frozen=True)
class Tolerance:
    rtol: float = 1e-3
    atol: float = 1e-3
    max_mismatch: float = 0.0  # share of elements allowed outside rtol/atol


@dataclass(frozen=True)
class Case:
    path: Path
    source: Path
    entry: str
    block_dim: int
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    reference: tuple[Path, str] | None = None
    tolerance: Tolerance = field(default_factory=Tolerance)
    launch_values: LaunchValues = field(default_factory=LaunchValues)


def _field(data: dict[str, Any], key: str, path: Path, kind: type, where: str = "") -> Any:
    name = f"{where}.{key}" if where else key
    if key not in data:
        raise CaseError(path, f"{name}: missing")
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise CaseError(path, f"{name}: expected {kind.__name__}, got {value!r}")
    return value


def _tensors(data: dict[str, Any], key: str, path: Path) -> tuple[TensorSpec, ...]:
    specs = []
    for index, item in enumerate(_field(data, key, path, list)):
        where = f"{key}[{index}]"
        if not isinstance(item, dict):
            raise CaseError(path, f"{where}: expected a mapping with name, dtype and shape")
        name = item.get("name")
        if not isinstance(name, str) or not name.isidentifier():
            raise CaseError(path, f"{where}.name: expected an identifier, got {name!r}")
        dtype = item.get("dtype")
        if dtype not in DTYPES:
            raise CaseError(path, f"{where}.dtype: expected one of {', '.join(DTYPES)}")
        shape = item.get("shape")
        if (
            not isinstance(shape, list)
            or not shape
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
        ):
            raise CaseError(path, f"{where}.shape: expected a list of positive sizes")
        gen = item.get("gen", "zeros")
        if not isinstance(gen, str):
            raise CaseError(path, f"{where}.gen: expected {GENERATORS}")
        # The samples write "torch.randn" and "ones (ModelNew)": the same generators.
        gen = _GEN_NOTE.sub("", gen)
        specs.append(TensorSpec(name, np.dtype(dtype), tuple(shape), gen))
    return tuple(specs)


def _source(data: dict[str, Any], path: Path) -> Path:
    if "kernel" in data:
        return path.parent / _field(data, "kernel", path, str)
    kernels = [
        f.get("file")
        for f in data.get("files", []) or []
        if isinstance(f, dict) and f.get("role") == "kernel"
    ]
    kernel = kernels[0] if len(kernels) == 1 else None
    if not isinstance(kernel, str):
        raise CaseError(path, "kernel: missing (or one files entry with role: kernel)")
    if not kernel.endswith(".cpp"):
        # A kernel kept as a Python string literal: the samples extract it to derived/.
        derived = [
            str(f["file"])
            for f in data.get("files", []) or []
            if isinstance(f, dict)
            and str(f.get("role", "")).startswith("derived")
            and str(f.get("file", "")).endswith("kernel.cpp")
        ]
        if len(derived) == 1:
            return path.parent / derived[0]
    return path.parent / kernel


def _reference(data: dict[str, Any], path: Path) -> tuple[Path, str] | None:
    if "reference" not in data:
        return None
    text = _field(data, "reference", path, str)
    file, sep, function = text.rpartition(":")
    if not sep or not file.endswith(".py") or not function.isidentifier():
        raise CaseError(path, f"reference: expected FILE.py:FUNCTION, got {text!r}")
    return path.parent / file, function


def _tolerance(data: dict[str, Any], path: Path) -> Tolerance:
    value = data.get("tolerance")
    if not isinstance(value, dict):  # absent, or the samples' prose: the defaults
        return Tolerance()
    numbers = {}
    for key in ("rtol", "atol", "max_mismatch"):
        if key in value:
            number = value[key]
            if not isinstance(number, (int, float)) or isinstance(number, bool) or number < 0:
                raise CaseError(path, f"tolerance.{key}: expected a number >= 0")
            numbers[key] = float(number)
    return Tolerance(**numbers)


def load_case(path: str | Path) -> Case:
    path = Path(path)
    data = parse_yaml(read_input_text(path, CaseError, "a case file"), str(path), CaseError)
    if not isinstance(data, dict):
        raise CaseError(path, "expected a mapping (kernel, entry, launch, inputs, outputs)")
    entry = data.get("entry")
    entry = entry.get("name") if isinstance(entry, dict) else entry
    if not isinstance(entry, str) or not entry.isidentifier():
        raise CaseError(path, "entry: expected the kernel's entry name (or entry: {name: ...})")
    launch = _field(data, "launch", path, dict)
    block_dim = _field(launch, "block_dim", path, int, "launch")
    if block_dim < 1:
        raise CaseError(path, f"launch.block_dim: expected at least 1, got {block_dim}")
    return Case(
        path,
        _source(data, path),
        entry,
        block_dim,
        _tensors(data, "inputs", path),
        _tensors(data, "outputs", path),
        _reference(data, path),
        _tolerance(data, path),
        case_launch_values(data, path),
    )


def make_tensors(
    specs: tuple[TensorSpec, ...], rng: np.random.Generator, path: Path
) -> dict[str, np.ndarray]:
    return {s.name: generate(s.gen, s.dtype, s.shape, rng, f"{path}: {s.name}") for s in specs}


def _user_code_error(file: Path, problem: str, exc: BaseException) -> InputError:
    """``exc`` raised by the user's reference file as one line: ``file:line``
    (its deepest frame in ``file``, where Python knows it) and the exception."""
    line = None
    if isinstance(exc, SyntaxError) and exc.filename and _same_file(exc.filename, file):
        line = exc.lineno
    for frame in traceback.extract_tb(exc.__traceback__):
        if _same_file(frame.filename, file):
            line = frame.lineno
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    what = type(exc).__name__ + (f": {message}" if message else "")
    return InputError(f"{file}:{line}" if line else file, f"{problem}: {what}")


def _same_file(name: str, file: Path) -> bool:
    try:
        return Path(name).resolve() == file.resolve()
    except (OSError, ValueError):
        return False


def load_reference(case: Case) -> Callable[..., Any]:
    """The case's reference function, loaded from the user's Python file (run
    before the kernel is compiled, so that a bad one is reported at once)."""
    assert case.reference is not None
    file, function = case.reference
    spec = importlib.util.spec_from_file_location(f"ubscope_reference_{file.stem}", file)
    if spec is None or spec.loader is None or not file.is_file():
        raise CaseError(case.path, f"reference: cannot load {file}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        raise _user_code_error(file, "the reference file does not load", exc) from None
    fn = getattr(module, function, None)
    if not callable(fn):
        raise CaseError(case.path, f"reference: {file.name} has no function {function}")
    return fn


def _reference_array(file: Path, function: str, spec: TensorSpec, value: object) -> np.ndarray:
    """``value`` as the array for output ``spec``: of its shape, and numbers."""
    try:
        array = None if value is None else np.asarray(value)
    except (ValueError, TypeError):  # ragged lists and the like
        array = None
    if array is not None and array.shape == spec.shape and array.dtype.kind in "biuf":
        return array
    got = (
        repr(value)
        if value is None
        else type(value).__name__
        if array is None
        else f"shape {list(array.shape)} of {array.dtype} ({type(value).__name__})"
    )
    raise InputError(
        file,
        f"reference {function} returned {got} for output {spec.name}, "
        f"which is shape {list(spec.shape)} of {spec.dtype}",
    )


def reference_outputs(
    case: Case, inputs: dict[str, np.ndarray], fn: Callable[..., Any] | None = None
) -> dict[str, np.ndarray]:
    """Run the case's reference function (``fn``, else loaded by
    :func:`load_reference`) on the inputs; one line naming the user's file for
    an exception in it or an array of another shape than the output's."""
    assert case.reference is not None
    file, function = case.reference
    fn = fn or load_reference(case)
    try:
        result = fn(**{name: array.copy() for name, array in inputs.items()})
    except (Exception, SystemExit) as exc:
        raise _user_code_error(file, f"reference {function} failed", exc) from None
    if not isinstance(result, dict):
        if len(case.outputs) != 1:
            raise UbscopeError(f"{file}: {function} must return a mapping of output name to array")
        result = {case.outputs[0].name: result}
    missing = [s.name for s in case.outputs if s.name not in result]
    if missing:
        raise UbscopeError(f"{file}: {function} returned no {', '.join(missing)}")
    return {s.name: _reference_array(file, function, s, result[s.name]) for s in case.outputs}


def mismatch_share(actual: np.ndarray, expected: np.ndarray, tolerance: Tolerance) -> float:
    """Share of elements outside ``atol + rtol * |expected|`` (shapes must agree)."""
    actual, expected = actual.astype(np.float64), expected.astype(np.float64)
    if actual.shape != expected.shape:
        return 1.0
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(actual - expected) <= tolerance.atol + tolerance.rtol * np.abs(expected))
    return float(bad.mean()) if bad.size else 0.0
