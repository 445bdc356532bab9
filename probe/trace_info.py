"""What ``ubscope trace info`` prints, read in one pass over the batches.

The trace is validated batch by batch as :func:`read_trace` does, but no
column is kept: the counts of each kind, the launches and the modelled time
are running totals, so memory stays bounded by one batch at any trace size.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa

from ubscope.probe.device_fault import METADATA_FIELD as DEVICE_FAULT_FIELD
from ubscope.probe.device_fault import DeviceFault
from ubscope.probe.events import EventKind, enum_labels
from ubscope.probe.text import printable_path
from ubscope.probe.trace import scan_trace
from ubscope.probe.units import format_time_ps

_KIND_LABELS = enum_labels(EventKind)


class RunningCounts:
    """Kinds, launches and modelled time of the batches seen so far.

    A launch is closed by the last ``kernel_end`` before the next
    ``kernel_begin`` (as :meth:`EventTable.launches` pairs them), so only the
    latest launch can still change; the earlier ones are summed as they close.
    """

    def __init__(self) -> None:
        self.kinds = np.zeros(len(_KIND_LABELS), dtype=np.int64)
        self.launch_names: Counter[str] = Counter()  # in the order first launched
        self.modelled_end_ps = 0
        self._closed_ps = 0  # summed length of the launches their kernel_end closed
        self._open = 0  # launches without a kernel_end (a truncated trace)
        self._open_start_ps = 0  # their summed start_ps
        self._latest: tuple[int, int] | None = None  # (start_ps, end_ps or -1)

    def add(self, batch: pa.RecordBatch) -> None:
        kind = enum_values(batch_column(batch, "kind"), _KIND_LABELS)
        self.kinds += np.bincount(kind, minlength=self.kinds.size)
        if not kind.size:
            return
        start = batch_column(batch, "start_ps").to_numpy()
        dur = batch_column(batch, "dur_ps").to_numpy()
        is_end = kind == EventKind.KERNEL_END
        # a kernel_end sits at its launch's end; its dur_ps is the launch's length
        reach = int(np.where(is_end, start, start + dur).max())
        self.modelled_end_ps = max(self.modelled_end_ps, reach)
        begins = np.flatnonzero(kind == EventKind.KERNEL_BEGIN)
        self._count_names(batch, begins)
        self._pair(begins, np.flatnonzero(is_end), start)

    def _pair(self, begins: np.ndarray, ends: np.ndarray, start: np.ndarray) -> None:
        # the launch each end closes: the batch's last begin before it (-1: the
        # latest launch of an earlier batch); of several ends, the last counts
        slot = np.searchsorted(begins, ends) - 1
        last = np.r_[slot[1:] != slot[:-1], True] if slot.size else np.zeros(0, bool)
        slot, end_ps = slot[last], start[ends[last]]
        if slot.size and slot[0] < 0 and self._latest is not None:
            self._latest = (self._latest[0], int(end_ps[0]))
        if not begins.size:
            return
        launch_end = np.full(begins.size, -1, dtype=np.int64)
        launch_end[slot[slot >= 0]] = end_ps[slot >= 0]
        self._close_latest()
        launch_start = start[begins]
        closed = launch_end[:-1] >= 0
        self._closed_ps += int((launch_end[:-1][closed] - launch_start[:-1][closed]).sum())
        self._open += int((~closed).sum())
        self._open_start_ps += int(launch_start[:-1][~closed].sum())
        self._latest = (int(launch_start[-1]), int(launch_end[-1]))

    def _count_names(self, batch: pa.RecordBatch, begins: np.ndarray) -> None:
        if begins.size:
            names = batch_column(batch, "name")
            self.launch_names.update(names.take(pa.array(begins)).dictionary_decode().to_pylist())

    def _close_latest(self) -> None:
        if self._latest is not None:
            begin_ps, end_ps = self._latest
            if end_ps < 0:
                self._open += 1
                self._open_start_ps += begin_ps
            else:
                self._closed_ps += end_ps - begin_ps
            self._latest = None

    def modelled_time_ps(self) -> int:
        """Sum of the launches' lengths; a launch cut short by a truncated trace
        ends at the latest modelled time any event reaches."""
        self._close_latest()
        return self._closed_ps + self._open * self.modelled_end_ps - self._open_start_ps


def batch_column(batch: pa.RecordBatch, name: str) -> Any:
    return batch.column(batch.schema.get_field_index(name))


def enum_values(array: pa.DictionaryArray, labels: list[str]) -> np.ndarray:
    """The enum values of a validated enumeration column. Only the entries the
    rows use were validated: a hand-made dictionary may hold others."""
    value = {label: number for number, label in enumerate(labels)}
    indices = array.indices.to_numpy()
    used = np.flatnonzero(np.bincount(indices, minlength=len(array.dictionary)))
    table = np.zeros(len(array.dictionary), dtype=np.int8)
    table[used] = [value[label] for label in array.dictionary.take(pa.array(used)).to_pylist()]
    return table[indices]


def _device_fault(fault: object, truncated: bool) -> str:
    if fault is not None:
        return DeviceFault.from_metadata(fault).describe()
    # the recorder notes a fault in the metadata at the trace's end
    return "unknown: the trace ends before its metadata would say" if truncated else "none"


def summarize_trace(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Metadata, event counts and modelled time of the trace at ``path``, read
    batch by batch (a truncated trace warns and is summarized as far as it
    reads; a corrupt one is a TraceError, as for :func:`read_trace`)."""
    counts = RunningCounts()
    scan = scan_trace(path, columns=[], each_batch=counts.add)
    meta = scan.meta
    fault = meta.get(DEVICE_FAULT_FIELD)
    shown = scan.decoder.labels("name")
    # most frequent first; ties in enum order (as pandas' value_counts orders them)
    order = sorted(range(counts.kinds.size), key=lambda kind: -counts.kinds[kind])
    return {
        "file": printable_path(scan.path),
        "state": "complete" if not scan.problems else f"truncated ({'; '.join(scan.problems)})",
        "device_fault": _device_fault(fault, truncated=bool(scan.problems)),
        "schema_version": meta.get("schema_version"),
        "ubscope_version": meta.get("ubscope_version"),
        "chip": meta.get("chip", {}).get("name"),
        "kernel": str(meta.get("kernel", "?")),
        "preset": meta.get("preset") or "-",
        "params": dict(meta.get("params", {})),
        "recorded": meta.get("start_time"),
        "host": meta.get("host", {}).get("hostname"),
        "command": " ".join(meta.get("command", [])),
        "events": scan.decoder.rows,
        "modelled_time": format_time_ps(counts.modelled_time_ps()),
        "launches": {shown[name]: count for name, count in counts.launch_names.items()},
        "event_counts": {
            _KIND_LABELS[kind]: int(counts.kinds[kind]) for kind in order if counts.kinds[kind]
        },
    }
