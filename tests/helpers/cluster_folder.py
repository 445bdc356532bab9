"""A cluster profile made from the real torch_npu rank folder: one copy per
rank, with the memory columns of memory_record.csv scaled per rank so that the
ranks' peaks (and the outlier) are known by hand."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

MEMORY_COLUMNS = ("Total Allocated(MB)", "Total Reserved(MB)", "Total Active(MB)")
SAMPLE_RANK = "torch_npu_level1_rank0"


def allocator_peaks(memory_record: Path) -> tuple[float, float]:
    """(peak allocated, peak reserved) MB of the PTA rows, read with the csv module."""
    with open(memory_record, newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Component"] == "PTA"]
    return (
        max(float(row["Total Allocated(MB)"]) for row in rows if row["Total Allocated(MB)"]),
        max(float(row["Total Reserved(MB)"]) for row in rows if row["Total Reserved(MB)"]),
    )


def make_cluster(vendor_samples: Path, root: Path, scales: list[float]) -> Path:
    """``root/host<i>_ascend_pt`` for each scale: the sample rank renamed to rank
    ``i`` (profiler_info_<i>.json) with its memory_record MB columns times the scale."""
    sample = vendor_samples / SAMPLE_RANK
    for rank, scale in enumerate(scales):
        folder = root / f"host{rank}_ascend_pt"
        shutil.copytree(sample, folder)
        for path in folder.iterdir():
            path.chmod(0o644)  # the shared samples are read-only
        (folder / "profiler_info_0.json").rename(folder / f"profiler_info_{rank}.json")
        _scale_memory(folder / "memory_record.csv", scale)
    return root


def _scale_memory(path: Path, scale: float) -> None:
    # The file's CRLF line ends and the TAB after each timestamp are kept.
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    columns = [header.index(name) for name in MEMORY_COLUMNS]
    for row in rows[1:]:
        for column in columns:
            if row[column]:
                row[column] = repr(float(row[column]) * scale)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)


MEMORY_RECORD_HEADER = (
    "Component,Timestamp(us),Total Allocated(MB),Total Reserved(MB),"
    "Total Active(MB),Stream Ptr,Device Type\r\n"
)


def make_small_cluster(root: Path, peaks: list[float]) -> Path:
    """``root/node0_<i>_ascend_pt`` for each peak, as docs/cluster.md's example
    writes them: rank ``i``'s caching allocator reserves half its peak, then the
    peak (0.8 of it allocated), then 0.7 of it; nothing else in the folder."""
    for rank, peak in enumerate(peaks):
        folder = root / f"node0_{rank}_ascend_pt"
        (folder / "ASCEND_PROFILER_OUTPUT").mkdir(parents=True)
        (folder / f"profiler_info_{rank}.json").write_text("{}")
        rows = "".join(
            f"PTA,{1736408883573957 + step * 20000}.920\t,{0.8 * peak * share!r},"
            f"{peak * share!r},{0.8 * peak * share!r},0,NPU:{rank}\r\n"
            for step, share in enumerate([0.5, 1.0, 0.7])
        )
        memory_record = folder / "ASCEND_PROFILER_OUTPUT" / "memory_record.csv"
        memory_record.write_text(MEMORY_RECORD_HEADER + rows, newline="")
    return root
