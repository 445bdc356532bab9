"""The comparison of two runs: A, the run under test, against B, the baseline.

``ubscope check`` (A: a trace, B: its baseline file), ``ubscope tui A
--compare B`` and ``ubscope report A --compare B`` all call :func:`compare`
and use the wording of :data:`LEGEND`, so one change reads the same in all
three: every delta is A - B, in the unit of A and B, and the relative change is
(A - B) / |B|. A UB peak that doubles is ``+12.0 KiB (+100.0%)`` everywhere.

The compared metrics, their units and their flat dotted names
(``peak_bytes.UB``, ``gm.read_bytes``) are those of
:mod:`ubscope.analyzers.metric_catalog`; every one of them is "lower is better".

Findings are compared by identity (:func:`finding_identity`): the rule's code
and the place it points at (core kind, core, memory space, call-site tag, GM
tensor). Event numbers, addresses, byte counts and the message text are not
part of it: they move whenever a kernel changes, while the problem stays the
same problem. The kernel name is not part of it either, so a renamed or
rewritten kernel is compared with its predecessor. Baseline files keep only
counts per code, so ``check`` compares findings as those counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ubscope.analyzers.findings import Finding
from ubscope.analyzers.metric_catalog import (
    flatten_metrics,
    is_known_metric,
    metric_unit,
    metric_value,
    ordered_metrics,
)
from ubscope.probe.units import format_exact_bytes, format_times_ps

if TYPE_CHECKING:
    from ubscope.analyzers.api import Analysis

A_MEANING = "A: run under test"
B_MEANING = "B: baseline"
DELTA_MEANING = "delta = A - B"
LEGEND = f"{A_MEANING}; {B_MEANING}; {DELTA_MEANING}"


def format_value(metric: str, value: float | None) -> str:
    """A metric value for people: KiB/MiB when that is exact, else every byte
    (``12,345 B``), so that a change of a few bytes never reads as no change."""
    if value is None:
        return "-"
    return format_values(metric, [value])[0]


def format_values(metric: str, values: Sequence[float]) -> list[str]:
    """``values`` of ``metric`` in one unit, so that they compare at a glance
    (``24,064 B`` beside ``24,000 B``, not ``23.5 KiB``): the one of the
    largest magnitude (bytes: the largest in which every value is exact)."""
    unit = metric_unit(metric)
    if unit == "bytes":
        return format_exact_bytes(values)
    if unit == "time_ps":
        return format_times_ps(values)
    if unit == "count":
        return [str(int(value)) for value in values]
    return [f"{value:.4g}" for value in values]


def format_row(metric: str, a: float | None, b: float | None, *others: float) -> tuple[str, ...]:
    """A, B and A - B for people, then ``others`` (a limit), all in one unit
    (``40992.0 KiB``, ``344.0 KiB``, ``+40648.0 KiB (+11816.3%)``); a missing
    side is ``-``; the delta is empty when either side is missing or nothing
    changed, its percentage relative to B."""
    difference = None if a is None or b is None else a - b
    present = [value for value in (a, b) if value is not None]
    moved = [abs(difference)] if difference else []
    texts = iter(format_values(metric, [*present, *moved, *others]))
    a_text = "-" if a is None else next(texts)
    b_text = "-" if b is None else next(texts)
    change = ""
    if difference:
        change = ("+" if difference > 0 else "-") + next(texts)
        if b:
            change += f" ({difference / abs(b) * 100:+.1f}%)"
    return (a_text, b_text, change, *texts)


def format_delta(metric: str, a: float | None, b: float | None) -> str:
    """A - B for people, in the unit :func:`format_row` shows A and B in:
    ``+12.0 KiB (+100.0%)``."""
    return format_row(metric, a, b)[2]


# --- the comparison -------------------------------------------------------------


@dataclass(frozen=True)
class MetricDelta:
    """One metric of A and of B (None: not measured on that side)."""

    metric: str
    a: float | None
    b: float | None

    @property
    def unit(self) -> str:
        """``bytes``, ``count``, ``ratio`` or ``time_ps``."""
        return metric_unit(self.metric.removesuffix("*"))

    @property
    def delta(self) -> float | None:
        """A - B, or None when a side is missing."""
        return None if self.a is None or self.b is None else self.a - self.b

    @property
    def relative(self) -> float | None:
        """(A - B) / |B|, or None when B is 0 or a side is missing."""
        delta = self.delta
        return None if delta is None or not self.b else delta / abs(self.b)

    @property
    def changed(self) -> bool:
        return self.a != self.b

    def texts(self, *others: float) -> tuple[str, ...]:
        """A, B and the delta as people read them, then ``others`` (a limit),
        in one unit (the delta empty when unchanged)."""
        return format_row(self.metric.removesuffix("*"), self.a, self.b, *others)


@dataclass(frozen=True)
class FindingChanges:
    """Findings of A new since B, of B fixed in A, and of A also in B."""

    new: list[Finding]
    fixed: list[Finding]
    unchanged: list[Finding]


@dataclass(frozen=True)
class Comparison:
    """A against B: every compared metric in catalogue order, and the finding
    changes (None when B has no finding list, as a baseline file has not)."""

    metrics: list[MetricDelta]
    findings: FindingChanges | None = None

    @property
    def changed(self) -> list[MetricDelta]:
        return [delta for delta in self.metrics if delta.changed]


def finding_identity(finding: Finding) -> tuple[str | int | None, ...]:
    """What makes two findings the same problem across runs: the rule and the place."""
    loc = finding.location
    return (finding.code, loc.core_kind, loc.core, loc.space, loc.tag, loc.tensor)


def compare_findings(a: Sequence[Finding], b: Sequence[Finding]) -> FindingChanges:
    a_keys = {finding_identity(f) for f in a}
    b_keys = {finding_identity(f) for f in b}
    return FindingChanges(
        new=[f for f in a if finding_identity(f) not in b_keys],
        fixed=[f for f in b if finding_identity(f) not in a_keys],
        unchanged=[f for f in a if finding_identity(f) in b_keys],
    )


def compare(
    a: Mapping[str, float],
    b: Mapping[str, float],
    a_findings: Sequence[Finding] | None = None,
    b_findings: Sequence[Finding] | None = None,
) -> Comparison:
    """Compare A's flat metrics (see :func:`flatten_metrics`) with B's, and
    A's findings with B's when both lists are given. Metric names this version
    does not know (a newer baseline, a hand edit) are left out."""
    names = ordered_metrics(filter(is_known_metric, set(a) | set(b)))
    deltas = [MetricDelta(name, metric_value(a, name), metric_value(b, name)) for name in names]
    findings = None
    if a_findings is not None and b_findings is not None:
        findings = compare_findings(a_findings, b_findings)
    return Comparison(deltas, findings)


def compare_analyses(a: Analysis, b: Analysis) -> Comparison:
    """:func:`compare` of two analyses: their metrics summaries and findings."""
    return compare(flatten_metrics(a.metrics), flatten_metrics(b.metrics), a.findings, b.findings)
