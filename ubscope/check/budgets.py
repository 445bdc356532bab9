"""Budgets files: per-kernel limits and per-metric tolerances for ``ubscope check``.

::

    tolerance:                 # optional; growth allowed over the baseline
      default: 2%
      peak_bytes.UB: 1%
      gm.read_bytes: 4 KiB
    default:                   # optional; limits for every kernel
      peak_bytes: {UB: 184 KiB}
      findings: {error: 0}
    kernels:                   # kernel name or glob -> limits
      "int4_gemm*":
        peak_bytes: {UB: 160 KiB, L1: 512 KiB}
        gm: {read_bytes: 64 MiB, write_bytes: 16 MiB, ratio_to_minimum: 1.2}
        fragmentation: {max_external: 0.3, failed_allocs_with_enough_free: 0}
        findings: {error: 0, ALN: 0, UB001: 0}

A kernel gets the ``default`` limits, then those of every matching pattern in
file order (a later one overrides an earlier one, metric by metric). Every
error names ``file:line``: the YAML is composed into nodes (safe, no
constructors run) so each value keeps the line it came from.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ubscope.analyzers import (
    BY_CODE,
    FIELD_GROUPS,
    PER_SPACE_GROUPS,
    SEVERITY_NAMES,
    TIME_METRIC,
    metric_unit,
)
from ubscope.check.tolerances import Tolerance, Tolerances, tolerances_from_options
from ubscope.check.verdicts import Limit
from ubscope.probe.chip import ON_CHIP
from ubscope.probe.errors import ConfigError, read_input_text
from ubscope.probe.units import parse_size

if TYPE_CHECKING:  # yaml loads with the first budget file read, not with `check --help`
    from ubscope.probe.yamlfile import Marked

TOP_LEVEL_KEYS = ("tolerance", "default", "kernels")


@dataclass
class _CommandLineFirst(Tolerances):
    """A budgets file's tolerances under the command line's (``over``): a
    command-line tolerance that names a metric, exactly or by a glob, wins over
    every tolerance of the file for it; within each, an exact name wins over a
    glob. The command line's default, when given, replaces the file's."""

    over: Tolerances = field(default_factory=Tolerances)

    def for_metric(self, metric: str) -> Tolerance | None:
        if any(fnmatch.fnmatchcase(metric, pattern) for pattern in self.over.per_metric):
            return self.over.for_metric(metric)
        return super().for_metric(metric)


@dataclass
class Budgets:
    """A loaded budgets file: tolerances and the limits of each kernel pattern."""

    path: str
    tolerances: Tolerances = field(default_factory=Tolerances)
    default: dict[str, Limit] = field(default_factory=dict)
    kernels: list[tuple[str, dict[str, Limit]]] = field(default_factory=list)

    def tolerances_with(self, options: Sequence[str]) -> Tolerances:
        """The file's tolerances overridden by ``--tolerance`` ones (``2%``,
        ``METRIC=AMOUNT``, as :func:`tolerances_from_options` reads them)."""
        command_line = tolerances_from_options(options, Tolerances(default=self.tolerances.default))
        return _CommandLineFirst(
            command_line.default, dict(self.tolerances.per_metric), over=command_line
        )

    def limits_for(self, kernel: str) -> dict[str, Limit]:
        """The ``default`` limits overridden by every pattern matching ``kernel``."""
        limits = dict(self.default)
        for pattern, section in self.kernels:
            if fnmatch.fnmatchcase(kernel, pattern):
                limits.update(section)
        return limits


def load_yaml_marked(path: str | os.PathLike[str]) -> Marked | None:
    """Parse a YAML file into :class:`Marked` values (None for an empty file)."""
    from ubscope.probe.yamlfile import parse_yaml_marked

    text = read_input_text(path, ConfigError, "a budgets YAML file")
    return parse_yaml_marked(text, os.fspath(path), ConfigError)


def load_budgets(path: str | os.PathLike[str]) -> Budgets:
    """Load and validate a budgets file; ConfigError ``file:line: problem`` otherwise."""
    path = os.fspath(path)
    budgets = Budgets(path)
    root = load_yaml_marked(path)
    if root is None:
        return budgets
    sections = _mapping(root, path, "the budgets file")
    for key, entry in sections.items():
        if key not in TOP_LEVEL_KEYS:
            _unknown(path, entry, key, TOP_LEVEL_KEYS)
    if "tolerance" in sections:
        _load_tolerances(budgets.tolerances, sections["tolerance"], path)
    if "default" in sections:
        budgets.default = _limits(sections["default"], path, "default")
    if "kernels" in sections:
        for pattern, section in _mapping(sections["kernels"], path, "kernels").items():
            budgets.kernels.append((pattern, _limits(section, path, f"kernels.{pattern}")))
    return budgets


def _load_tolerances(tolerances: Tolerances, entry: Marked, path: str) -> None:
    for metric, value in _mapping(entry, path, "tolerance").items():
        try:
            if metric == "default":
                tolerances.set_default(value.value)
            else:
                tolerances.set(metric, value.value)
        except ValueError as exc:
            raise ConfigError(f"{path}:{value.line}", f"tolerance: {exc}") from None


def _limits(entry: Marked, path: str, where: str) -> dict[str, Limit]:
    """The limits of one section by flat metric name: nested groups
    (``peak_bytes: {UB: ...}``) or dotted names (``peak_bytes.UB: ...``)."""
    limits: dict[str, Limit] = {}
    for key, value in _mapping(entry, path, where).items():
        if "." in key:
            metric = _checked_metric(key, value, path)
            limits[metric] = _limit(metric, value, path)
        elif key in PER_SPACE_GROUPS:
            for space, item in _mapping(value, path, f"{where}.{key}").items():
                if space not in ON_CHIP:
                    _unknown(path, item, space, ON_CHIP, f"{key}: unknown space")
                limits[f"{key}.{space}"] = _limit(f"{key}.{space}", item, path)
        elif key in FIELD_GROUPS:
            for name, item in _mapping(value, path, f"{where}.{key}").items():
                if name not in FIELD_GROUPS[key]:
                    _unknown(path, item, name, tuple(FIELD_GROUPS[key]), f"{key}: unknown field")
                limits[f"{key}.{name}"] = _limit(f"{key}.{name}", item, path)
        elif key == "findings":
            for name, item in _mapping(value, path, f"{where}.findings").items():
                metric = _finding_metric(name, item, path)
                limits[metric] = _limit(metric, item, path)
        elif key == TIME_METRIC:
            limits[key] = _limit(key, value, path)
        else:
            groups = (*PER_SPACE_GROUPS, *FIELD_GROUPS, "findings", TIME_METRIC)
            _unknown(path, value, key, groups, f"{where}: unknown key")
    return limits


def _finding_metric(name: str, item: Marked, path: str) -> str:
    """``error`` -> ``findings.error``; ``UB001`` -> ``findings.by_code.UB001``;
    a rule family ``ALN`` -> ``findings.by_code.ALN*`` (every ALN code). A code
    no rule has (``UB01``, ``XYZ123``) is an error: its limit could never fail."""
    if name in SEVERITY_NAMES:
        return f"findings.{name}"
    from ubscope.analyzers import load_rules  # the rules load with a file that names a code

    codes = load_rules()
    families = sorted({code[:-3] for code in codes})
    if name in codes:
        return f"{BY_CODE}{name}"
    if name in families:
        return f"{BY_CODE}{name}*"
    raise ConfigError(
        f"{path}:{item.key_line or item.line}",
        f"findings: {name!r} is neither a severity ({', '.join(SEVERITY_NAMES)}), a rule "
        f"code like UB001 (`ubscope rules` lists them) nor a rule family ({', '.join(families)})",
    )


def _checked_metric(metric: str, item: Marked, path: str) -> str:
    if metric.startswith(BY_CODE):
        return _finding_metric(metric[len(BY_CODE) :], item, path)
    try:
        metric_unit(metric)
    except ValueError as exc:
        raise ConfigError(f"{path}:{item.line}", str(exc)) from None
    return metric


def _limit(metric: str, item: Marked, path: str) -> Limit:
    unit = metric_unit(metric.removesuffix("*"))
    value = item.value
    where = f"{path}:{item.line}"
    try:
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            raise ValueError
        if unit == "bytes":
            number: float = parse_size(value)
        elif unit in ("count", "time_ps"):
            number = int(value)
            if number != value:
                raise ValueError
        else:
            number = float(value)
    except (TypeError, ValueError):
        expected = {
            "bytes": "a size like '160 KiB' or 163840",
            "count": "a whole number",
            "time_ps": "a whole number of picoseconds",
            "ratio": "a number like 1.2",
        }[unit]
        raise ConfigError(where, f"{metric}: expected {expected}, got {value!r}") from None
    if number < 0:
        raise ConfigError(where, f"{metric}: a limit cannot be negative, got {value!r}")
    return Limit(number, f"budget {where}", path, item.line)


def _mapping(entry: Marked, path: str, where: str) -> dict[str, Marked]:
    if not isinstance(entry.value, dict):
        raise ConfigError(f"{path}:{entry.line}", f"{where}: expected a mapping of key: value")
    return entry.value


def _unknown(path: str, entry: Marked, key: str, known: tuple[str, ...], what: str = "") -> None:
    where = f"{path}:{entry.key_line or entry.line}"
    raise ConfigError(where, f"{what or 'unknown key'} {key!r} (expected {', '.join(known)})")
