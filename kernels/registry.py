"""The kernel registry: every kernel and variant runnable as ``ubscope run NAME``.

A :class:`KernelSpec` names a kernel, documents its parameters with defaults
that fit the default chip, lists its planted-problem presets, and knows how to
run it on a :class:`Device` and what minimal GM traffic its math needs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ubscope.probe.chip import ChipProfile
from ubscope.probe.device import Device
from ubscope.probe.errors import ParameterError
from ubscope.probe.recorder import NullRecorder, Recorder
from ubscope.probe.trace import TraceWriter, new_metadata

# The article's own tolerance for fp16 outputs against a reference.
RTOL = 1e-2
ATOL = 1e-2


@dataclass(frozen=True)
class Param:
    """One kernel parameter: ``type`` is int, float, bool or str."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None

    def parse(self, text: str) -> Any:
        try:
            if self.type is bool:
                lowered = text.strip().lower()
                if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError
                value: Any = lowered in ("1", "true", "yes", "on")
            else:
                value = self.type(text)
        except ValueError:
            raise ParameterError(
                f"parameter {self.name}={text!r}: expected {self.type.__name__}"
            ) from None
        if self.choices is not None and value not in self.choices:
            options = ", ".join(map(str, self.choices))
            raise ParameterError(f"parameter {self.name}={text!r}: expected one of {options}")
        return value


@dataclass
class KernelResult:
    """What a kernel run produced: outputs, their float64 references, and the
    host inputs (for cross-checking against real NPU operators)."""

    outputs: dict[str, np.ndarray]
    references: dict[str, np.ndarray]
    notes: list[str] = field(default_factory=list)
    inputs: dict[str, np.ndarray] = field(default_factory=dict)

    def max_errors(self) -> dict[str, float]:
        """Largest absolute error per output."""
        errors = {}
        for name, out in self.outputs.items():
            ref = self.references[name]
            diff = np.abs(out.astype(np.float64) - ref)
            errors[name] = float(np.nanmax(diff)) if diff.size else 0.0
        return errors

    def matches(self, rtol: float = RTOL, atol: float = ATOL) -> bool:
        return all(
            np.allclose(out.astype(np.float64), self.references[name], rtol=rtol, atol=atol)
            for name, out in self.outputs.items()
        )


@dataclass(frozen=True)
class KernelSpec:
    name: str
    summary: str
    params: tuple[Param, ...]
    run: Callable[[Device, dict[str, Any]], KernelResult]
    minimal_traffic: Callable[[dict[str, Any]], dict[str, int]]
    presets: Mapping[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    validate: Callable[[dict[str, Any], ChipProfile], None] | None = None

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params)
        raise ParameterError(f"{self.name} has no parameter {name!r} (parameters: {known})")

    def resolve(self, assignments: Sequence[str] = (), preset: str | None = None,
                overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        """Defaults, then the preset, then ``key=value`` assignments, then overrides."""
        values = self.defaults()
        if preset is not None:
            if preset not in self.presets:
                known = ", ".join(self.presets) or "none"
                raise ParameterError(f"{self.name} has no preset {preset!r} (presets: {known})")
            values.update(self.presets[preset][1])
        for item in assignments:
            key, sep, text = item.partition("=")
            if not sep:
                raise ParameterError(f"--param {item!r}: expected key=value")
            values[key.strip()] = self.param(key.strip()).parse(text.strip())
        for key, value in (overrides or {}).items():
            self.param(key)
            values[key] = value
        return values


REGISTRY: dict[str, KernelSpec] = {}


def register(spec: KernelSpec) -> KernelSpec:
    if spec.name in REGISTRY:
        raise ValueError(f"kernel {spec.name} registered twice")
    REGISTRY[spec.name] = spec
    return spec


def get_kernel(name: str) -> KernelSpec:
    load_builtin_kernels()
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ParameterError(f"unknown kernel {name!r} (kernels: {known})") from None


def load_builtin_kernels() -> dict[str, KernelSpec]:
    """Import the kernel modules so they register themselves."""
    from ubscope.kernels import catalog  # noqa: F401  (registers on import)

    return REGISTRY


@dataclass
class RunOutcome:
    spec: KernelSpec
    params: dict[str, Any]
    result: KernelResult
    trace_path: Path | None
    events: int
    duration_ps: int


def run_kernel(spec: KernelSpec, params: dict[str, Any], chip: ChipProfile,
               output: str | os.PathLike[str] | None = None, *,
               recorder: Recorder | None = None, preset: str | None = None,
               gm_misalign: int = 0, batch_events: int = 65536) -> RunOutcome:  # fmt: skip
    """Run ``spec`` with ``params`` on ``chip``; stream the trace to ``output``
    (or into ``recorder``; with neither, record nothing)."""
    if spec.validate is not None:
        spec.validate(params, chip)
    writer = None
    if output is not None:
        extra = {"preset": preset} if preset else {}
        meta = new_metadata(chip.to_dict(), spec.name, params, spec.minimal_traffic(params), extra)
        writer = TraceWriter(output, meta)
        recorder = Recorder(sink=writer.write, batch_events=batch_events)
    elif recorder is None:
        recorder = NullRecorder()
    device = Device(chip, recorder, gm_misalign=int(params.get("gm_misalign", gm_misalign)))
    try:
        result = spec.run(device, params)
    finally:
        recorder.flush()
        if writer is not None:
            writer.close()
    return RunOutcome(spec, params, result, Path(output) if output else None,
                      recorder.event_count, device.clock_ps)  # fmt: skip
