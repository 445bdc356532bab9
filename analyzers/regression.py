"""What counts as a memory regression: metrics compared with a baseline and with limits.

The metrics and their comparison (A, the run under test, against B, the
baseline: delta = A - B) are those of :mod:`ubscope.analyzers.comparison`;
this module judges them, so that ``ubscope check``, ``ubscope baseline`` and
the pytest plugin share one definition of a regression, a tolerance and a
budget. Only :func:`measure_traces` reads files.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ubscope.analyzers.comparison import (
    BY_CODE,
    KNOWN_METRICS,
    TIME_METRIC,
    MetricDelta,
    compare,
    flatten_metrics,
    format_value,
    metric_families,
    metric_unit,
    metric_value,
    ordered_metrics,
)
from ubscope.analyzers.findings import Severity
from ubscope.probe.errors import ConfigError, TraceError
from ubscope.probe.units import parse_size

# Shown in tables even when unchanged: what a reader looks for first.
HEADLINE_METRICS = ("peak_bytes.UB", "peak_bytes.L1", "gm.read_bytes", "gm.write_bytes")
DEFAULT_TOLERANCE = "2%"


def worst_of(flats: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """The worst (largest) value of every metric over several runs of one case."""
    worst: dict[str, float] = {}
    for flat in flats:
        for name, value in flat.items():
            worst[name] = max(value, worst.get(name, value))
    return worst


# --- tolerances --------------------------------------------------------------


@dataclass(frozen=True)
class Tolerance:
    """How much a metric may grow over its baseline: a share of the baseline
    (``2%``) or an amount in the metric's unit (``4 KiB``, ``0.05``). Exactly
    the allowed growth passes; anything more fails."""

    text: str
    relative: Fraction | None = None
    absolute: Fraction | None = None
    is_size: bool = False

    def allowed_increase(self, baseline: float) -> Fraction:
        if self.relative is not None:
            return abs(Fraction(baseline)) * self.relative
        return self.absolute or Fraction(0)

    def allows(self, baseline: float, current: float) -> bool:
        return Fraction(current) - Fraction(baseline) <= self.allowed_increase(baseline)


def parse_tolerance(text: str | int | float) -> Tolerance:
    """``"2%"``, ``"4 KiB"``, ``4096`` or ``"0.05"``; ValueError with the expected forms."""
    raw = str(text).strip()
    expected = f"expected a tolerance like '2%', '4 KiB' or '0.05', got {raw!r}"
    if isinstance(text, bool) or not raw:
        raise ValueError(expected)
    try:
        if raw.endswith("%"):
            amount = Fraction(raw[:-1].strip())
            tolerance = Tolerance(raw, relative=amount / 100)
        elif re.fullmatch(r"[0-9.eE+-]+", raw):
            amount = Fraction(raw)
            tolerance = Tolerance(raw, absolute=amount)
        else:
            amount = Fraction(parse_size(raw))
            tolerance = Tolerance(raw, absolute=amount, is_size=True)
    except (ValueError, ZeroDivisionError):
        raise ValueError(expected) from None
    if amount < 0:
        raise ValueError(f"a tolerance cannot be negative, got {raw!r}")
    return tolerance


@dataclass
class Tolerances:
    """A default tolerance and per-metric ones; a per-metric key is a metric
    name or a glob (``peak_bytes.*``). An exact name wins over a glob, a longer
    glob over a shorter one. Modelled time is compared only when a key names it."""

    default: Tolerance = field(default_factory=lambda: parse_tolerance(DEFAULT_TOLERANCE))
    per_metric: dict[str, Tolerance] = field(default_factory=dict)

    def set_default(self, text: str | int | float) -> None:
        tolerance = parse_tolerance(text)
        if tolerance.absolute:
            raise ValueError(
                f"the default tolerance must be a percentage like '2%', got {tolerance.text!r} "
                "(give amounts per metric, e.g. peak_bytes.UB=4KiB)"
            )
        self.default = tolerance

    def set(self, pattern: str, text: str | int | float) -> None:
        """Set a per-metric tolerance; ValueError for unknown metrics or a size
        given to a metric that is not in bytes."""
        matched = [m for m in KNOWN_METRICS if fnmatch.fnmatchcase(m, pattern)]
        if pattern.startswith("findings"):
            raise ValueError(
                f"{pattern}: findings have no tolerance; any new finding at or above "
                "--fail-on fails"
            )
        if not matched:
            families = ", ".join(metric_families()[:-2])
            raise ValueError(f"unknown metric {pattern!r} (metrics: {families})")
        tolerance = parse_tolerance(text)
        if tolerance.is_size and any(metric_unit(m) != "bytes" for m in matched):
            raise ValueError(
                f"{pattern}={tolerance.text}: a size applies only to byte metrics; "
                "use a percentage or a plain number"
            )
        self.per_metric[pattern] = tolerance

    def for_metric(self, metric: str) -> Tolerance | None:
        """The tolerance of ``metric``, or None when it is not compared."""
        if metric in self.per_metric:
            return self.per_metric[metric]
        patterns = [p for p in self.per_metric if fnmatch.fnmatchcase(metric, p)]
        if patterns:
            return self.per_metric[max(patterns, key=len)]
        return None if metric == TIME_METRIC else self.default


def tolerances_from_options(
    options: Sequence[str], base: Tolerances | None = None, option: str = "--tolerance"
) -> Tolerances:
    """Apply command-line tolerances (``2%`` sets the default, ``METRIC=AMOUNT``
    one metric) over ``base``; ConfigError naming ``option`` for a bad one."""
    tolerances = base or Tolerances()
    for text in options:
        metric, sep, amount = text.partition("=")
        try:
            if sep:
                tolerances.set(metric.strip(), amount.strip())
            else:
                tolerances.set_default(text)
        except ValueError as exc:
            raise ConfigError(option, str(exc)) from None
    return tolerances


# --- measurements --------------------------------------------------------------


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

    @property
    def params_key(self) -> str:
        """The parameters as canonical JSON: what identifies the configuration."""
        return json.dumps(self.params, sort_keys=True, separators=(",", ":"), default=str)

    @property
    def name(self) -> str:
        """``pool_demo[n=16384,tile=1024]``: the configuration for people."""
        params = ",".join(f"{key}={self.params[key]}" for key in sorted(self.params))
        return f"{self.kernel}[{params}]"


def measurement_from_metrics(
    metrics: Mapping[str, Any],
    code_severity: Mapping[str, Severity] | None = None,
    source: str | None = None,
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
        for item in items:
            for code, severity in item.code_severity.items():
                severities[code] = max(severity, severities.get(code, severity))
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
            )
        )
    return merged


def measure_traces(paths: Sequence[str | os.PathLike[str]]) -> list[Measurement]:
    """Analyze every trace and merge the runs of each configuration (worst value).

    A truncated trace is refused: its smaller figures would pass as improvements.
    """
    # Imported here: the pytest plugin imports this module in every test session.
    from ubscope.analyzers.api import analyze_path

    measured = []
    for path in paths:
        analysis = analyze_path(path)
        if analysis.trace is not None and not analysis.trace.complete:
            raise TraceError(path, "trace is truncated; a partial run cannot be compared")
        severities: dict[str, Severity] = {}
        for finding in analysis.findings:
            known = severities.get(finding.code, finding.severity)
            severities[finding.code] = max(finding.severity, known)
        measured.append(measurement_from_metrics(analysis.metrics, severities, os.fspath(path)))
    return merge_repeats(measured)


# --- comparison ---------------------------------------------------------------

SAME = "same"
WITHIN = "within"  # grew, but within the tolerance (or a finding below --fail-on)
IMPROVED = "improved"
REGRESSED = "regressed"
NEW_FINDING = "new finding"
CHANGED = "changed"  # shown, never fails (severity totals; findings are judged by code)
UNCOMPARED = "-"  # no baseline value, or not compared (modelled time without tolerance)


@dataclass(frozen=True)
class Limit:
    """An upper bound on a metric, and where it was set (for messages and annotations)."""

    value: float
    origin: str
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Problem:
    """One reason a configuration fails: ``kind`` is ``regression``, ``budget``,
    ``finding`` or ``baseline``; ``file``/``line`` point at what to look at. The
    message does not repeat the configuration's name: views add it where needed."""

    kind: str
    message: str
    metric: str | None = None
    file: str | None = None
    line: int | None = None


@dataclass
class MetricRow:
    """One metric of one configuration: both values, the verdict and limits."""

    metric: str
    current: float | None
    baseline: float | None = None
    status: str = UNCOMPARED
    tolerance: str = ""
    limit: Limit | None = None
    note: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def over_limit(self) -> bool:
        return any(p.kind == "budget" for p in self.problems)

    @property
    def delta(self) -> MetricDelta:
        """This run (A) against the baseline (B)."""
        return MetricDelta(self.metric, self.current, self.baseline)

    @property
    def notable(self) -> bool:
        """Worth a line in a short table: changed, limited, failing or a headline."""
        headline = self.metric in HEADLINE_METRICS and bool(self.current or self.baseline)
        return headline or self.limit is not None or self.status not in (SAME, UNCOMPARED)


def compare_metrics(
    current: Mapping[str, float],
    baseline: Mapping[str, float],
    tolerances: Tolerances,
    fail_on: Severity = Severity.ERROR,
    code_severity: Mapping[str, Severity] | None = None,
    baseline_file: str | None = None,
) -> dict[str, MetricRow]:
    """Compare every metric with its baseline. A metric that grew beyond its
    tolerance regresses; a finding code whose count grew is a new finding and
    fails when its severity is at least ``fail_on``; anything smaller improved."""
    severities = code_severity or {}
    rows: dict[str, MetricRow] = {}
    for delta in compare(current, baseline).metrics:
        metric, now, before = delta.metric, delta.a, delta.b
        row = MetricRow(metric, now, before)
        rows[metric] = row
        if now is None or before is None:
            row.note = "not in the baseline" if before is None else "not in this trace"
            continue
        if metric.startswith(BY_CODE):
            _judge_finding(row, severities.get(metric[len(BY_CODE) :], Severity.WARNING), fail_on)
        elif metric.startswith("findings."):
            row.status = SAME if now == before else CHANGED
            row.note = "judged by finding code" if now != before else ""
        else:
            _judge_metric(row, tolerances.for_metric(metric))
        if row.status in (REGRESSED, NEW_FINDING):
            row.problems.append(_regression_problem(row, baseline_file))
    return rows


def _judge_metric(row: MetricRow, tolerance: Tolerance | None) -> None:
    now, before = row.current, row.baseline
    assert now is not None and before is not None
    if tolerance is None:
        row.note = "compared only with a tolerance for it"
        return
    row.tolerance = tolerance.text
    if now == before:
        row.status = SAME
    elif now < before:
        row.status = IMPROVED
    elif tolerance.allows(before, now):
        row.status = WITHIN
    else:
        row.status = REGRESSED
        allowed = tolerance.allowed_increase(before)
        row.note = f"allowed +{format_value(row.metric, float(allowed))}"


def _judge_finding(row: MetricRow, severity: Severity, fail_on: Severity) -> None:
    now, before = row.current, row.baseline
    assert now is not None and before is not None
    row.note = str(severity)
    if now == before:
        row.status = SAME
    elif now < before:
        row.status = IMPROVED
    elif severity >= fail_on:
        row.status = NEW_FINDING
    else:
        row.status = WITHIN
        row.note = f"{severity}, below --fail-on {fail_on}"


def _regression_problem(row: MetricRow, baseline_file: str | None) -> Problem:
    now, before, change = row.delta.texts()
    values = f"{before} -> {now}"
    if row.status == NEW_FINDING:
        code = row.metric[len(BY_CODE) :]
        message = f"new {row.note} finding {code}: {values} ({change}) against the baseline"
        return Problem("finding", message, row.metric, baseline_file)
    message = f"{row.metric} regressed: {values} ({change}), tolerance {row.tolerance}"
    return Problem("regression", f"{message} ({row.note})", row.metric, baseline_file)


def apply_limits(
    rows: dict[str, MetricRow],
    current: Mapping[str, float],
    limits: Mapping[str, Limit],
) -> None:
    """Add each limit to its row (creating rows as needed); a value above its
    limit is a problem, a value exactly at it passes."""
    for metric, limit in limits.items():
        value = metric_value(current, metric)
        row = rows.setdefault(metric, MetricRow(metric, value))
        row.limit = limit
        if value is None or value <= limit.value:
            continue
        excess = format_value(metric.removesuffix("*"), value - limit.value)
        message = (
            f"{metric} = {format_value(metric.removesuffix('*'), value)} exceeds "
            f"the limit {format_value(metric.removesuffix('*'), limit.value)} "
            f"({limit.origin}) by {excess}"
        )
        row.problems.append(Problem("budget", message, metric, limit.file, limit.line))


@dataclass
class CheckResult:
    """The verdict on one configuration: its rows and every problem found.
    ``baseline_state`` is ``compared``, ``missing``, ``created``, ``skipped`` or
    ``none`` (no baseline asked for)."""

    measurement: Measurement
    rows: list[MetricRow]
    baseline_state: str = "none"
    baseline_path: str | None = None
    extra_problems: list[Problem] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [*self.extra_problems, *(p for row in self.rows for p in row.problems)]

    @property
    def failed(self) -> bool:
        return bool(self.problems)


def check_measurement(
    measurement: Measurement,
    baseline: Mapping[str, float] | None,
    tolerances: Tolerances,
    *,
    fail_on: Severity = Severity.ERROR,
    limits: Mapping[str, Limit] | None = None,
    baseline_state: str = "compared",
    baseline_path: str | None = None,
) -> CheckResult:
    """Compare ``measurement`` with ``baseline`` (None: limits only) and its limits."""
    if baseline is None:
        rows = {metric: MetricRow(metric, value) for metric, value in measurement.metrics.items()}
        rows = {metric: rows[metric] for metric in ordered_metrics(rows)}
    else:
        rows = compare_metrics(
            measurement.metrics,
            baseline,
            tolerances,
            fail_on,
            measurement.code_severity,
            baseline_path,
        )
    apply_limits(rows, measurement.metrics, limits or {})
    return CheckResult(measurement, list(rows.values()), baseline_state, baseline_path)
