"""Tolerances: how much a metric may grow over its baseline before ``check`` fails.

Given on the command line (``--tolerance 2%``, ``--tolerance peak_bytes.UB=4KiB``),
in a budgets file's ``tolerance:`` section, or as ``--ubscope-tolerance`` to the
pytest plugin; all three go through :func:`tolerances_from_options` or
:meth:`Tolerances.set`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from ubscope.analyzers import KNOWN_METRICS, TIME_METRIC, metric_families, metric_unit
from ubscope.probe.errors import ConfigError
from ubscope.probe.units import parse_size

DEFAULT_TOLERANCE = "2%"


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
