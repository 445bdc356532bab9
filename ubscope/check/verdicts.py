"""Verdicts: what counts as a memory regression.

The metrics of a measurement (A, the run under test) are compared with its
baseline (B: delta = A - B) by :func:`ubscope.analyzers.comparison.compare`;
this module judges each delta against its tolerance and each value against
its limits, so that ``ubscope check``, ``ubscope baseline`` and the pytest
plugin share one definition of a regression, a tolerance and a budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ubscope.analyzers import (
    BY_CODE,
    MetricDelta,
    Severity,
    compare,
    format_value,
    format_values,
    metric_value,
    ordered_metrics,
)
from ubscope.check.measurement import Measurement
from ubscope.check.tolerances import Tolerance, Tolerances

# Shown in tables even when unchanged: what a reader looks for first.
HEADLINE_METRICS = ("peak_bytes.UB", "peak_bytes.L1", "gm.read_bytes", "gm.write_bytes")

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
    code_lines: Mapping[str, str] | None = None,
) -> dict[str, MetricRow]:
    """Compare every metric with its baseline. A metric that grew beyond its
    tolerance regresses; a finding code whose count grew is a new finding and
    fails when its severity is at least ``fail_on``; anything smaller improved.
    A finding code the baseline had none of points at its source line in
    ``code_lines`` (``path:line``), if any, else at the baseline file."""
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
            row.problems.append(_regression_problem(row, baseline_file, code_lines or {}))
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


def _regression_problem(
    row: MetricRow, baseline_file: str | None, code_lines: Mapping[str, str]
) -> Problem:
    now, before, change = row.delta.texts()
    values = f"{before} -> {now}"
    if row.status == NEW_FINDING:
        code = row.metric[len(BY_CODE) :]
        message = f"new {row.note} finding {code}: {values} ({change}) against the baseline"
        # Only a code the baseline had none of is new everywhere it is found:
        # among several sites of a grown count, which one is new is unknown.
        file, _, line = code_lines.get(code, "").rpartition(":")
        if not row.baseline and file and line.isdigit():
            return Problem("finding", message, row.metric, file, int(line))
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
        value_text, limit_text, excess = format_values(
            metric.removesuffix("*"), [value, limit.value, value - limit.value]
        )
        message = (
            f"{metric} = {value_text} exceeds the limit {limit_text} ({limit.origin}) by {excess}"
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
            measurement.code_lines,
        )
    apply_limits(rows, measurement.metrics, limits or {})
    return CheckResult(measurement, list(rows.values()), baseline_state, baseline_path)
