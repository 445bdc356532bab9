"""What a kernel is to ubscope: a :class:`KernelSpec` (name, parameters,
presets, how to run it) and the :class:`KernelResult` a run returns, its
outputs beside float64 references."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ubscope.probe.chip import ChipProfile
from ubscope.probe.device import Device, max_blocks
from ubscope.probe.errors import ParameterError
from ubscope.probe.estimate import CHECK_CHUNK_BYTES, Estimate

# The article's own tolerance for fp16 outputs against a reference.
RTOL = 1e-2
ATOL = 1e-2


@dataclass(frozen=True)
class PerChip:
    """A parameter value the chip decides at run time (``rule(chip)``);
    ``label`` is how ``ubscope kernels`` shows it."""

    rule: Callable[[ChipProfile], Any]
    label: str

    def for_chip(self, chip: ChipProfile) -> Any:
        return self.rule(chip)

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class ByModel:
    """A parameter value chosen at run time from the chip and the other
    parameters (``rule(params, chip)``, the others already resolved for the
    chip); ``label`` is how ``ubscope kernels`` shows it."""

    rule: Callable[[dict[str, Any], ChipProfile], Any]
    label: str

    def __str__(self) -> str:
        return self.label


def vector_blocks(most: int | None = None) -> PerChip:
    """``most`` blocks of a vector launch, or as many as the chip has for one
    when that is fewer (all of them when ``most`` is None)."""
    if most is None:
        return PerChip(lambda chip: max_blocks(chip, "vector"), "all")
    return PerChip(lambda chip: min(most, max_blocks(chip, "vector")), f"up to {most}")


def cores_param(most: int) -> Param:
    """The ``cores`` parameter of a vector kernel: ``most`` blocks, or fewer on
    a chip with fewer cores."""
    return Param(
        "cores",
        int,
        vector_blocks(most),
        f"vector-launch blocks (default {most}, or all the chip has when fewer)",
    )


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


@dataclass(frozen=True)
class ChunkedReference:
    """A float64 reference computed one slice along ``axis`` at a time, so that
    checking a big output never holds all of it (or what it is computed from)
    in float64. ``bytes_per_index``: float64 bytes one index of the slice costs."""

    compute: Callable[[slice], np.ndarray]
    bytes_per_index: int
    axis: int = 0


def _check_chunks(
    out: np.ndarray, ref: np.ndarray | ChunkedReference
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(output, reference) float64 slices of at most about CHECK_CHUNK_BYTES."""
    if not isinstance(ref, ChunkedReference):
        array = ref
        ref = ChunkedReference(lambda part: array[part], 8 * (array[:1].size or 1))
    if out.size == 0:
        return
    step = max(1, CHECK_CHUNK_BYTES // max(1, ref.bytes_per_index))
    lead = (slice(None),) * ref.axis
    for start in range(0, out.shape[ref.axis], step):
        part = slice(start, start + step)
        yield out[(*lead, part)].astype(np.float64), ref.compute(part)


@dataclass
class KernelResult:
    """What a kernel run produced: outputs, their float64 references (whole or
    computed in slices), and the host inputs of the operator a real NPU would
    run (for :func:`ubscope.kernels.npu_backend.cross_check`)."""

    outputs: dict[str, np.ndarray]
    references: dict[str, np.ndarray | ChunkedReference]
    notes: list[str] = field(default_factory=list)
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    _compared: dict[tuple[float, float], tuple[dict[str, float], bool]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def reference(self, name: str) -> np.ndarray:
        """The whole float64 reference of output ``name`` (at once, for small outputs)."""
        ref = self.references[name]
        return ref.compute(slice(None)) if isinstance(ref, ChunkedReference) else ref

    def compare(self, rtol: float = RTOL, atol: float = ATOL) -> tuple[dict[str, float], bool]:
        """The largest absolute error per output, and whether every output is
        within ``rtol``/``atol`` of its reference, in one pass over the
        references; kept, since a reference can cost as much as the run
        (outputs are final once the result is made)."""
        key = (rtol, atol)
        if key not in self._compared:
            errors, matches = {}, True
            for name, out in self.outputs.items():
                worst = []
                for o, r in _check_chunks(out, self.references[name]):
                    worst.append(float(np.nanmax(np.abs(o - r))))
                    matches = matches and bool(np.allclose(o, r, rtol=rtol, atol=atol))
                errors[name] = max(worst, default=0.0)
            self._compared[key] = (errors, matches)
        errors, matches = self._compared[key]
        return dict(errors), matches

    def max_errors(self) -> dict[str, float]:
        """Largest absolute error per output."""
        return self.compare()[0]

    def matches(self, rtol: float = RTOL, atol: float = ATOL) -> bool:
        return self.compare(rtol, atol)[1]


@dataclass(frozen=True)
class KernelSpec:
    """A runnable kernel: its name, what it computes, its parameters with
    defaults that fit the default chip, how to run it on a :class:`Device`
    (returning a :class:`KernelResult` checked against a float64 reference),
    and optionally its minimal GM traffic, planted-problem presets, parameter
    validation and a cost estimate."""

    name: str
    summary: str
    params: tuple[Param, ...]
    run: Callable[[Device, dict[str, Any]], KernelResult]
    # The least GM bytes per direction ("read", "write") the math needs; rules
    # comparing traffic with it skip kernels without one.
    minimal_traffic: Callable[[dict[str, Any]], dict[str, int]] | None = None
    presets: Mapping[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    validate: Callable[[dict[str, Any], ChipProfile], None] | None = None
    # Events, host memory and wall time of a run, from the parameters alone.
    estimate: Callable[[dict[str, Any], ChipProfile], Estimate] | None = None

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def check(self, params: Mapping[str, Any], chip: ChipProfile) -> dict[str, Any]:
        """``params`` for ``chip`` (:meth:`for_chip`), after the kernel's own
        validation; raises :class:`ParameterError` naming the broken limit."""
        params = self.for_chip(params, chip)
        if self.validate is not None:
            self.validate(params, chip)
        return params

    def for_chip(self, params: Mapping[str, Any], chip: ChipProfile) -> dict[str, Any]:
        """``params`` with the values the chip decides (:class:`PerChip`) filled
        in, then those chosen from the chip and the others (:class:`ByModel`)."""
        resolved = {
            key: value.for_chip(chip) if isinstance(value, PerChip) else value
            for key, value in params.items()
        }
        return {
            key: value.rule(resolved, chip) if isinstance(value, ByModel) else value
            for key, value in resolved.items()
        }

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params)
        raise ParameterError(f"{self.name} has no parameter {name!r} (parameters: {known})")

    def resolve(
        self,
        assignments: Sequence[str] = (),
        preset: str | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
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
