"""Checking measurements against a baseline store and a budgets file: what
``ubscope check`` does for each kernel configuration, and the ``ubscope
baseline`` commands that record or accept baselines."""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence

from ubscope.analyzers import Severity
from ubscope.check.baseline import BaselineStore, missing_baseline_message
from ubscope.check.budgets import Budgets
from ubscope.check.measurement import Measurement
from ubscope.check.tolerances import Tolerances
from ubscope.check.verdicts import IMPROVED, CheckResult, Problem, check_measurement
from ubscope.probe.text import printable

# What to do about a configuration without a baseline (``--missing-baseline``).
MISSING_BASELINE_CHOICES = ("fail", "new", "skip")


def check_configuration(
    measurement: Measurement,
    store: BaselineStore | None,
    budgets: Budgets,
    tolerances: Tolerances,
    fail_on: Severity,
    missing: str,
) -> CheckResult:
    """The verdict on one configuration: its baseline in ``store`` (if any) and
    its budgets. Without a baseline, ``missing`` decides: ``fail``, ``new``
    (write it and pass) or ``skip`` (limits only)."""
    limits = budgets.limits_for(measurement.kernel)
    if store is None:
        return check_measurement(
            measurement, None, tolerances, fail_on=fail_on, limits=limits, baseline_state="none"
        )
    path = str(store.path_for(measurement))
    baseline = store.load(measurement)
    if baseline is not None:
        return check_measurement(
            measurement,
            baseline.metrics,
            tolerances,
            fail_on=fail_on,
            limits=limits,
            baseline_path=path,
        )
    if missing == "new":
        store.save(measurement)
    state = {"new": "created", "skip": "skipped"}.get(missing, "missing")
    result = check_measurement(
        measurement,
        None,
        tolerances,
        fail_on=fail_on,
        limits=limits,
        baseline_state=state,
        baseline_path=path,
    )
    if missing == "fail":
        command = baseline_command(measurement.sources, store.location, update=False)
        message = missing_baseline_message(path, command) + " (or pass --missing-baseline new)"
        result.extra_problems.append(Problem("baseline", message))
    return result


def accept_command(results: Sequence[CheckResult], store: BaselineStore | None) -> str | None:
    """``ubscope baseline ... --update`` for the configurations that regressed,
    gained findings or improved; exceeded budgets are not accepted this way."""
    if store is None:
        return None
    traces = [
        source
        for result in results
        if any(p.kind in ("regression", "finding") for p in result.problems)
        or any(row.status == IMPROVED for row in result.rows)
        for source in result.measurement.sources
    ]
    return baseline_command(traces, store.location) if traces else None


def baseline_command(
    traces: Sequence[str], location: str | os.PathLike[str], update: bool = True
) -> str:
    """The command that writes (``update``: rewrites) the baselines of ``traces``;
    exact unless a path holds control characters, which are shown escaped."""
    words = ["ubscope", "baseline", *traces, "-o", os.fspath(location)]
    return printable(shlex.join([*words, "--update"] if update else words))
