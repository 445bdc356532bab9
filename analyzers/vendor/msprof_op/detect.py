"""Which paths are ``msprof op`` output: ``OPPROF_*`` folders, folders holding
its metric CSVs, and those CSVs (by name or header)."""

from __future__ import annotations

from pathlib import Path

from ubscope.analyzers.vendor.msprof_op.reader import metric_of
from ubscope.analyzers.vendor.tool import Candidate, listing


def _has_metric_csv(folder: Path, depth: int = 3) -> bool:
    """Whether a metric CSV sits within ``depth`` levels (bounded listing)."""
    pending = [(folder, 0)]
    while pending:
        current, level = pending.pop()
        for name in listing(current, 500):
            child = current / name
            if metric_of(child) and child.is_file():
                return True
            if level < depth and child.is_dir():
                pending.append((child, level + 1))
    return False


def _is_metric_header(header: str) -> bool:
    return "block_id" in header or all(
        column in header for column in ("Op Name", "Block Dim", "Pid")
    )


def is_msprof_op_output(candidate: Candidate) -> bool:
    if candidate.is_dir:
        return candidate.path.name.startswith("OPPROF_") or _has_metric_csv(candidate.path)
    if candidate.suffix == ".csv":
        return bool(metric_of(candidate.path)) or _is_metric_header(
            candidate.head.partition("\n")[0]
        )
    return False
