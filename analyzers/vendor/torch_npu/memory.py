"""Bounded-memory reductions for the big torch_npu memory files.

memory_record.csv and operator_memory.csv can hold tens of millions of rows;
each chunk is reduced to a few small frames (peaks, per-name aggregates,
lifetime histograms, a max envelope of the timeline) which are combined at
the end, so memory grows with the number of components and operator names,
not with rows. trace_view.json (an array of events, or an object with a ``traceEvents``
array) is streamed event by event for the same reason.
"""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from ubscope.analyzers.vendor.common import VendorReport, us_scalar_to_ns
from ubscope.probe.errors import VendorFormatError
from ubscope.probe.units import format_bytes

MAX_TIMELINE_ROWS = 200_000
TOP_BLOCKS = 100
# Upper edges (µs) of the block-lifetime histogram: a 1-2-5 series, 1 µs .. 100 s.
LIFETIME_EDGES_US = [m * 10**e for e in range(9) for m in (1, 2, 5)][:25]
_LIFETIME_EDGES_NS = np.array(LIFETIME_EDGES_US, dtype=np.int64) * 1000
KEYS = ["component", "device"]
OPERATOR_KEYS = ["name", "device"]


def _dtype(column: str) -> str:
    """Column dtype by naming convention, for the empty tables of empty files."""
    if column.endswith(("_mb", "_kb", "_us")):
        return "float64"
    if column.endswith("_ns") or column in ("rows", "allocations", "released", "blocks", "bucket"):
        return "int64"
    return "str"


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if parts:
        return pd.concat(parts, ignore_index=True)
    return pd.DataFrame({column: pd.Series(dtype=_dtype(column)) for column in columns})


class RecordReducer:
    """memory_record rows -> timeline envelope + per-component peak summary.

    The timeline keeps every row unless the file is estimated to exceed
    MAX_TIMELINE_ROWS; then each run of ``stride`` consecutive rows of one
    component becomes one row (first timestamp, maximum values), so peaks
    survive the downsampling.
    """

    def __init__(self, estimated_rows: int):
        self.stride = max(1, -(-estimated_rows // MAX_TIMELINE_ROWS))
        self.timeline: list[pd.DataFrame] = []
        self.stats: list[pd.DataFrame] = []
        self.peaks: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        frame = frame.assign(ts_ns=frame["ts_ns"].astype("int64"))
        groups = frame.groupby(KEYS, sort=False)
        self.stats.append(
            groups.agg(
                rows=("ts_ns", "size"),
                first_ns=("ts_ns", "min"),
                last_ns=("ts_ns", "max"),
                peak_allocated_mb=("allocated_mb", "max"),
            ).reset_index()
        )
        at_peak = frame[frame["reserved_mb"] == groups["reserved_mb"].transform("max")]
        self.peaks.append(self._peaks(at_peak))
        self.timeline.append(self._envelope(frame))

    @staticmethod
    def _peaks(rows: pd.DataFrame) -> pd.DataFrame:
        """Highest reserved, and the most allocated while reserved was there."""
        return (
            rows.groupby(KEYS, sort=False)
            .agg(
                peak_reserved_mb=("reserved_mb", "max"),
                allocated_at_peak_mb=("allocated_mb", "max"),
                peak_reserved_ns=("ts_ns", "min"),
            )
            .reset_index()
        )

    def _envelope(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.stride == 1:
            return frame
        run = (frame.groupby(KEYS, sort=False).cumcount() // self.stride).rename("run")
        return (
            frame.groupby([frame["component"], frame["device"], run], sort=False)
            .agg(
                ts_ns=("ts_ns", "first"),
                allocated_mb=("allocated_mb", "max"),
                reserved_mb=("reserved_mb", "max"),
                active_mb=("active_mb", "max"),
            )
            .reset_index()
            .drop(columns="run")
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        columns = [*KEYS, "ts_ns", "allocated_mb", "reserved_mb", "active_mb"]
        timeline = _concat(self.timeline, columns)[columns]
        timeline = timeline.sort_values("ts_ns", kind="stable", ignore_index=True)
        timeline = timeline.astype({"component": "category", "device": "category"})
        stats = _concat(self.stats, [*KEYS, "rows", "first_ns", "last_ns", "peak_allocated_mb"])
        stats = (
            stats.groupby(KEYS, sort=False)
            .agg(
                rows=("rows", "sum"),
                first_ns=("first_ns", "min"),
                last_ns=("last_ns", "max"),
                peak_allocated_mb=("peak_allocated_mb", "max"),
            )
            .reset_index()
        )
        peaks = _concat(
            self.peaks, [*KEYS, "peak_reserved_mb", "allocated_at_peak_mb", "peak_reserved_ns"]
        )
        best = peaks.groupby(KEYS, sort=False)["peak_reserved_mb"].transform("max")
        peaks = self._peaks(
            peaks[peaks["peak_reserved_mb"] == best].rename(
                columns={
                    "peak_reserved_mb": "reserved_mb",
                    "allocated_at_peak_mb": "allocated_mb",
                    "peak_reserved_ns": "ts_ns",
                }
            )
        )
        summary = stats.merge(peaks, on=KEYS, how="left")
        summary["downsample_stride"] = self.stride
        return {"memory_record": timeline, "memory_record_summary": summary}


class OperatorMemoryReducer:
    """operator_memory rows -> largest blocks, per-operator totals, lifetime histogram."""

    def __init__(self) -> None:
        self.top: list[pd.DataFrame] = []
        self.by_name: list[pd.DataFrame] = []
        self.lifetimes: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        frame = frame.assign(alloc_ns=frame["alloc_ns"].astype("int64"))
        self.top.append(frame.nlargest(TOP_BLOCKS, "size_kb"))
        blocks = frame[frame["size_kb"] > 0]
        released = blocks["lifetime_ns"].notna()
        self.by_name.append(
            blocks.assign(released=released)
            .groupby(OPERATOR_KEYS, sort=False)
            .agg(
                allocations=("size_kb", "size"),
                released=("released", "sum"),
                total_kb=("size_kb", "sum"),
                max_kb=("size_kb", "max"),
                first_alloc_ns=("alloc_ns", "min"),
                last_alloc_ns=("alloc_ns", "max"),
            )
            .reset_index()
        )
        lived = blocks[released]
        bucket = np.searchsorted(
            _LIFETIME_EDGES_NS, lived["lifetime_ns"].to_numpy(dtype=np.int64), side="right"
        )
        self.lifetimes.append(
            lived.assign(bucket=bucket)
            .groupby(["name", "bucket"], sort=False)
            .size()
            .rename("blocks")
            .reset_index()
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        columns = [
            "name",
            "device",
            "size_kb",
            "alloc_ns",
            "lifetime_ns",
            "alloc_allocated_mb",
            "alloc_reserved_mb",
            "release_allocated_mb",
            "release_reserved_mb",
        ]
        top = (
            _concat(self.top, columns)[columns]
            .nlargest(TOP_BLOCKS, "size_kb")
            .reset_index(drop=True)
        )
        top.insert(4, "release_ns", (top["alloc_ns"] + top["lifetime_ns"]).astype("Int64"))
        by_name = _concat(
            self.by_name,
            [
                *OPERATOR_KEYS,
                "allocations",
                "released",
                "total_kb",
                "max_kb",
                "first_alloc_ns",
                "last_alloc_ns",
            ],
        )
        by_name = (
            by_name.groupby(OPERATOR_KEYS, sort=False)
            .agg(
                allocations=("allocations", "sum"),
                released=("released", "sum"),
                total_kb=("total_kb", "sum"),
                max_kb=("max_kb", "max"),
                first_alloc_ns=("first_alloc_ns", "min"),
                last_alloc_ns=("last_alloc_ns", "max"),
            )
            .reset_index()
            .sort_values("total_kb", ascending=False, ignore_index=True)
        )
        lifetimes = _concat(self.lifetimes, ["name", "bucket", "blocks"])
        lifetimes = lifetimes.groupby(["name", "bucket"], sort=True)["blocks"].sum().reset_index()
        edges = np.array([*LIFETIME_EDGES_US, np.inf], dtype=np.float64)
        lifetimes.insert(
            1, "lifetime_below_us", edges[lifetimes["bucket"].to_numpy(dtype=np.int64)]
        )
        return {
            "operator_memory_top": top,
            "operator_memory_by_name": by_name,
            "operator_memory_lifetimes": lifetimes.drop(columns="bucket"),
        }


READ_BYTES = 1 << 20
# One event (or one other member of a trace object) decoded at a time: 1 MiB of
# JSON text is at most ~350,000 Python objects; real events are under 1 KiB.
MAX_EVENT_CHARS = 1 << 20
_SPACE = re.compile(r"[ \t\r\n]*")


class _JsonArrayStream:
    """The elements of a top-level JSON array (or of the ``traceEvents`` array
    of a top-level object), decoded one at a time."""

    def __init__(self, handle: BinaryIO):
        self.handle = handle
        self.utf8 = codecs.getincrementaldecoder("utf-8")()
        self.json = json.JSONDecoder()
        self.text = ""
        self.pos = 0
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self.handle.read(READ_BYTES)
        self.eof = not data
        self.text = self.text[self.pos :] + self.utf8.decode(data, final=self.eof)
        self.pos = 0
        return True

    def _peek(self) -> str | None:
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self._fill():
                return None

    def _value(self) -> Any:
        while True:
            try:
                value, end = self.json.raw_decode(self.text, self.pos)
                if end < len(self.text) or self.eof:
                    self.pos = end
                    return value
            except json.JSONDecodeError:
                if self.eof:
                    raise
            except RecursionError:
                raise ValueError("JSON nested too deeply") from None
            if len(self.text) - self.pos > MAX_EVENT_CHARS:
                raise ValueError(f"an event longer than {MAX_EVENT_CHARS >> 20} MiB")
            self._fill()

    def _expect(self, chars: str, what: str) -> str:
        found = self._peek()
        if found is None or found not in chars:
            raise ValueError(f"expected {what}")
        self.pos += 1
        return found

    def events(self) -> Any:
        """The trace events; other members of a trace object are decoded and dropped."""
        if self._peek() != "{":
            yield from self.items()
            return
        self.pos += 1
        found = False
        while self._peek() != "}":
            name = self._value()
            self._expect(":", "':' after a member name")
            if self._peek() == "[" and name == "traceEvents":  # _peek skips blanks first
                found = True
                yield from self.items()
            else:
                self._value()
            if self._expect(",}", "',' or '}' between members") == "}":
                break
        if not found:
            raise ValueError("expected a traceEvents array")

    def items(self) -> Any:
        self._expect("[", "a JSON array of trace events")
        if self._peek() == "]":
            self.pos += 1
            return
        while True:
            self._peek()
            yield self._value()
            if self._expect(",]", "',' or ']' between events") == "]":
                return


def _events(path: Path) -> Any:
    """Trace events, streamed from an array or a ``traceEvents`` object."""
    with open(path, "rb") as handle:
        yield from _JsonArrayStream(handle).events()


def trace_memory_counters(path: Path, report: VendorReport) -> pd.DataFrame:
    """The ``NPU MEM`` counters (``APP/HBM`` ... with ``args: {"KB": v}``) of a trace."""
    rows: dict[str, list[Any]] = {"name": [], "pid": [], "ts_ns": [], "kb": []}
    processes: dict[Any, str] = {}
    count = 0
    try:
        for event in _events(path):
            count += 1
            if not isinstance(event, dict) or not isinstance(args := event.get("args"), dict):
                continue
            if event.get("ph") == "M" and event.get("name") == "process_name":
                processes[event.get("pid")] = str(args.get("name"))
            elif event.get("ph") == "C" and isinstance(kb := args.get("KB"), (int, float)):
                ts_ns = us_scalar_to_ns(event.get("ts"))
                if ts_ns is not None:
                    rows["name"].append(str(event.get("name")))
                    rows["pid"].append(
                        event.get("pid") if isinstance(event.get("pid"), int) else None
                    )
                    rows["ts_ns"].append(ts_ns)
                    rows["kb"].append(float(kb))
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        if count == 0:
            raise VendorFormatError(path, f"expected a Chrome-trace JSON array ({exc})") from None
        report.note_partial(path, f"stopped after {count:,} events: {exc}")
    table = pd.DataFrame(rows).astype({"pid": "Int64", "ts_ns": "int64", "kb": "float64"})
    table.insert(1, "process", table["pid"].map(processes).astype("str"))
    return table


# The caching allocator's component in memory_record.csv (torch_npu's own).
CACHING_ALLOCATOR = "PTA"
SUMMARY_DEVICES = 3


def mib_text(value_mb: float | None) -> str:
    """A size in torch_npu's "MB" columns, which are MiB (the reader takes 1 MB
    as 1024 KB), as the cluster table and findings write it: ``1300`` -> ``1.3 GiB``."""
    return "-" if value_mb is None or pd.isna(value_mb) else format_bytes(value_mb * (1 << 20))


def allocator_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """The caching allocator's rows of a ``memory_record_summary`` (every
    component's when the file has none of them)."""
    rows = summary[summary["component"] == CACHING_ALLOCATOR]
    return rows if not rows.empty else summary


def highest_peak(rows: pd.DataFrame) -> pd.Series:
    """The row of ``memory_record_summary`` rows with the most reserved memory
    (its ``allocated_at_peak_mb`` belongs to that peak)."""
    return rows.sort_values("peak_reserved_mb", ascending=False).iloc[0]


def memory_summary(tables: dict[str, pd.DataFrame]) -> list[str]:
    """A line per device (the first few): the caching allocator's peak reserved
    memory and the most allocated at it, and the largest block an operator
    allocated (operator_memory)."""
    summary = tables.get("memory_record_summary")
    by_name = tables.get("operator_memory_by_name")
    if summary is None or summary.empty:
        return []
    lines = []
    rows = allocator_rows(summary).dropna(subset=["peak_reserved_mb"])
    for device, peaks in list(rows.groupby("device", sort=True))[:SUMMARY_DEVICES]:
        at_peak = highest_peak(peaks)
        line = (
            f"{device}: {_component_name(at_peak['component'])} peak "
            f"{mib_text(at_peak['peak_reserved_mb'])} reserved, "
            f"{mib_text(at_peak['allocated_at_peak_mb'])} of it allocated"
        )
        if by_name is not None and len(by_name):
            mine = by_name[by_name["device"] == device]
            if len(mine):
                largest = mine.sort_values("max_kb").iloc[-1]
                line += (
                    f"; largest operator block {mib_text(largest['max_kb'] / 1024)} "
                    f"({largest['name']})"
                )
        lines.append(line)
    return lines


def _component_name(component: object) -> str:
    return "caching allocator (PTA)" if component == CACHING_ALLOCATOR else f"{component}"
