"""A measurement: the flat metrics of one kernel configuration (kernel,
parameters, chip), and the severity of each finding code seen. Several runs of
one configuration are merged by keeping the worst value of every metric.
Where configurations of several chips are judged together, the chip is part
of each one's name (:func:`name_chips`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ubscope.analyzers import Severity, flatten_metrics


def worst_of(flats: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """The worst (largest) value of every metric over several runs of one case."""
    worst: dict[str, float] = {}
    for flat in flats:
        for name, value in flat.items():
            worst[name] = max(value, worst.get(name, value))
    return worst


@dataclass
class Measurement:
    """One kernel configuration as measured: flat metrics (the worst over its
    traces), the severity of each finding code seen, and the traces read."""

    kernel: str
    params: dict[str, Any]
    chip: str
    metrics: dict[str, float]
    code_severity: dict[str, Severity] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    preset: str | None = None
    # Several chips are judged together: the chip is part of the name and of a
    # new baseline file's name.
    chip_in_name: bool = False
    device_fault: str = ""  # how the run would fault on the device; "": it would not
    # per finding code, the source line (``path:line``) of its worst finding that
    # names one (a CPU-twin kernel's call site): where a new finding's annotation points
    code_lines: dict[str, str] = field(default_factory=dict)

    @property
    def params_key(self) -> str:
        """The parameters as canonical JSON: what identifies the configuration."""
        return json.dumps(self.params, sort_keys=True, separators=(",", ":"), default=str)

    @property
    def name(self) -> str:
        """``pool_demo[n=16384,tile=1024]``: the configuration for people;
        ``pool_demo[n=16384,tile=1024] on Ascend310P3`` among several chips."""
        params = ",".join(f"{key}={self.params[key]}" for key in sorted(self.params))
        on_chip = f" on {self.chip}" if self.chip_in_name else ""
        return f"{self.kernel}[{params}]{on_chip}"

    @property
    def error_codes(self) -> list[str]:
        """The codes of the error findings seen, sorted."""
        return sorted(code for code, level in self.code_severity.items() if level >= Severity.ERROR)


def measurement_from_metrics(
    metrics: Mapping[str, Any],
    code_severity: Mapping[str, Severity] | None = None,
    source: str | None = None,
    device_fault: str = "",
) -> Measurement:
    """A :class:`Measurement` of one metrics summary."""
    return Measurement(
        kernel=str(metrics.get("kernel", "?")),
        params=dict(metrics.get("params") or {}),
        chip=str(metrics.get("chip", "?")),
        metrics=flatten_metrics(metrics),
        code_severity=dict(code_severity or {}),
        sources=[source] if source else [],
        preset=metrics.get("preset"),
        device_fault=device_fault,
    )


def merge_repeats(measurements: Sequence[Measurement]) -> list[Measurement]:
    """Group measurements of the same kernel, parameters and chip and keep the
    worst value of every metric (for repeated runs), in first-seen order."""
    groups: dict[tuple[str, str, str], list[Measurement]] = {}
    for item in measurements:
        groups.setdefault((item.kernel, item.params_key, item.chip), []).append(item)
    merged = []
    for items in groups.values():
        severities: dict[str, Severity] = {}
        code_lines: dict[str, str] = {}
        for item in items:
            for code, severity in item.code_severity.items():
                severities[code] = max(severity, severities.get(code, severity))
            for code, line in item.code_lines.items():
                code_lines.setdefault(code, line)
        first = items[0]
        merged.append(
            Measurement(
                kernel=first.kernel,
                params=first.params,
                chip=first.chip,
                metrics=worst_of(item.metrics for item in items),
                code_severity=severities,
                sources=[source for item in items for source in item.sources],
                preset=first.preset,
                chip_in_name=any(item.chip_in_name for item in items),
                device_fault=next((item.device_fault for item in items if item.device_fault), ""),
                code_lines=code_lines,
            )
        )
    return merged


def name_chips(measurements: Sequence[Measurement]) -> list[Measurement]:
    """The measurements with the chip in their names when they are of several
    chips (``pool_demo[...] on Ascend310P3``), else as they are."""
    several = len({item.chip for item in measurements}) > 1
    return [replace(item, chip_in_name=several) for item in measurements]
