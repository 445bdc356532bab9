"""``ubscope check DIR``: every configuration of a sweep (``DIR/sweep.parquet``,
written by ``ubscope sweep``) judged like a trace, from its row's metrics.

A configuration that did not run to the end (crashed, timed out) or never
ran (refused by the kernel, or its source did not compile) has nothing to
measure and fails; one whose output did not match its reference fails too,
whatever its budget says. ``ubscope baseline DIR`` records the configurations
that ran from the same measurements.
"""

from __future__ import annotations

import os
from pathlib import Path

from ubscope.analyzers import (
    FAILURE_NUMERICS,
    FAILURE_OVERFLOW,
    STATUS_FAILED,
    STATUS_INVALID,
    STATUS_OK,
    Severity,
    SweepRow,
    read_sweep_table,
)
from ubscope.check.baseline import BaselineStore
from ubscope.check.budgets import Budgets
from ubscope.check.measurement import Measurement, name_chips
from ubscope.check.runner import check_configuration
from ubscope.check.tolerances import Tolerances
from ubscope.check.verdicts import CheckResult, Problem


def check_sweep(
    folder: str | os.PathLike[str],
    store: BaselineStore | None,
    budgets: Budgets,
    tolerances: Tolerances,
    fail_on: Severity,
    missing: str,
) -> list[CheckResult]:
    """The verdict on each configuration of the sweep in ``folder``, in its order."""
    results = []
    for row, measurement in sweep_measurements(folder):
        if not ran(row):
            how = "never ran" if row.status == STATUS_INVALID else "did not run to the end"
            problem = Problem("run", f"the configuration {how} ({row.verdict})")
            results.append(CheckResult(measurement, [], extra_problems=[problem]))
            continue
        result = check_configuration(measurement, store, budgets, tolerances, fail_on, missing)
        if FAILURE_NUMERICS in row.failed_on:
            result.extra_problems.append(
                Problem("run", "the output does not match its reference (numerics)")
            )
        results.append(result)
    return results


def sweep_measurements(folder: str | os.PathLike[str]) -> list[tuple[SweepRow, Measurement]]:
    """Each configuration of the sweep in ``folder`` (its table) with its
    measurement, read from its row; among several chips, each names its chip."""
    rows = read_sweep_table(folder)
    measurements = name_chips([_measurement(row, Path(folder)) for row in rows])
    return list(zip(rows, measurements, strict=True))


def ran(row: SweepRow) -> bool:
    """Whether the configuration ran to the end: it has metrics to judge."""
    return row.status in (STATUS_OK, STATUS_FAILED)


def _measurement(row: SweepRow, folder: Path) -> Measurement:
    code_severity = {code: Severity.parse(name) for code, name in row.code_severity.items()}
    # The table keeps no device fault: an overflow no error finding explains was one.
    fault = FAILURE_OVERFLOW in row.failed_on and Severity.ERROR not in code_severity.values()
    return Measurement(
        kernel=row.kernel,
        params=row.params or dict(row.grid),
        chip=row.chip,
        metrics=dict(row.metrics),
        code_severity=code_severity,
        sources=[str(folder / row.trace)] if row.trace else [],
        preset=row.preset,
        device_fault=row.verdict if fault else "",
    )
