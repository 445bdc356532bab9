"""Reader for ``msprof op`` (msOpProf) kernel profiling CSVs.

One CSV per metric group, one row per (block_id, sub_block_id) — or per
AI Core without ids on 310P. A single-operator run writes
``OPPROF_x/<Metric>.csv``; several operators give
``OPPROF_x/[device<N>/]<OpName>/<launch>/<Metric>_<timestamp>.csv``. Every line
ends with a comma and missing cells are ``NA``/``N/A``/empty; the shared CSV
reader handles both.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ubscope.analyzers.vendor.common import (
    VendorReport,
    csv_header,
    pmu_columns,
    read_csv_table,
    require_columns,
    to_number,
    whole_numbers,
)
from ubscope.analyzers.vendor.msprof_op import MSPROF_OP
from ubscope.probe.errors import VendorFormatError

METRICS = (
    "OpBasicInfo",
    "ArithmeticUtilization",
    "L2Cache",
    "Memory",
    "MemoryL0",
    "MemoryUB",
    "PipeUtilization",
    "ResourceConflictRatio",
)
_METRIC_FILE = re.compile(
    "(" + "|".join(sorted(METRICS, key=len, reverse=True)) + r")(?:_\w{1,64})?\.csv"
)

_DEVICE_DIR = re.compile(r"device_?(\d{1,6})", re.IGNORECASE)
MAX_DEPTH = 6
MAX_FILES = 20_000
WHAT_DIR = "an msprof op output (OPPROF_* directory or <Metric>.csv such as OpBasicInfo.csv)"
CONTEXT_COLUMNS = ["op_name", "launch", "device", "dir"]
MISSING_SHOWN = 8
SUMMARY_LAUNCHES = 3
READ_KB, WRITE_KB = "read_main_memory_datas(KB)", "write_main_memory_datas(KB)"
DURATION = "Task Duration(us)"
# OpBasicInfo's columns the tool writes as numbers (or NA)
BASIC_INFO_NUMBERS = (
    DURATION,
    "Block Dim",
    "Mix Block Dim",
    "Device Id",
    "Pid",
    "Current Freq",
    "Rated Freq",
)


def metric_of(path: Path) -> str | None:
    """The metric group a file name belongs to (``L2Cache_20240603022812284.csv`` -> L2Cache)."""
    found = _METRIC_FILE.fullmatch(path.name)
    return found.group(1) if found else None


def _metric_files(root: Path) -> list[Path]:
    """Metric CSVs under ``root``, at most MAX_DEPTH levels and MAX_FILES files deep."""
    found: list[Path] = []
    for folder, subfolders, names in os.walk(root):
        depth = len(Path(folder).relative_to(root).parts)
        subfolders[:] = sorted(d for d in subfolders if depth < MAX_DEPTH and d != "dump")
        found.extend(Path(folder, name) for name in sorted(names) if metric_of(Path(name)))
        if len(found) > MAX_FILES:
            raise VendorFormatError(root, f"expected {WHAT_DIR}, found over {MAX_FILES} CSVs")
    return found


def _context(root: Path, file: Path) -> dict[str, str | int | None]:
    """Operator name, launch index and device from the multi-operator layout."""
    parent = file.parent
    launch = int(parent.name) if parent.name.isdigit() and len(parent.name) < 10 else None
    devices = [int(m.group(1)) for part in parent.parts if (m := _DEVICE_DIR.fullmatch(part))]
    return {
        "op_name": parent.parent.name if launch is not None else None,
        "launch": launch,
        "device": devices[-1] if devices else None,
        "dir": parent.relative_to(root).as_posix() if parent != root else ".",
    }


def _read_metric(file: Path, metric: str, report: VendorReport) -> pd.DataFrame:
    what = f"an msprof op {metric} CSV"
    header = csv_header(file, what)
    if metric == "OpBasicInfo":
        require_columns(file, header, what, ("Op Name",))
        numeric: list[str] = list(BASIC_INFO_NUMBERS)
    else:
        numeric = pmu_columns(header)
        if not numeric:
            raise VendorFormatError(file, f"expected {what} with aic_*/aiv_* columns")
    return read_csv_table(
        file, report, what, text=("Op Name", "Op Type", "sub_block_id"), numeric=numeric
    )


def _fill_from_basic_info(tables: dict[str, pd.DataFrame]) -> None:
    """Single-operator layouts name the operator only in OpBasicInfo.csv."""
    basic = tables.get("OpBasicInfo")
    if basic is None or basic.empty or "Op Name" not in basic:
        return
    per_dir = basic.drop_duplicates("dir").set_index("dir")
    for table in tables.values():
        names = table["dir"].map(per_dir["Op Name"])
        table["op_name"] = table["op_name"].fillna(names)
        if "Device Id" in per_dir:
            devices = whole_numbers(table["dir"].map(per_dir["Device Id"]))
            table["device"] = table["device"].fillna(devices).astype("Int64")


def _warn_missing_blocks(tables: dict[str, pd.DataFrame], root: Path, report: VendorReport) -> None:
    """Warn when a launch's per-block CSVs hold fewer block ids than its Block Dim.

    A trimmed folder (3 of 8 blocks kept) still reads, but every mean and
    worst block is then over the blocks present only.
    """
    basic = tables.get("OpBasicInfo")
    if basic is None or "Block Dim" not in basic:
        return
    block_dims = pd.to_numeric(
        basic.drop_duplicates("dir").set_index("dir")["Block Dim"], errors="coerce"
    )
    ids = pd.concat(
        [
            pd.DataFrame({"dir": table["dir"], "block": to_number(table["block_id"])})
            for metric, table in tables.items()
            if metric != "OpBasicInfo" and "block_id" in table
        ]
        or [pd.DataFrame({"dir": [], "block": []})]
    )
    ids = ids[ids["block"].mod(1).eq(0)]
    for folder, blocks in ids.groupby("dir")["block"]:
        present = np.unique(blocks.to_numpy())
        block_dim = block_dims.get(folder)
        if block_dim is None or not math.isfinite(block_dim) or len(present) >= block_dim:
            continue
        # Among the first len(present) + k ids at least k are missing, so
        # this lists the first missing ones without trusting Block Dim's size.
        candidates = np.arange(min(block_dim, len(present) + MISSING_SHOWN + 1))
        missing = np.setdiff1d(candidates, present).astype(int).tolist()
        shown = ", ".join(map(str, missing[:MISSING_SHOWN]))
        report.note_partial(
            root / str(folder),
            f"per-block CSVs hold {len(present)} of Block Dim {int(block_dim)} blocks (missing "
            f"{shown}{', ...' if len(missing) > MISSING_SHOWN else ''}); "
            "figures cover only the blocks present",
        )


def read_msprof_op(dir_or_file: str | os.PathLike[str]) -> VendorReport:
    """Read an ``msprof op`` output directory (or one of its metric CSVs).

    ``tables`` maps each metric group (``OpBasicInfo``, ``Memory``,
    ``ResourceConflictRatio``, ...) to one DataFrame over all operators and
    launches, with ``op_name``, ``launch``, ``device`` and ``dir`` columns
    first; cells are numbers where the whole column is numeric. msOpProf
    reports no problems itself, so ``findings`` is empty — the ``MSOP`` rules
    derive them.
    """
    source = Path(dir_or_file)
    report = VendorReport(tool=MSPROF_OP, path=os.fspath(source))
    if source.is_dir():
        root, files = source, _metric_files(source)
    elif metric_of(source):
        root, files = source.parent, [source]
    else:
        raise VendorFormatError(source, f"expected {WHAT_DIR}")
    if not files:
        raise VendorFormatError(source, f"expected {WHAT_DIR}, found no metric CSVs")
    parts: dict[str, list[pd.DataFrame]] = {}
    first_error: VendorFormatError | None = None
    for file in files:
        metric = metric_of(file)
        assert metric is not None
        try:
            frame = _read_metric(file, metric, report)
        except VendorFormatError as error:
            if len(files) == 1:
                raise
            first_error = first_error or error
            report.note_partial(file, f"skipped: {error.problem}")
            continue
        context = _context(root, file)
        for position, column in enumerate(CONTEXT_COLUMNS):
            frame.insert(position, column, context[column])
        parts.setdefault(metric, []).append(frame)
    if not parts:
        assert first_error is not None
        raise first_error
    for metric, frames in parts.items():
        table = pd.concat(frames, ignore_index=True)
        table["launch"] = table["launch"].astype("Int64")
        table["device"] = table["device"].astype("Int64")
        report.tables[metric] = table
    _fill_from_basic_info(report.tables)
    _warn_missing_blocks(report.tables, root, report)
    report.summary = launch_summary(report.tables)
    return report


def launch_summary(tables: dict[str, pd.DataFrame]) -> list[str]:
    """A line per operator launch (the first few): its type, duration and
    blocks from OpBasicInfo, and the GM bytes its blocks moved from Memory
    (in the tool's KB)."""
    basic = tables.get("OpBasicInfo")
    if basic is None or basic.empty:
        return []
    moved = _gm_kb_per_launch(tables.get("Memory"))
    durations = to_number(basic.get(DURATION, pd.Series(math.nan, index=basic.index)))
    shown = basic.head(SUMMARY_LAUNCHES).to_dict("records")
    lines = []
    for row, duration in zip(shown, durations.head(len(shown)), strict=True):
        line = f"{row.get('Op Name', row['op_name'])} ({row.get('Op Type', '?')}): "
        line += "duration not given" if math.isnan(duration) else f"{duration:.2f} µs"
        for label, column in (("block dim", "Block Dim"), ("mix block dim", "Mix Block Dim")):
            blocks = _number(row.get(column))
            if not math.isnan(blocks):
                line += f", {label} {int(blocks)}"
        if row["dir"] in moved:
            read_kb, write_kb = moved[row["dir"]]
            line += f"; GM {read_kb:.2f} KB read, {write_kb:.2f} KB written"
        lines.append(line)
    if len(basic) > len(shown):
        lines.append(
            f"... and {len(basic) - len(shown)} more launches "
            f"({len(basic)} in all, {durations.sum():.2f} µs together)"
        )
    return lines


def _gm_kb_per_launch(memory: pd.DataFrame | None) -> dict[str, tuple[float, float]]:
    """(read, written) KB of GM per launch folder: Memory's per-block rows summed."""
    if memory is None or not {READ_KB, WRITE_KB} <= set(memory.columns):
        return {}
    kb = pd.DataFrame(
        {
            "dir": memory["dir"],
            "read": to_number(memory[READ_KB]),
            "write": to_number(memory[WRITE_KB]),
        }
    )
    sums = kb.groupby("dir", sort=False)[["read", "write"]].sum()
    return {str(folder): (float(r), float(w)) for folder, r, w in sums.itertuples()}


def _number(value: object) -> float:
    """A cell as a number; NaN for NA or text."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
