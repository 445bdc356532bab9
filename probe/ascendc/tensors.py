"""Kernel tensors from the command line: ``NAME=DTYPE:SHAPE[:GEN]`` or ``NAME=FILE.npy``.

``GEN`` is ``zeros`` (the default), ``ones``, ``randn``, ``uniform(LOW,HIGH)`` or
``randint(LOW,HIGH)`` (integers LOW .. HIGH - 1, as numpy's); random tensors
come from one seeded generator, so a run is reproducible.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ubscope.probe.errors import InputError, ParameterError
from ubscope.probe.outputs import atomic_output, check_output_path

_UNIFORM = re.compile(r"^uniform\(\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*\)$")
_RANDINT = re.compile(r"^randint\(\s*([-+]?\d+)\s*,\s*([-+]?\d+)\s*\)$")
GENERATORS = "zeros, ones, randn, uniform(LOW,HIGH) or randint(LOW,HIGH)"
DTYPES = ("float16", "float32", "int8", "uint8", "int16", "int32", "int64")


def _dtype(text: str, spec: str) -> np.dtype:
    if text not in DTYPES:
        raise ParameterError(f"{spec}: dtype must be one of {', '.join(DTYPES)}")
    return np.dtype(text)


def _shape(text: str, spec: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise ParameterError(f"{spec}: shape must be sizes joined by 'x', e.g. 8x2048")
    return shape


def generate(
    gen: str, dtype: np.dtype, shape: tuple[int, ...], rng: np.random.Generator, spec: str
) -> np.ndarray:
    if gen == "zeros":
        return np.zeros(shape, dtype)
    if gen == "ones":
        return np.ones(shape, dtype)
    if gen == "randn":
        return rng.standard_normal(shape).astype(dtype)
    found = _UNIFORM.match(gen)
    if found:
        low, high = float(found.group(1)), float(found.group(2))
        return rng.uniform(low, high, shape).astype(dtype)
    found = _RANDINT.match(gen)
    if found:
        low, high = int(found.group(1)), int(found.group(2))
        if low >= high:
            raise ParameterError(f"{spec}: {gen}: HIGH is exclusive, so it must exceed LOW")
        return rng.integers(low, high, shape).astype(dtype)
    raise ParameterError(f"{spec}: generator must be {GENERATORS}")


def parse_tensor(spec: str, rng: np.random.Generator) -> tuple[str, np.ndarray]:
    """``x=float16:8x2048:uniform(1,100)`` or ``x=x.npy`` -> (name, array)."""
    name, sep, value = spec.partition("=")
    if not sep or not name.isidentifier():
        raise ParameterError(f"{spec}: expected NAME=DTYPE:SHAPE[:GEN] or NAME=FILE.npy")
    if value.endswith(".npy"):
        try:
            array = np.load(value, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputError(value, f"expected a .npy array ({exc})") from None
        return name, array
    parts = value.split(":", 2)
    if len(parts) < 2:
        raise ParameterError(f"{spec}: expected NAME=DTYPE:SHAPE[:GEN] or NAME=FILE.npy")
    dtype, shape = _dtype(parts[0], spec), _shape(parts[1], spec)
    return name, generate(parts[2] if len(parts) > 2 else "zeros", dtype, shape, rng, spec)


def parse_tensors(specs: list[str], rng: np.random.Generator) -> dict[str, np.ndarray]:
    tensors: dict[str, np.ndarray] = {}
    for spec in specs:
        name, array = parse_tensor(spec, rng)
        if name in tensors:
            raise ParameterError(f"{spec}: tensor '{name}' given twice")
        tensors[name] = array
    return tensors


def save_outputs(folder: str | Path, outputs: dict[str, np.ndarray]) -> list[Path]:
    """Write each output as ``FOLDER/NAME.npy`` (atomically, via the output policy)."""
    written = []
    for name, array in outputs.items():
        path = check_output_path(Path(folder) / f"{name}.npy")
        with atomic_output(path, binary=True, stdout=False) as handle:
            np.save(handle, array, allow_pickle=False)
        written.append(path)
    return written
