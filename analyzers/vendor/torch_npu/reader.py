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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ubscope.analyzers.vendor.common import (
    DEFAULT_CHUNK_ROWS,
    VendorReport,
    csv_header,
    find_column,
    header_key,
    pmu_columns,
    read_csv_batches,
    read_csv_table,
    require_columns,
)
from ubscope.analyzers.vendor.torch_npu import TORCH_NPU
from ubscope.analyzers.vendor.torch_npu.memory import (
    OperatorMemoryReducer,
    RecordReducer,
    memory_summary,
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
            f"expected one torch_npu profiler directory, found {len(roots)} ({names}); pass "
            "one, or read them all as a cluster profile with `ubscope analyze` or "
            "`ubscope report` (docs/cluster.md)",
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
            found = table_of(path)
            if found and path.name != FILES[found][0]:
                summaries.setdefault(found, []).append(path)
    for table, paths in summaries.items():
        files.setdefault(table, paths)
    return files


# canonical column -> accepted headers. The suffix says how cells are converted:
# _ns = epoch/duration µs text -> exact int ns, _mb / _kb = size scaled from the
# header's unit, anything else = text. Device comes from Device Type, Device or Device_id.
RECORD_COLUMNS = {
    "component": ("Component",),
    "ts_ns": ("Timestamp(us)",),
    "allocated_mb": ("Total Allocated(MB)", "Total Allocated(KB)"),
    "reserved_mb": ("Total Reserved(MB)", "Total Reserved(KB)"),
    "active_mb": ("Total Active(MB)", "Total Active(KB)"),
}
OPERATOR_COLUMNS = {
    "name": ("Name",),
    "size_kb": ("Size(KB)", "Size(MB)"),
    "alloc_ns": ("Allocation Time(us)",),
    "release_ns": ("Release Time(us)",),
    "lifetime_ns": ("Duration(us)",),
    "alloc_allocated_mb": ("Allocation Total Allocated(MB)", "Allocation Total Allocated(KB)"),
    "alloc_reserved_mb": ("Allocation Total Reserved(MB)", "Allocation Total Reserved(KB)"),
    "release_allocated_mb": ("Release Total Allocated(MB)", "Release Total Allocated(KB)"),
    "release_reserved_mb": ("Release Total Reserved(MB)", "Release Total Reserved(KB)"),
}
MODULE_COLUMNS = {
    "component": ("Component",),
    "ts_ns": ("Timestamp(us)",),
    "reserved_mb": ("Total Reserved(MB)", "Total Reserved(KB)"),
}
DEVICE_COLUMNS = ("Device Type", "Device", "Device_id")


def _unit_factor(path: Path, column: str) -> float:
    """MB per unit of a ``Name(KB)``-style header."""
    unit = column.rpartition("(")[2].rstrip(")").strip().lower()
    if unit not in _MB_PER_UNIT:
        raise VendorFormatError(path, f"expected a size unit B/KB/MB/GB in column {column!r}")
    return _MB_PER_UNIT[unit]


def _column_types(spec: dict[str, tuple[str, ...]], found: dict[str, str]) -> dict[str, list]:
    """The typed reads the canonical keys ask for (by their suffix)."""
    return {
        "epoch_us": [found[key] for key in found if key.endswith("_ns")],
        "numbers": [found[key] for key in found if key.endswith(("_mb", "_kb"))],
        "categories": [found[key] for key in found if not key.endswith(("_ns", "_mb", "_kb"))],
    }


def _convert(path: Path, key: str, column: str, cells: pa.Array) -> pd.Series:
    if key.endswith("_ns"):
        return cells.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    if key.endswith("_mb"):
        return cells.to_pandas() * _unit_factor(path, column)
    if key.endswith("_kb"):
        return cells.to_pandas() * (_unit_factor(path, column) * 1024)
    return _labels(cells)


def _labels(cells: pa.Array) -> pd.Series:
    """Text cells (dictionary-encoded) as a categorical, missing ones ``unknown``."""
    labels = cells.to_pandas()
    if not cells.null_count:
        return labels
    if "unknown" not in labels.cat.categories:
        labels = labels.cat.add_categories("unknown")
    return labels.fillna("unknown")


def _missing(key: str, index: pd.Index) -> pd.Series:
    if key.endswith("_ns"):
        return pd.Series(pd.NA, index=index, dtype="Int64")
    return pd.Series(float("nan") if key.endswith(("_mb", "_kb")) else "unknown", index=index)


def _normalised_chunks(
    paths: list[Path],
    report: VendorReport,
    what: str,
    spec: dict[str, tuple[str, ...]],
    *,
    stamp: str,
    required: tuple[str, ...],
    chunk_rows: int,
) -> Iterator[pd.DataFrame]:
    """Chunks with the canonical columns of ``spec`` plus ``device``; rows
    whose ``stamp`` timestamp is unreadable are dropped with a warning."""
    for path in paths:
        header = csv_header(path, what)
        require_columns(path, header, what, *(spec[key] for key in (stamp, *required)))
        found = {
            key: column for key, names in spec.items() if (column := find_column(header, *names))
        }
        for key, column in found.items():
            if key.endswith(("_mb", "_kb")):
                _unit_factor(path, column)
        device = find_column(header, *DEVICE_COLUMNS)
        used = [*found.values(), *([device] if device else [])]
        types = _column_types(spec, found)
        types["categories"] += [device] if device else []
        unreadable = 0
        batches = read_csv_batches(path, report, what, columns=used, chunk_rows=chunk_rows, **types)
        for batch in batches:
            index = pd.RangeIndex(batch.num_rows)
            frame = pd.DataFrame(
                {
                    key: _convert(path, key, found[key], batch.column(found[key]))
                    if key in found
                    else _missing(key, index)
                    for key in spec
                }
            )
            frame["device"] = _device_names(batch, device, index)
            missing = frame[stamp].isna()
            if missing.any():
                unreadable += int(missing.sum())
                frame = frame[~missing]
            yield frame
        if unreadable:
            report.note_partial(
                path, f"skipped {unreadable} row(s) with an unreadable {found[stamp]}"
            )


def _device_names(batch: pa.RecordBatch, column: str | None, index: pd.Index) -> pd.Series:
    """``NPU:<id>`` as torch_npu writes it (msprof files may give only ``Device_id``)."""
    if column is None:
        return pd.Series("unknown", index=index, dtype="str")
    names = _labels(batch.column(column))
    if header_key(column) == "deviceid":
        names = names.cat.rename_categories(lambda id: id if id == "unknown" else f"NPU:{id}")
    return names


def _read_memory_record(paths: list[Path], report: VendorReport, chunk_rows: int) -> None:
    reducer = RecordReducer(estimated_rows=sum(path.stat().st_size for path in paths) // 60)
    chunks = _normalised_chunks(
        paths,
        report,
        "a memory_record CSV",
        RECORD_COLUMNS,
        stamp="ts_ns",
        required=("component", "reserved_mb"),
        chunk_rows=chunk_rows,
    )
    for frame in chunks:
        reducer.add(frame)
    report.tables.update(reducer.tables())


def _read_operator_memory(paths: list[Path], report: VendorReport, chunk_rows: int) -> None:
    reducer = OperatorMemoryReducer()
    chunks = _normalised_chunks(
        paths,
        report,
        "an operator_memory CSV",
        OPERATOR_COLUMNS,
        stamp="alloc_ns",
        required=("name", "size_kb"),
        chunk_rows=chunk_rows,
    )
    for frame in chunks:
        frame["lifetime_ns"] = frame["lifetime_ns"].fillna(frame["release_ns"] - frame["alloc_ns"])
        reducer.add(frame.drop(columns="release_ns"))
    report.tables.update(reducer.tables())


def _read_npu_module_mem(paths: list[Path], report: VendorReport, chunk_rows: int) -> None:
    chunks = _normalised_chunks(
        paths,
        report,
        "an npu_module_mem CSV",
        MODULE_COLUMNS,
        stamp="ts_ns",
        required=("component", "reserved_mb"),
        chunk_rows=chunk_rows,
    )
    columns = ["component", "device", "ts_ns", "reserved_mb"]
    parts = [frame[columns] for frame in chunks]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    report.tables["npu_module_mem"] = table.astype(
        {"component": "category", "device": "category", "ts_ns": "int64", "reserved_mb": "float64"}
    )


@dataclass(frozen=True)
class _SmallTable:
    """What the reader knows of a small CSV's columns: those it needs, those
    holding epoch microseconds, those holding text (names, shapes), and those
    the profiler writes as numbers (or NA) whatever the cells hold; other
    columns are numbers when most of their cells are (see ``typed_columns``)."""

    required: tuple[str, ...]
    epoch_us: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    pmu_numeric: bool = False  # its aic_*/aiv_* counters are numbers too


_SMALL_TABLES: dict[str, _SmallTable] = {
    "kernel_details": _SmallTable(
        required=("Name", "Start Time(us)"),
        epoch_us=("Start Time(us)",),
        text=("Name", "Type", "Input Shapes", "Output Shapes"),
        numeric=("Duration(us)", "Wait Time(us)", "Block Dim", "Mix Block Dim", "Block Num"),
        pmu_numeric=True,
    ),
    "op_statistic": _SmallTable(
        required=("OP Type", "Count"),
        text=("OP Type", "Core Type"),
        numeric=(
            "Count",
            "Total Time(us)",
            "Min Time(us)",
            "Avg Time(us)",
            "Max Time(us)",
            "Ratio(%)",
        ),
    ),
    "npu_mem": _SmallTable(
        required=("event", "timestamp(us)"),
        epoch_us=("timestamp(us)",),
        text=("event",),
        numeric=("ddr(KB)", "hbm(KB)", "memory(KB)"),
    ),
    "hbm": _SmallTable(
        required=("Metric", "Read(MB/s)"), text=("Metric",), numeric=("Read(MB/s)", "Write(MB/s)")
    ),
    "ddr": _SmallTable(
        required=("Metric", "Read(MB/s)"), text=("Metric",), numeric=("Read(MB/s)", "Write(MB/s)")
    ),
    "llc_read_write": _SmallTable(
        required=("Mode", "Task"),
        text=("Mode", "Task"),
        numeric=("Hit Rate(%)", "Throughput(MB/s)"),
    ),
}


def _read_small_table(table: str, paths: list[Path], report: VendorReport, chunk_rows: int) -> None:
    """A small CSV kept whole: numbers typed, epoch stamps as ns, shape cells unquoted."""
    spec = _SMALL_TABLES[table]
    what = f"a {table} CSV"
    frames = []
    for path in paths:
        header = csv_header(path, what)
        require_columns(path, header, what, *[(name,) for name in spec.required])
        numeric = [*spec.numeric, *(pmu_columns(header) if spec.pmu_numeric else ())]
        frames.append(
            read_csv_table(
                path,
                report,
                what,
                text=spec.text,
                epoch_us=spec.epoch_us,
                numeric=numeric,
                chunk_rows=chunk_rows,
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


def read_torch_npu(
    dir: str | os.PathLike[str], *, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> VendorReport:
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
    if source.is_dir():
        _note_missing_memory(source, files, report)
    report.summary = memory_summary(report.tables)
    return report


# Tables that hold memory figures, and the files that would have fed them.
MEMORY_TABLES = (
    "memory_record",
    "operator_memory_top",
    "npu_module_mem",
    "npu_mem",
    "npu_mem_counters",
)
MEMORY_SOURCES = (
    "memory_record, operator_memory, npu_module_mem (or msprof npu_mem) CSVs "
    "and trace_view.json memory counters"
)


def _note_missing_memory(source: Path, files: dict[str, list[Path]], report: VendorReport) -> None:
    """One warning line when nothing read from a folder holds memory figures
    (a trace_view without memory counters, only op_statistic, or empty
    memory CSVs beside readable files)."""
    if any(len(report.tables.get(table, ())) for table in MEMORY_TABLES):
        return
    read = sorted(path.name for paths in files.values() for path in paths)
    report.note_partial(
        source,
        f"no memory data found (looked for {MEMORY_SOURCES}; found {', '.join(read[:8])}"
        f"{', ...' if len(read) > 8 else ''})",
    )


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
