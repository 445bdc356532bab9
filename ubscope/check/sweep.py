"""``ubscope check DIR``: every configuration of a sweep (``DIR/sweep.parquet``,
written by ``ubscope sweep``) judged like a trace, from its row's metrics.

A configuration that did not run to the end (crashed, timed out, refused by
the kernel) has nothing to measure and fails; one whose output did not match
its reference fails too, whatever its budget says.
"""

from __future__ import annotations

import os
from pathlib import Path

from ubscope.analyzers import (
    FAILURE_NUMERICS,
    STATUS_FAILED,
    STATUS_OK,
    Severity,
    SweepRow,
    read_sweep_table,
)
from ubscope.check.baseline import BaselineStore
from ubscope.check.budgets import Budgets
from ubscope.check.measurement import Measurement
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
    for row in read_sweep_table(folder):
        measurement = _measurement(row, Path(folder))
        if row.status not in (STATUS_OK, STATUS_FAILED):
            problem = Problem("run", f"the configuration did not run to the end ({row.verdict})")
            results.append(CheckResult(measurement, [], extra_problems=[problem]))
            continue
        result = check_configuration(measurement, store, budgets, tolerances, fail_on, missing)
        if FAILURE_NUMERICS in row.failed_on:
            result.extra_problems.append(
                Problem("run", "the output does not match its reference (numerics)")
            )
        results.append(result)
    return results


def _measurement(row: SweepRow, folder: Path) -> Measurement:
    return Measurement(
        kernel=row.kernel,
        params=row.params or dict(row.grid),
        chip=row.chip,
        metrics=dict(row.metrics),
        code_severity={code: Severity.parse(name) for code, name in row.code_severity.items()},
        sources=[str(folder / row.trace)] if row.trace else [],
        preset=row.preset,
    )
