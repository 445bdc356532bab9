"""Cluster profiles: a folder of many ``*_ascend_pt`` rank folders, one per rank
of a distributed torch_npu job.

Each rank is read on its own (:func:`read_rank`, a module-level function so
that worker processes or Ray tasks can run it); :func:`cluster_report` then
reduces the ranks' ``memory_record_summary`` tables to one row per rank in a
``cluster_ranks`` table: the caching allocator's peak allocated and peak
reserved memory, the allocated memory at the reserved peak, the gap between
them, and how far the rank's peak reserved sits from the cluster's median.
The ``TNPU004``/``TNPU005`` rules read that table.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ubscope.analyzers.vendor.common import VendorReport
from ubscope.analyzers.vendor.torch_npu.memory import allocator_rows, highest_peak
from ubscope.analyzers.vendor.torch_npu.reader import TORCH_NPU, read_torch_npu
from ubscope.probe.errors import PartialReadWarning

CLUSTER_TABLE = "cluster_ranks"
RANK_SUFFIX = "_ascend_pt"
# torch_npu names the rank in the file it writes at the top of each rank folder.
_RANK_FILE = re.compile(r"profiler_info_(\d+)\.json")
CLUSTER_COLUMNS = (
    "rank",
    "folder",
    "device",
    "peak_allocated_mb",
    "peak_reserved_mb",
    "allocated_at_peak_mb",
    "gap_mb",
    "vs_median",
)


def rank_folders(root: str | os.PathLike[str]) -> list[Path]:
    """The ``*_ascend_pt`` folders directly in ``root`` when there are several
    (a cluster profile), else an empty list (one rank, read as usual)."""
    folder = Path(root)
    if not folder.is_dir():
        return []
    try:
        found = sorted(p for p in folder.iterdir() if p.is_dir() and p.name.endswith(RANK_SUFFIX))
    except OSError:
        return []
    return found if len(found) > 1 else []


def rank_label(folder: str | os.PathLike[str]) -> str:
    """``rank 3`` from the folder's ``profiler_info_3.json``, else the folder's name."""
    path = Path(folder)
    try:
        names = [p.name for p in path.iterdir()]
    except OSError:
        names = []
    ranks = sorted(int(m.group(1)) for name in names if (m := _RANK_FILE.fullmatch(name)))
    return f"rank {ranks[0]}" if ranks else path.name


def read_rank(folder: str) -> VendorReport:
    """One rank folder read as torch_npu output (a worker task). Its partial
    reads are in ``report.warnings``, not printed by the worker."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PartialReadWarning)
        return read_torch_npu(folder)


def _rank_row(report: VendorReport) -> dict[str, object]:
    summary = report.tables.get("memory_record_summary")
    rows = allocator_rows(summary) if summary is not None else pd.DataFrame()
    row: dict[str, object] = {
        "rank": rank_label(report.path),
        "folder": Path(report.path).name,
        "device": ", ".join(sorted({str(d) for d in rows.get("device", [])})) or "unknown",
    }
    if rows.empty or rows["peak_reserved_mb"].isna().all():
        return {**row, "peak_allocated_mb": None, "peak_reserved_mb": None}
    at_peak = highest_peak(rows)
    return {
        **row,
        "peak_allocated_mb": rows["peak_allocated_mb"].max(),
        "peak_reserved_mb": float(at_peak["peak_reserved_mb"]),
        "allocated_at_peak_mb": at_peak["allocated_at_peak_mb"],
    }


def cluster_report(root: str | os.PathLike[str], ranks: Sequence[VendorReport]) -> VendorReport:
    """The cluster's report: its ``cluster_ranks`` table (one row per rank with
    memory figures, largest peak reserved first) and a warning per rank without them."""
    report = VendorReport(tool=TORCH_NPU, path=os.fspath(root))
    rows = [_rank_row(rank) for rank in ranks]
    table = pd.DataFrame(rows, columns=list(CLUSTER_COLUMNS)).astype(
        {column: "float64" for column in CLUSTER_COLUMNS[3:]}
    )
    for missing in table.loc[table["peak_reserved_mb"].isna(), "folder"]:
        report.warnings.append(f"{Path(root) / missing}: no memory_record figures for this rank")
    table = table.dropna(subset=["peak_reserved_mb"])
    table["gap_mb"] = table["peak_reserved_mb"] - table["allocated_at_peak_mb"]
    table["vs_median"] = _vs_median(table["peak_reserved_mb"])
    report.tables[CLUSTER_TABLE] = table.sort_values(
        ["peak_reserved_mb", "rank"], ascending=[False, True], ignore_index=True
    )
    return report


def _vs_median(reserved: pd.Series) -> pd.Series:
    """Each rank's peak reserved against the median, as a share (0.25: 25 % above).
    A rank at a median of 0 B sits 0 % from it; one above it sits no finite share
    above it (NaN: "-" in tables, null in JSON; TNPU004 still flags it)."""
    median = reserved.median()
    if median:
        return reserved / median - 1
    return pd.Series(float("nan"), index=reserved.index).mask(reserved == median, 0.0)


@dataclass(frozen=True)
class RankMemory:
    """One rank's row of the cluster view (MiB, as torch_npu's MB columns)."""

    rank: str
    folder: str
    device: str
    peak_allocated_mb: float | None
    peak_reserved_mb: float
    allocated_at_peak_mb: float | None
    gap_mb: float | None
    vs_median: float | None  # 0.25: 25 % above the median; None: above a median of 0 B

    @property
    def vs_median_text(self) -> str:
        """``+28.7%`` as the tables write it; ``-`` above a median of 0 B."""
        return "-" if self.vs_median is None else f"{self.vs_median:+.1%}"


@dataclass(frozen=True)
class ClusterView:
    """The ranks of a cluster profile, largest peak reserved first."""

    path: str
    ranks: tuple[RankMemory, ...]

    @property
    def median_reserved_mb(self) -> float:
        return float(pd.Series([r.peak_reserved_mb for r in self.ranks]).median())


def _number(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def cluster_view(reports: Sequence[VendorReport]) -> ClusterView | None:
    """The cluster view among ``reports`` (an analysis's vendor reports), if any."""
    for report in reports:
        table = report.tables.get(CLUSTER_TABLE)
        if table is None:
            continue
        ranks = tuple(
            RankMemory(
                rank=str(row["rank"]),
                folder=str(row["folder"]),
                device=str(row["device"]),
                peak_allocated_mb=_number(row["peak_allocated_mb"]),
                peak_reserved_mb=float(row["peak_reserved_mb"]),
                allocated_at_peak_mb=_number(row["allocated_at_peak_mb"]),
                gap_mb=_number(row["gap_mb"]),
                vs_median=_number(row["vs_median"]),
            )
            for row in table.to_dict("records")
        )
        return ClusterView(report.path, ranks)
    return None
