"""Readers for Huawei Ascend tool output, normalised into :class:`VendorReport`.

Each reader raises :class:`~ubscope.probe.errors.VendorFormatError` for input
it cannot read and warns (``PartialReadWarning``) when it keeps only part of a
file. :func:`detect_vendor_input` tells which reader a path needs; its answers
are the rule ``input_kind`` names.
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from pathlib import Path

from ubscope.analyzers.vendor.common import VendorReport
from ubscope.analyzers.vendor.cpu_debug import is_cpu_debug_log, read_cpu_debug
from ubscope.analyzers.vendor.msadvisor import read_msadvisor
from ubscope.analyzers.vendor.msprof_op import metric_of, read_msprof_op
from ubscope.analyzers.vendor.npuchk import is_npuchk_dir, is_npuchk_log, read_npuchk
from ubscope.analyzers.vendor.sanitizer import read_sanitizer
from ubscope.analyzers.vendor.simulator import is_simulator_dir, read_simulator, simulator_file
from ubscope.analyzers.vendor.torch_npu import (
    MSPROF_OUTPUT_DIR,
    OUTPUT_DIR,
    read_torch_npu,
    table_of,
)

__all__ = [
    "READERS",
    "VendorReport",
    "detect_vendor_input",
    "read_msadvisor",
    "read_msprof_op",
    "read_sanitizer",
    "read_simulator",
    "read_torch_npu",
]

READERS = {
    "sanitizer": read_sanitizer,
    "cpu_debug": read_cpu_debug,
    "npuchk": read_npuchk,
    "msadvisor": read_msadvisor,
    "msprof_op": read_msprof_op,
    "torch_npu": read_torch_npu,
    "simulator": read_simulator,
}

SNIFF_BYTES = 65536
MAX_LISTED = 5000
_SANITIZER_MARKS = (
    "====== ERROR",
    "====== WARNING",
    "====== WARNNING",
    "====== INFO",
    "[mssanitizer]",
)
_ERROR_CODE_KEY = re.compile(r'"error_?code\s*"\s*:', re.IGNORECASE)


def _head(path: Path) -> str:
    with open(path, "rb") as handle:
        return handle.read(SNIFF_BYTES).decode("utf-8", "replace").lstrip("\ufeff \t\r\n")


def _names(folder: Path, limit: int = MAX_LISTED) -> list[str]:
    names = []
    with os.scandir(folder) as entries:
        for entry in entries:
            names.append(entry.name)
            if len(names) >= limit:
                break
    return names


def _has_metric_csv(folder: Path, depth: int = 3) -> bool:
    """Whether an msOpProf metric CSV sits within ``depth`` levels (bounded listing)."""
    pending = [(folder, 0)]
    while pending:
        current, level = pending.pop()
        for name in _names(current, 500):
            child = current / name
            if metric_of(child) and child.is_file():
                return True
            if level < depth and child.is_dir():
                pending.append((child, level + 1))
    return False


def _detect_dir(folder: Path) -> str | None:
    if is_npuchk_dir(folder):
        return "npuchk"
    names = _names(folder)
    torch_markers = (OUTPUT_DIR, MSPROF_OUTPUT_DIR)
    if (
        folder.name in torch_markers
        or folder.name.endswith("_ascend_pt")
        or any(
            name in torch_markers or name.endswith("_ascend_pt") or name.startswith("PROF_")
            for name in names
        )
        or any(table_of(Path(name)) for name in names)
    ):
        return "torch_npu"
    if is_simulator_dir(folder):
        return "simulator"
    if folder.name.startswith("OPPROF_") or _has_metric_csv(folder):
        return "msprof_op"
    return None


def _is_advisor_workbook(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive, archive.open("xl/workbook.xml") as part:
            workbook = part.read(SNIFF_BYTES).decode("utf-8", "replace")
    except (
        zipfile.BadZipFile,
        zlib.error,
        KeyError,
        OSError,
        ValueError,
        EOFError,
        RuntimeError,
        NotImplementedError,
    ):
        return False
    return 'name="problems"' in workbook or "问题综述" in workbook


def _detect_csv(path: Path, head: str) -> str | None:
    if metric_of(path):
        return "msprof_op"
    if table_of(path):
        return "torch_npu"
    header = head.partition("\n")[0]
    if "block_id" in header or ("Op Name" in header and "Block Dim" in header and "Pid" in header):
        return "msprof_op"
    if "Total Reserved" in header or "Allocation Time(us)" in header:
        return "torch_npu"
    return None


def _detect_file(path: Path) -> str | None:
    if simulator_file(path):
        return "simulator"
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return "msadvisor" if _is_advisor_workbook(path) else None
    head = _head(path)
    if suffix in (".html", ".htm"):
        return "msadvisor" if "collapsible-header" in head else None
    if suffix == ".json":
        if _ERROR_CODE_KEY.search(head) and '"summary"' in head.lower():
            return "msadvisor"
        if head.startswith("[") or '"traceEvents"' in head:
            return "torch_npu" if '"ph"' in head else None
        return None
    if suffix == ".csv":
        return _detect_csv(path, head)
    if is_npuchk_log(path, head):
        return "npuchk"
    if is_cpu_debug_log(head):
        return "cpu_debug"
    return "sanitizer" if any(mark in head for mark in _SANITIZER_MARKS) else None


def detect_vendor_input(path: str | os.PathLike[str]) -> str | None:
    """Which tool produced ``path``: ``"sanitizer"``, ``"msadvisor"``,
    ``"msprof_op"``, ``"torch_npu"``, ``"simulator"`` (the reader key in :data:`READERS`) or None.

    Looks only at names, directory listings and the first 64 KiB, so it is
    cheap and never raises for unreadable paths.
    """
    source = Path(path)
    try:
        if source.is_dir():
            return _detect_dir(source)
        if source.is_file():
            return _detect_file(source)
    except OSError:
        return None
    return None
