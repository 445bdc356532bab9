"""The results of a sweep: one :class:`SweepRow` per configuration (a kernel's
swept parameter values on one chip), kept as one Parquet table
(``DIR/sweep.parquet``) beside the configurations' traces.

A row holds the flat metrics summary (:mod:`.metric_catalog`: peak bytes per
space, GM bytes, modelled time, finding counts by severity and code), the
configuration's status and why it failed. The Pareto front of peak UB, GM
bytes and modelled time over the configurations that ran clean is
:func:`sweep_front`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ubscope.analyzers.api import Analysis
from ubscope.analyzers.findings import Severity
from ubscope.analyzers.metric_catalog import (
    BY_CODE,
    flatten_metrics,
    is_known_metric,
    metric_unit,
    metric_value,
)
from ubscope.analyzers.pareto import pareto_front
from ubscope.probe.errors import InputError
from ubscope.probe.outputs import atomic_output
from ubscope.probe.text import printable, printable_prose, printable_tree

SWEEP_TABLE = "sweep.parquet"
SCHEMA_KEY = b"ubscope.sweep"
SCHEMA = "1"

STATUS_OK = "ok"
STATUS_FAILED = (
    "failed"  # ran, but overflowed, misaligned, broke another error rule or its numerics
)
STATUS_INVALID = "invalid"  # the kernel refused the parameter values; never ran
STATUS_CRASHED = "crashed"
STATUS_TIMEOUT = "timeout"
STATUSES = (STATUS_OK, STATUS_FAILED, STATUS_INVALID, STATUS_CRASHED, STATUS_TIMEOUT)
# A resumed sweep runs these again: a crash or timeout may not happen twice.
UNFINISHED = (STATUS_CRASHED, STATUS_TIMEOUT)

FAILURE_OVERFLOW = "overflow"
FAILURE_MISALIGNMENT = "misalignment"
FAILURE_NUMERICS = "numerics"
# Error findings named by what they mean to a kernel author; other error codes are named as is.
_FAILURE_OF_CODE = {"UB001": FAILURE_OVERFLOW, "UB002": FAILURE_OVERFLOW}
_FAILURE_OF_FAMILY = {"ALN": FAILURE_MISALIGNMENT}

GM_BYTES = "gm.bytes"  # read + write: the traffic a configuration costs
FRONT_OBJECTIVES = ("peak_bytes.UB", GM_BYTES, "modelled_time_ps")
GRID_PREFIX = "grid."
_TEXT_COLUMNS = ("key", "kernel", "chip", "status", "failed_on", "error", "trace", "preset")
_JSON_COLUMNS = ("params", "code_severity")


class SweepTableError(InputError):
    """A file that is not a sweep table ubscope wrote."""


@dataclass(frozen=True)
class SweepRow:
    """One configuration of a sweep: the swept values (``grid``, in the order
    given) and every parameter, what became of the run, its flat metrics and
    the worst severity of each finding code."""

    key: str
    kernel: str
    chip: str
    grid: dict[str, Any]
    status: str
    params: dict[str, Any] = field(default_factory=dict)
    failed_on: tuple[str, ...] = ()
    error: str = ""
    trace: str = ""  # file name within the sweep's folder; "" when none was written
    metrics: dict[str, float] = field(default_factory=dict)
    code_severity: dict[str, str] = field(default_factory=dict)
    preset: str | None = None

    @property
    def label(self) -> str:
        """``m=16 n=4096 on Ascend910B2``: the configuration for people."""
        values = " ".join(f"{name}={value}" for name, value in self.grid.items())
        return f"{values} on {self.chip}" if values else self.chip

    @property
    def failed(self) -> bool:
        return self.status != STATUS_OK

    @property
    def verdict(self) -> str:
        """``failed: overflow, numerics``, ``crashed: ...``, ``ok``."""
        if self.status == STATUS_FAILED:
            return f"{STATUS_FAILED}: {', '.join(self.failed_on)}"
        if self.status in UNFINISHED:
            return self.error or self.status  # the executor's "crashed: ..." / "timeout after ..."
        return f"{self.status}: {self.error}" if self.error else self.status

    def value(self, metric: str) -> float | None:
        """A flat metric, or the GM bytes read and written (:data:`GM_BYTES`)."""
        if metric == GM_BYTES:
            read, write = (metric_value(self.metrics, f"gm.{n}_bytes") for n in ("read", "write"))
            return None if read is None or write is None else read + write
        return metric_value(self.metrics, metric)


def failures(analysis: Analysis, numerics_ok: bool | None) -> tuple[str, ...]:
    """Why a run that finished failed: a write past on-chip capacity or an
    overflow finding (``overflow``), a misaligned copy (``misalignment``), an
    output unlike its reference (``numerics``; not judged after an overflow,
    whose outputs mean nothing), or the code of any other error finding."""
    found: list[str] = []
    if analysis.device_fault is not None:
        found.append(FAILURE_OVERFLOW)
    for finding in analysis.findings:
        if finding.severity < Severity.ERROR:
            continue
        family = finding.code.rstrip("0123456789")
        found.append(
            _FAILURE_OF_CODE.get(finding.code, _FAILURE_OF_FAMILY.get(family, finding.code))
        )
    if numerics_ok is False and FAILURE_OVERFLOW not in found:
        found.append(FAILURE_NUMERICS)
    return tuple(dict.fromkeys(found))


def row_of_analysis(
    analysis: Analysis,
    *,
    key: str,
    grid: Mapping[str, Any],
    trace: str,
    numerics_ok: bool | None,
) -> SweepRow:
    """The row of a configuration that ran into ``trace`` and was analyzed;
    ``numerics_ok``: whether its outputs matched their reference (None: no
    reference)."""
    metrics = analysis.metrics
    severities: dict[str, Severity] = {}
    for finding in analysis.findings:
        severities[finding.code] = max(
            finding.severity, severities.get(finding.code, Severity.INFO)
        )
    failed_on = failures(analysis, numerics_ok)
    return SweepRow(
        key=key,
        kernel=str(metrics.get("kernel", "?")),
        chip=analysis.chip.name,
        grid=dict(grid),
        status=STATUS_FAILED if failed_on else STATUS_OK,
        params=dict(metrics.get("params") or {}),
        failed_on=failed_on,
        trace=trace,
        metrics=flatten_metrics(metrics),
        code_severity={code: str(severity) for code, severity in sorted(severities.items())},
        preset=metrics.get("preset"),
    )


def unfinished_row(row: SweepRow, error: str, trace: str = "") -> SweepRow:
    """``row`` (the configuration) as a run that crashed or timed out, with the
    executor's ``error`` (``crashed: ...``, ``timeout after ...``)."""
    status = STATUS_TIMEOUT if error.startswith(STATUS_TIMEOUT) else STATUS_CRASHED
    return replace(row, status=status, error=error, trace=trace)


def sweep_front(rows: Sequence[SweepRow]) -> list[SweepRow]:
    """The configurations that ran clean and that no other clean one beats in
    peak UB, GM bytes and modelled time (:data:`FRONT_OBJECTIVES`), by peak UB."""
    clean = [row for row in rows if row.status == STATUS_OK]
    costs = np.array(
        [[_cost(row, metric) for metric in FRONT_OBJECTIVES] for row in clean], dtype=np.float64
    ).reshape(len(clean), len(FRONT_OBJECTIVES))
    front = [clean[i] for i in pareto_front(costs)]
    return sorted(front, key=lambda row: [_cost(row, metric) for metric in FRONT_OBJECTIVES])


def _cost(row: SweepRow, metric: str) -> float:
    value = row.value(metric)
    return float("nan") if value is None else float(value)


# The Parquet table


def write_sweep_table(rows: Iterable[SweepRow], path: str | os.PathLike[str]) -> Path:
    """Write the rows as one Parquet table, atomically (an interrupted write
    leaves the previous table whole)."""
    import pyarrow.parquet as pq

    table = _to_arrow(list(rows))
    target = Path(path)
    with atomic_output(target, binary=True, stdout=False) as handle:
        pq.write_table(table, handle, compression="zstd")
    return target


def read_sweep_table(path: str | os.PathLike[str]) -> list[SweepRow]:
    """The rows of a sweep table (``DIR`` means ``DIR/sweep.parquet``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = Path(path)
    if source.is_dir():
        source = source / SWEEP_TABLE
    expected = f"a sweep table written by `ubscope sweep` ({SWEEP_TABLE})"
    if not source.is_file():
        raise SweepTableError(source, f"no such file, expected {expected}")
    try:
        table = pq.read_table(source)
    except (OSError, pa.ArrowException) as exc:
        problem = f"cannot read it as Parquet ({exc}), expected {expected}"
        raise SweepTableError(source, problem) from None
    meta = table.schema.metadata or {}
    missing = [name for name in (*_TEXT_COLUMNS, *_JSON_COLUMNS) if name not in table.column_names]
    if meta.get(SCHEMA_KEY) != SCHEMA.encode() or missing:
        raise SweepTableError(source, f"not {expected}")
    try:
        return [_from_record(record) for record in table.to_pylist()]
    except (ValueError, TypeError, AttributeError) as exc:
        raise SweepTableError(source, f"a row does not read as a sweep's ({exc})") from None


def _to_arrow(rows: list[SweepRow]) -> Any:
    import pyarrow as pa

    columns: dict[str, Any] = {
        name: pa.array([_text_field(row, name) for row in rows], pa.string())
        for name in _TEXT_COLUMNS
    }
    for name in _JSON_COLUMNS:
        values = [json.dumps(getattr(row, name), sort_keys=True, default=str) for row in rows]
        columns[name] = pa.array(values, pa.string())
    for name in dict.fromkeys(name for row in rows for name in row.grid):
        columns[GRID_PREFIX + name] = _typed([row.grid.get(name) for row in rows])
    metrics = dict.fromkeys(name for row in rows for name in row.metrics)
    for name in sorted(metrics, key=_metric_order):
        kind = pa.float64() if metric_unit(name) == "ratio" else pa.int64()
        columns[name] = pa.array([_metric_cell(row, name) for row in rows], kind)
    return pa.table(columns).replace_schema_metadata({SCHEMA_KEY: SCHEMA})


def _text_field(row: SweepRow, name: str) -> str | None:
    if name == "failed_on":
        return ",".join(row.failed_on)
    value = getattr(row, name)
    return None if value is None else str(value)


def _metric_cell(row: SweepRow, name: str) -> float | None:
    value = row.metrics.get(name)
    if value is None and name.startswith(BY_CODE) and row.status in (STATUS_OK, STATUS_FAILED):
        return 0  # it ran and had no such finding
    if value is None or metric_unit(name) == "ratio":
        return value
    return round(value)


def _metric_order(name: str) -> tuple[int, str]:
    group = 2 if name.startswith("findings.") else 0
    return (group, name)


def _typed(values: list[Any]) -> Any:
    """Swept values as one typed column: integers, numbers, else text."""
    import pyarrow as pa

    present = [value for value in values if value is not None]
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.array(values, pa.int64())
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.array(values, pa.float64())
    return pa.array([None if v is None else str(v) for v in values], pa.string())


def _from_record(record: dict[str, Any]) -> SweepRow:
    """A row of the table as read: its text is input, made printable."""
    grid = {
        printable(name[len(GRID_PREFIX) :]): printable_tree(value)
        for name, value in record.items()
        if name.startswith(GRID_PREFIX) and value is not None
    }
    metrics = {
        name: value
        for name, value in record.items()
        if is_known_metric(name)
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not (name.startswith(BY_CODE) and value == 0)
    }
    text = {name: printable(record[name] or "") for name in _TEXT_COLUMNS}
    return SweepRow(
        key=text["key"],
        kernel=text["kernel"],
        chip=text["chip"],
        grid=grid,
        status=text["status"],
        params=_mapping(record["params"]),
        failed_on=tuple(filter(None, text["failed_on"].split(","))),
        error=printable_prose(record["error"] or ""),
        trace=text["trace"],
        metrics=metrics,
        code_severity=_mapping(record["code_severity"]),
        preset=text["preset"] or None,
    )


def _mapping(cell: str | None) -> dict[str, Any]:
    """A JSON object cell, its text made printable."""
    value = json.loads(cell or "{}")
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return printable_tree(value)
