"""Reader for a torch_npu profiler directory (and msprof memory summaries).

``memory_record.csv`` and ``operator_memory.csv`` can reach a gigabyte, so
they are read in chunks and reduced per chunk (timeline envelope, peaks,
per-operator aggregates, lifetime histogram); the other files are small and
kept whole. The CANN ``msprof`` summaries (``memory_record_<ts>.csv`` in KB,
``npu_mem_<ts>.csv``, ``hbm``/``ddr``/``llc``) are used where the torch_npu
export is absent; ``Device_id`` is an optional leading column everywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

import pandas as pd
from ubscope.analyzers.vendor.common import (
    TORCH_NPU,
    VendorReport,
    csv_header,
    find_column,
    read_csv_chunks,
    require_columns,
    to_number,
    typed_columns,
    us_text_to_ns,
)
from ubscope.analyzers.vendor.torch_npu_memory import (
    OperatorMemoryReducer,
    RecordReducer,
    trace_memory_counters,
)
from ubscope.probe.errors import VendorFormatError

OUTPUT_DIR = "ASCEND_PROFILER_OUTPUT"
MSPROF_OUTPUT_DIR = "mindstudio_profiler_output"
WHAT_DIR = f"a torch_npu profiler directory (*_ascend_pt with {OUTPUT_DIR}/)"

# table -> (torch_npu file name, msprof summary file-name pattern)
FILES: dict[str, tuple[str | None, str | None]] = {
    "memory_record": ("memory_record.csv", r"memory_record_\w+\.csv"),
    "operator_memory": ("operator_memory.csv", r"operator_memory_\w+\.csv"),
    "npu_module_mem": ("npu_module_mem.csv", r"npu_module_mem_\w+\.csv"),
    "kernel_details": ("kernel_details.csv", None),
    "op_statistic": ("op_statistic.csv", r"op_statistic_\w+\.csv"),
    "npu_mem": (None, r"npu_mem_\w+\.csv"),
    "hbm": (None, r"hbm_\w+\.csv"),
    "ddr": (None, r"ddr_\w+\.csv"),
    "llc_read_write": (None, r"llc_read_write_\w+\.csv"),
    "trace": ("trace_view.json", r"(?:trace_view\.\w+|msprof_\w+)\.json"),
}
_MB_PER_UNIT = {"b": 1 / (1 << 20), "kb": 1 / 1024, "mb": 1.0, "gb": 1024.0}


def table_of(path: Path) -> str | None:
    """Which table a file feeds, from its name (torch_npu or msprof naming)."""
    for table, (exact, pattern) in FILES.items():
        if path.name == exact or (pattern and re.fullmatch(pattern, path.name)):
            return table
    return None


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def _known_files(folder: Path) -> list[Path]:
    return [path for path in _children(folder) if path.is_file() and table_of(path)]


def _profiler_root(root: Path) -> Path:
    """The ``*_ascend_pt`` directory: ``root`` itself, its parent, or its only such child."""
    if root.name in (OUTPUT_DIR, MSPROF_OUTPUT_DIR):
        return root.parent
    roots = [
        child for child in _children(root) if child.is_dir() and child.name.endswith("_ascend_pt")
    ]
    if len(roots) > 1:
        names = ", ".join(child.name for child in roots[:4])
        raise VendorFormatError(
            root,
            f"expected one torch_npu profiler directory, found {len(roots)} ({names}); pass one",
        )
    return roots[0] if roots else root


def _discover(root: Path) -> dict[str, list[Path]]:
    """Files per table: torch_npu exports first, msprof summaries where they are missing."""
    base = _profiler_root(root)
    files: dict[str, list[Path]] = {}
    for table, (exact, _pattern) in FILES.items():
        for folder in (base / OUTPUT_DIR, base):
            if exact and table not in files and (folder / exact).is_file():
                files[table] = [folder / exact]
    msprof_dirs = [base / MSPROF_OUTPUT_DIR, base, base / OUTPUT_DIR]
    msprof_dirs += [d / MSPROF_OUTPUT_DIR for d in _children(base) if d.name.startswith("PROF_")]
    summaries: dict[str, list[Path]] = {}
    for folder in msprof_dirs:
        for path in _known_files(folder):
            table = table_of(path)
            if table and path.name != FILES[table][0]:
                summaries.setdefault(table, []).append(path)
    for table, paths in summaries.items():
        files.setdefault(table, paths)
    return files


def _unit_factor(path: Path, column: str) -> float:
    unit = column.rpartition("(")[2].rstrip(")").strip().lower()
    if unit not in _MB_PER_UNIT:
        raise VendorFormatError(path, f"expected a size unit B/KB/MB/GB in column {column!r}")
    return _MB_PER_UNIT[unit]


def _device(chunk: pd.DataFrame, header: list[str]) -> pd.Series:
    """``NPU:<id>`` from ``Device Type``/``Device``, else from ``Device_id``."""
    if column := find_column(header, "Device Type", "Device"):
        return chunk[column].fillna("unknown")
    if column := find_column(header, "Device_id"):
        return ("NPU:" + chunk[column].astype("str")).fillna("unknown")
    return pd.Series("unknown", index=chunk.index)


def _megabytes(chunk: pd.DataFrame, path: Path, header: list[str], *names: str) -> pd.Series:
    column = find_column(header, *names)
    if column is None:
        return pd.Series(float("nan"), index=chunk.index)
    return to_number(chunk[column]) * _unit_factor(path, column)


def _timestamps(chunk: pd.DataFrame, report: VendorReport, path: Path, column: str) -> pd.Series:
    stamps = us_text_to_ns(chunk[column])
    if bad := int(stamps.isna().sum()):
        report.note_partial(path, f"skipped {bad} row(s) with an unreadable {column}")
    return stamps


def _read_memory_record(paths: list[Path], report: VendorReport, chunk_rows: int) -> None:
    what = "a memory_record CSV"
    size = sum(path.stat().st_size for path in paths)
    reducer = RecordReducer(estimated_rows=size // 60)
    for path in paths:
        header = csv_header(path, what)
        require_columns(
            path,
            header,
            what,
            ("Component",),
            ("Timestamp(us)",),
            ("Total Reserved(MB)", "Total Reserved(KB)"),
        )
        time = find_column(header, "Timestamp(us)")
        component = find_column(header, "Component")
        assert time and component
        for chunk in read_csv_chunks(path, report, what, chunk_rows=chunk_rows):
            frame = pd.DataFrame(
                {
                    "component": chunk[component].fillna("unknown"),
                    "device": _device(chunk, header),
                    "ts_ns": _timestamps(chunk, report, path, time),
                    "allocated_mb": _megabytes(
                        chunk, path, header, "Total Allocated(MB)", "Total Allocated(KB)"
                    ),
                    "reserved_mb": _megabytes(
                        chunk, path, header, "Total Reserved(MB)", "Total Reserved(KB)"
                    ),
                    "active_mb": _megabytes(
                        chunk, path, header, "Total Active(MB)", "Total Active(KB)"
                    ),
                }
            )
            reducer.add(frame.dropna(subset=["ts_ns"]))
    report.tables.update(reducer.tables())


def _read_operator_memory(paths: list[Path], report: VendorReport, chunk_rows: int) -> None:
    what = "an operator_memory CSV"
    reducer = OperatorMemoryReducer()
    for path in paths:
        header = csv_header(path, what)
        require_columns(
            path, header, what, ("Name",), ("Size(KB)", "Size(MB)"), ("Allocation Time(us)",)
        )
        columns = {
            key: find_column(header, key)
            for key in ("Name", "Allocation Time(us)", "Release Time(us)", "Duration(us)")
        }
        size = find_column(header, "Size(KB)", "Size(MB)")
        assert size and columns["Name"] and columns["Allocation Time(us)"]
        for chunk in read_csv_chunks(path, report, what, chunk_rows=chunk_rows):
            allocated_at = _timestamps(chunk, report, path, columns["Allocation Time(us)"])
            released_at = (
                us_text_to_ns(chunk[columns["Release Time(us)"]])
                if columns["Release Time(us)"]
                else None
            )
            lifetime = (
                us_text_to_ns(chunk[columns["Duration(us)"]]) if columns["Duration(us)"] else None
            )
            if released_at is not None:
                lifetime = (
                    (released_at - allocated_at)
                    if lifetime is None
                    else lifetime.fillna(released_at - allocated_at)
                )
            frame = pd.DataFrame(
                {
                    "name": chunk[columns["Name"]].fillna("unknown"),
                    "device": _device(chunk, header),
                    "size_kb": to_number(chunk[size]) * _unit_factor(path, size) * 1024,
                    "alloc_ns": allocated_at,
                    "lifetime_ns": lifetime
                    if lifetime is not None
                    else pd.Series(pd.NA, index=chunk.index, dtype="Int64"),
                    "alloc_allocated_mb": _megabytes(
                        chunk,
                        path,
                        header,
                        "Allocation Total Allocated(MB)",
                        "Allocation Total Allocated(KB)",
                    ),
                    "alloc_reserved_mb": _megabytes(
                        chunk,
                        path,
                        header,
                        "Allocation Total Reserved(MB)",
                        "Allocation Total Reserved(KB)",
                    ),
                    "release_allocated_mb": _megabytes(
                        chunk,
                        path,
                        header,
                        "Release Total Allocated(MB)",
                        "Release Total Allocated(KB)",
                    ),
                    "release_reserved_mb": _megabytes(
                        chunk,
                        path,
                        header,
                        "Release Total Reserved(MB)",
                        "Release Total Reserved(KB)",
                    ),
                }
            )
            reducer.add(frame.dropna(subset=["alloc_ns"]))
    report.tables.update(reducer.tables())


def _read_npu_module_mem(paths: list[Path], report: VendorReport, chunk_rows: int) -> None:
    what = "an npu_module_mem CSV"
    parts = []
    for path in paths:
        header = csv_header(path, what)
        require_columns(
            path,
            header,
            what,
            ("Component",),
            ("Timestamp(us)",),
            ("Total Reserved(MB)", "Total Reserved(KB)"),
        )
        component, time = find_column(header, "Component"), find_column(header, "Timestamp(us)")
        assert component and time
        for chunk in read_csv_chunks(path, report, what, chunk_rows=chunk_rows):
            frame = pd.DataFrame(
                {
                    "component": chunk[component].fillna("unknown").astype("category"),
                    "device": _device(chunk, header).astype("category"),
                    "ts_ns": _timestamps(chunk, report, path, time),
                    "reserved_mb": _megabytes(
                        chunk, path, header, "Total Reserved(MB)", "Total Reserved(KB)"
                    ),
                }
            )
            parts.append(frame.dropna(subset=["ts_ns"]))
    table = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["component", "device", "ts_ns", "reserved_mb"])
    )
    table["ts_ns"] = table["ts_ns"].astype("int64")
    report.tables["npu_module_mem"] = table


# table -> (required columns, epoch-µs columns, text columns)
_SMALL_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "kernel_details": (
        ("Name", "Start Time(us)"),
        ("Start Time(us)",),
        ("Name", "Type", "Input Shapes", "Output Shapes"),
    ),
    "op_statistic": (("OP Type", "Count"), (), ("OP Type", "Core Type")),
    "npu_mem": (("event", "timestamp(us)"), ("timestamp(us)",), ("event",)),
    "hbm": (("Metric", "Read(MB/s)"), (), ("Metric",)),
    "ddr": (("Metric", "Read(MB/s)"), (), ("Metric",)),
    "llc_read_write": (("Mode", "Task"), (), ("Mode", "Task")),
}


def _read_small_table(table: str, paths: list[Path], report: VendorReport, chunk_rows: int) -> None:
    """A small CSV kept whole: numbers typed, epoch stamps as ns, shape cells unquoted."""
    required, epoch_us, text = _SMALL_TABLES[table]
    what = f"a {table} CSV"
    frames = []
    for path in paths:
        header = csv_header(path, what)
        require_columns(path, header, what, *[(name,) for name in required])
        chunks = list(read_csv_chunks(path, report, what, chunk_rows=chunk_rows))
        frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=header)
        for column in [c for c in frame.columns if "Shapes" in c]:
            frame[column] = frame[column].str.strip('"')
        epoch = [c for c in frame.columns if find_column([c], *epoch_us)]
        frames.append(
            typed_columns(
                frame, text=[c for c in frame.columns if find_column([c], *text)], epoch_us=epoch
            )
        )
    report.tables[table] = pd.concat(frames, ignore_index=True)


def _read_trace(paths: list[Path], report: VendorReport, chunk_rows: int) -> None:
    report.tables["npu_mem_counters"] = pd.concat(
        [trace_memory_counters(path, report) for path in paths], ignore_index=True
    )


_READERS: dict[str, Callable[[list[Path], VendorReport, int], None]] = {
    "memory_record": _read_memory_record,
    "operator_memory": _read_operator_memory,
    "npu_module_mem": _read_npu_module_mem,
    "trace": _read_trace,
    **{table: partial(_read_small_table, table) for table in _SMALL_TABLES},
}


def read_torch_npu(dir: str | os.PathLike[str], *, chunk_rows: int = 200_000) -> VendorReport:
    """Read a torch_npu profiler directory (``*_ascend_pt``, its parent or its
    ``ASCEND_PROFILER_OUTPUT/``), a CANN ``PROF_*`` export, or one of their files.

    Tables: ``memory_record`` (timeline, MB, ``ts_ns`` exact; downsampled to
    a max/first envelope when huge), ``memory_record_summary`` (per component:
    peaks, reserved vs allocated at peak reserved), ``operator_memory_top``
    (largest blocks), ``operator_memory_by_name``, ``operator_memory_lifetimes``
    (histogram), ``npu_module_mem``, ``kernel_details``, ``op_statistic``,
    ``npu_mem``/``hbm``/``ddr``/``llc_read_write`` (msprof) and
    ``npu_mem_counters`` (trace NPU MEM counters). torch_npu reports no
    problems itself; the ``TNPU`` rules derive findings from these tables.
    """
    source = Path(dir)
    report = VendorReport(tool=TORCH_NPU, path=os.fspath(source))
    if source.is_dir():
        files = _discover(source)
    elif table := table_of(source):
        files = {table: [source]}
    else:
        raise VendorFormatError(source, f"expected {WHAT_DIR} or one of its files")
    if not files:
        raise VendorFormatError(source, f"expected {WHAT_DIR}, found no known files")
    _read_all(files, report, chunk_rows, single=not source.is_dir())
    return report


def _read_all(
    files: dict[str, list[Path]], report: VendorReport, chunk_rows: int, single: bool
) -> None:
    """Read each table; in a directory, one unreadable file is skipped with a warning."""
    errors: list[VendorFormatError] = []
    for table, paths in files.items():
        try:
            _READERS[table](paths, report, chunk_rows)
        except VendorFormatError as error:
            if single:
                raise
            errors.append(error)
            report.note_partial(error.path, f"skipped: {error.problem}")
    if errors and not report.tables:
        raise errors[0]


def known_file_names() -> Iterable[str]:
    """The torch_npu export names this reader understands (for auto-detection)."""
    return [exact for exact, _ in FILES.values() if exact]
