"""The compared metrics: every figure of the metrics summary (:mod:`.metrics`,
schema ``ubscope.metrics/1``) that ``ubscope check``, the TUI and the HTML
report compare, by flat dotted name (``peak_bytes.UB``, ``gm.read_bytes``,
``findings.by_code.UB001``), with its unit. Every one of them is "lower is
better". Peak bytes (the largest number of bytes live at any one event) and
total allocated bytes (the sum of every allocation over the run) are separate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ubscope.analyzers.findings import Severity
from ubscope.probe.chip import ON_CHIP

# Groups holding one byte figure per on-chip space.
PER_SPACE_GROUPS = ("peak_bytes", "high_water_bytes", "total_alloc_bytes")
# Groups of named figures, with the unit of each compared field. Fields that
# the kernel's parameters alone decide (minimal traffic, KV bytes in use) are
# not compared.
FIELD_GROUPS: dict[str, dict[str, str]] = {
    "gm": {
        "read_bytes": "bytes",
        "write_bytes": "bytes",
        "ratio_to_minimum": "ratio",
        "redundant_read_ratio": "ratio",
        "small_transfer_share": "ratio",
        "workspace_bytes": "bytes",
    },
    "fragmentation": {
        "max_external": "ratio",
        "failed_allocs_with_enough_free": "count",
        "internal_waste_bytes": "bytes",
    },
    "kv_cache": {"reserved_bytes": "bytes", "waste_ratio": "ratio"},
}
# Modelled time is stored in baselines but judged only when a tolerance names
# it: it follows the cost model, which changes between ubscope versions.
TIME_METRIC = "modelled_time_ps"
SEVERITY_NAMES = tuple(str(s) for s in sorted(Severity, reverse=True))
CODE_PREFIX = re.compile(r"^[A-Z]{2,4}\d{0,3}$")
BY_CODE = "findings.by_code."

KNOWN_METRICS: tuple[str, ...] = (
    *(f"{group}.{space}" for group in PER_SPACE_GROUPS for space in ON_CHIP),
    *(f"{group}.{name}" for group, fields in FIELD_GROUPS.items() for name in fields),
    TIME_METRIC,
)


def metric_unit(metric: str) -> str:
    """``"bytes"``, ``"count"``, ``"ratio"`` or ``"time_ps"``; ValueError for unknown names."""
    group, _, name = metric.partition(".")
    if group in PER_SPACE_GROUPS and name:
        return "bytes"
    if group in FIELD_GROUPS and name in FIELD_GROUPS[group]:
        return FIELD_GROUPS[group][name]
    if metric == TIME_METRIC:
        return "time_ps"
    if group == "findings" and (name in SEVERITY_NAMES or _is_code_metric(metric)):
        return "count"
    raise ValueError(f"unknown metric {metric!r} (metrics: {', '.join(metric_families())})")


def is_known_metric(metric: str) -> bool:
    try:
        metric_unit(metric)
    except ValueError:
        return False
    return True


def metric_families() -> list[str]:
    """Every metric name, with ``SPACE``, ``SEVERITY`` and ``CODE`` standing for their kind."""
    return [
        *(f"{group}.SPACE" for group in PER_SPACE_GROUPS),
        *(f"{group}.{name}" for group, fields in FIELD_GROUPS.items() for name in fields),
        TIME_METRIC,
        "findings.SEVERITY",
        "findings.by_code.CODE",
    ]


def _is_code_metric(metric: str) -> bool:
    code = metric[len(BY_CODE) :].removesuffix("*")
    return metric.startswith(BY_CODE) and bool(CODE_PREFIX.match(code))


def flatten_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The compared figures of a metrics summary, by dotted name."""
    flat: dict[str, float] = {}
    for group in PER_SPACE_GROUPS:
        for space, value in (metrics.get(group) or {}).items():
            _put(flat, f"{group}.{space}", value)
    for group, fields in FIELD_GROUPS.items():
        values = metrics.get(group) or {}
        for name in fields:
            _put(flat, f"{group}.{name}", values.get(name))
    _put(flat, TIME_METRIC, metrics.get(TIME_METRIC))
    findings = metrics.get("findings") or {}
    for severity in SEVERITY_NAMES:
        _put(flat, f"findings.{severity}", findings.get(severity, 0))
    for code, count in (findings.get("by_code") or {}).items():
        _put(flat, f"{BY_CODE}{code}", count)
    return flat


def _put(flat: dict[str, float], name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    flat[name] = int(value) if float(value).is_integer() else float(value)


def metric_value(flat: Mapping[str, float], metric: str) -> float | None:
    """A flat metric's value; ``findings.by_code.ALN*`` sums every code with that
    prefix, and absent finding codes and spaces count as 0."""
    if metric.endswith("*") and metric.startswith(BY_CODE):
        prefix = metric[:-1]
        return sum(value for name, value in flat.items() if name.startswith(prefix))
    if metric in flat:
        return flat[metric]
    group = metric.partition(".")[0]
    return 0 if metric.startswith(BY_CODE) or group in PER_SPACE_GROUPS else None


def ordered_metrics(metrics: Iterable[str]) -> list[str]:
    """Catalogue order (peak, high water, total, GM, ...), then findings by name."""
    rank = {name: index for index, name in enumerate(KNOWN_METRICS)}
    return sorted(metrics, key=lambda m: (rank.get(m, len(rank)), m))
