"""Which paths are torch_npu profiler output: ``*_ascend_pt`` /
``ASCEND_PROFILER_OUTPUT`` / msprof folders, their tables and trace JSON."""

from __future__ import annotations

from pathlib import Path

from ubscope.analyzers.vendor.tool import Candidate
from ubscope.analyzers.vendor.torch_npu.reader import MSPROF_OUTPUT_DIR, OUTPUT_DIR, table_of

_MARKERS = (OUTPUT_DIR, MSPROF_OUTPUT_DIR)
_HEADER_MARKS = ("Total Reserved", "Allocation Time(us)")


def _is_marker(name: str) -> bool:
    return name in _MARKERS or name.endswith("_ascend_pt")


def is_torch_npu_output(candidate: Candidate) -> bool:
    if candidate.is_dir:
        return _is_marker(candidate.path.name) or any(
            _is_marker(name) or name.startswith("PROF_") or table_of(Path(name))
            for name in candidate.names
        )
    if candidate.suffix == ".json":
        head = candidate.head
        return (head.startswith("[") or '"traceEvents"' in head) and '"ph"' in head
    if candidate.suffix == ".csv":
        header = candidate.head.partition("\n")[0]
        return bool(table_of(candidate.path)) or any(mark in header for mark in _HEADER_MARKS)
    return False
