"""Export a trace as Chrome trace-event JSON (Perfetto UI, chrome://tracing,
MindStudio Insight).

Layout: one process per core kind (host, AIV, AIC, AI Core) and one thread per
core; copies and computes are complete ("X") slices, on-chip occupancy is a
counter ("C") per core and space, findings are instant ("i") events, kernel
launches are slices on the host. Times are modelled microseconds.

The JSON text is built column-wise with Arrow string kernels, chunk by chunk
on a few threads (the kernels release the GIL), each chunk's lines joined in
one kernel call and written from the Arrow buffer in order: no Python object
per event, and a few chunks in memory whatever the trace size.
See docs/export-formats.md.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ubscope.analyzers import (
    CORE_KIND_LABELS,
    SPACE_LABELS,
    Analysis,
    TraceContext,
    core_label,
    finding_times,
)
from ubscope.probe.errors import InputError
from ubscope.probe.events import CoreKind, EventKind
from ubscope.probe.outputs import atomic_output
from ubscope.probe.version import __version__

CHUNK_EVENTS = 200_000
# Threads formatting chunks: Arrow's string kernels release the GIL.
WORKERS = min(4, os.cpu_count() or 1)
PROCESS_NAMES = {
    CoreKind.HOST: "host (kernel launches)",
    CoreKind.AIV: "AIV (vector cores)",
    CoreKind.AIC: "AIC (cube cores)",
    CoreKind.AICORE: "AI Core (coupled cube + vector)",
}
_CORE_SPAN = 1 << 16

# The pieces of one JSON text per row: text columns and constants, joined once.
Parts = list["pa.Array | str"]
Fields = Sequence[tuple[str, "Parts | pa.Array | str"]]
_MICROS = pa.decimal128(38, 6)


def _strings(values: np.ndarray | Sequence[int]) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values)), pa.string())


def _micros(picoseconds: np.ndarray) -> pa.Array:
    """Exact decimal microseconds (six places) from integer picoseconds: the
    picoseconds are the unscaled value of a decimal, so one cast prints them."""
    words = np.empty((len(picoseconds), 2), dtype=np.int64)
    words[:, 0] = picoseconds
    words[:, 1] = words[:, 0] >> 63  # the two's-complement high word
    return pc.cast(
        pa.Array.from_buffers(_MICROS, len(words), [None, pa.py_buffer(words)]), pa.string()
    )


def _quoted(escaped: pa.Array | str) -> Parts:
    if isinstance(escaped, str):
        return [json.dumps(escaped)]
    return ['"', escaped, '"']


def _object(fields: Fields) -> Parts:
    """One JSON object per row from (key, JSON-text pieces) pairs."""
    parts: Parts = ["{"]
    for index, (key, value) in enumerate(fields):
        parts.append(("," if index else "") + json.dumps(key) + ":")
        parts += value if isinstance(value, list) else [value]
    parts.append("}")
    return parts


def _joined(parts: Parts) -> list[pa.Array | str]:
    """``parts`` with neighbouring constants merged (fewer pieces to join)."""
    merged: list[pa.Array | str] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return merged


def _escaped_labels(labels: Iterable[str]) -> pa.Array:
    """Category strings JSON-escaped (without quotes), one per category."""
    return pa.array([json.dumps(str(label))[1:-1] for label in labels], type=pa.string())


def _lines(parts: Parts) -> pa.Array:
    """One line per row: ``,\\n`` and the row's JSON text, joined in one kernel call."""
    return pc.binary_join_element_wise(*_joined([",\n", *parts]), "")


def _write(handle: IO[bytes], lines: pa.Array) -> None:
    """The lines' text, written straight from the Arrow data buffer."""
    if not len(lines):
        return
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    begin, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    handle.write(memoryview(lines.buffers()[2])[begin:end])


def _objects(objects: list[dict]) -> pa.Array:
    return _lines([pa.array([json.dumps(o, separators=(",", ":")) for o in objects], pa.string())])


Job = Callable[[], pa.Array]
SLICE_COLUMNS = (
    "core_kind",
    "core",
    "seq",
    "addr",
    "flags",
    "src_space",
    "src_addr",
    "burst_len",
    "burst_count",
    "start_ps",
    "dur_ps",
)


def _in_order(jobs: Iterable[Job]) -> Iterator[pa.Array]:
    """The jobs' results in order, computed on WORKERS threads (Arrow's kernels
    release the GIL); at most WORKERS results wait, so memory stays a few chunks."""
    with ThreadPoolExecutor(WORKERS) as pool:
        pending: deque[Future[pa.Array]] = deque()
        for job in jobs:
            pending.append(pool.submit(job))
            if len(pending) > WORKERS:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class _Columns:
    """Escaped label tables of a context's string and enum columns."""

    def __init__(self, ctx: TraceContext):
        self.ctx = ctx
        self.tables = {c: _escaped_labels(ctx.labels(c)) for c in ("name", "tensor", "tag")}
        self.tables["space"] = _escaped_labels(SPACE_LABELS)

    def prefetch(self) -> None:
        """Compute (and so cache) in this thread everything :func:`_slices` reads."""
        for column in (*SLICE_COLUMNS, "name", "tensor", "tag", "space"):
            self.ctx.column(column)
        for kind in (EventKind.COPY, EventKind.COMPUTE):
            self.ctx.rows(kind)
        self.ctx.table.copies()
        self.ctx.table.computes()

    def text(self, column: str, rows: np.ndarray) -> pa.Array:
        return pc.take(
            self.tables[column], pa.array(self.ctx.column(column)[rows].astype(np.int64))
        )

    def pid_tid(self, rows: np.ndarray) -> tuple[pa.Array, pa.Array]:
        """Process (core kind + 1) and thread (core + 1) of each row, as JSON text."""
        kinds = self.ctx.column("core_kind")[rows].astype(np.int64)
        cores = self.ctx.column("core")[rows].astype(np.int64)
        return _strings(kinds + 1), _strings(cores + 1)


def _slices(columns: _Columns, rows: np.ndarray, kind: EventKind) -> Parts:
    """X events of COPY or COMPUTE rows."""
    ctx = columns.ctx
    pid, tid = columns.pid_tid(rows)
    number = {c: _strings(ctx.column(c)[rows]) for c in ("seq", "addr", "flags")}
    tag = _quoted(columns.text("tag", rows))
    if kind == EventKind.COPY:
        copies = ctx.table.copies()
        at = np.searchsorted(copies.rows, rows)
        tensor, buffer = columns.text("tensor", rows), columns.text("name", rows)
        target = pc.if_else(pc.equal(tensor, ""), buffer, tensor)
        source_space = pc.take(
            columns.tables["space"], pa.array(ctx.column("src_space")[rows].astype(np.int64))
        )
        name = ['"', source_space, "->", columns.text("space", rows), " ", target, '"']
        args = _object(
            [
                ("seq", number["seq"]),
                ("bytes", _strings(copies.requested_bytes[at])),
                ("moved", _strings(copies.bytes[at])),
                ("dst_addr", number["addr"]),
                ("src_addr", _strings(ctx.column("src_addr")[rows])),
                ("burst_len", _strings(ctx.column("burst_len")[rows])),
                ("bursts", _strings(ctx.column("burst_count")[rows])),
                ("buffer", _quoted(buffer)),
                ("tag", tag),
                ("flags", number["flags"]),
            ]
        )
    else:
        computes = ctx.table.computes()
        at = np.searchsorted(computes.rows, rows)
        name = _quoted(columns.text("name", rows))
        args = _object(
            [
                ("seq", number["seq"]),
                ("flops", _strings(computes.flops[at])),
                ("bytes", _strings(computes.bytes_accessed[at])),
                ("written", _strings(computes.bytes_written[at])),
                ("addr", number["addr"]),
                ("space", _quoted(columns.text("space", rows))),
                ("tag", tag),
                ("flags", number["flags"]),
            ]
        )
    start, duration = ctx.column("start_ps")[rows], ctx.column("dur_ps")[rows]
    return _object(
        [
            ("ph", '"X"'),
            ("cat", json.dumps(kind.label)),
            ("name", name),
            ("pid", pid),
            ("tid", tid),
            ("ts", _micros(start)),
            ("dur", _micros(duration)),
            ("args", args),
        ]
    )


def _slice_lines(columns: _Columns, rows: np.ndarray, kind: EventKind) -> pa.Array:
    return _lines(_slices(columns, rows, kind))


def _counters(ctx: TraceContext, core_kind: str, core: int, space: str) -> Iterator[Job]:
    """C events, in chunks: one core's live bytes in one space after every ALLOC/FREE."""
    frame = ctx.occupancy(core_kind, core, space)
    times, live = frame["t_ps"].to_numpy(), frame["live_bytes"].to_numpy()
    pid = CORE_KIND_LABELS.index(core_kind) + 1
    label = json.dumps(f"{core_label(core_kind, core)} {space}")

    def counter(part: slice) -> pa.Array:
        return _lines(
            _object(
                [
                    ("ph", '"C"'),
                    ("name", label),
                    ("pid", str(pid)),
                    ("tid", str(core + 1)),
                    ("ts", _micros(times[part])),
                    ("args", _object([("live_bytes", _strings(live[part]))])),
                ]
            )
        )

    for begin in range(0, len(frame), CHUNK_EVENTS):
        yield partial(counter, slice(begin, begin + CHUNK_EVENTS))


def _meta(name: str, pid: int, args: dict, tid: int | None = None) -> dict:
    event = {"ph": "M", "name": name, "pid": pid, "args": args}
    return event if tid is None else {**event, "tid": tid}


def _metadata(ctx: TraceContext) -> list[dict]:
    """Process and thread names (and sort order) for every core that has an event."""
    keys = ctx.column("core_kind").astype(np.int64) * _CORE_SPAN + ctx.column("core") + 1
    present = np.flatnonzero(np.bincount(keys)) if keys.size else np.zeros(0, np.int64)
    present = np.union1d(present, [int(CoreKind.HOST) * _CORE_SPAN])
    events: list[dict] = []
    for kind in sorted({int(key) // _CORE_SPAN for key in present}):
        events.append(_meta("process_name", kind + 1, {"name": PROCESS_NAMES[CoreKind(kind)]}))
        events.append(_meta("process_sort_index", kind + 1, {"sort_index": kind + 1}))
    for key in present:
        kind, tid = divmod(int(key), _CORE_SPAN)
        name = "launches" if kind == CoreKind.HOST else core_label(CORE_KIND_LABELS[kind], tid - 1)
        events.append(_meta("thread_name", kind + 1, {"name": name}, tid))
        events.append(_meta("thread_sort_index", kind + 1, {"sort_index": tid}, tid))
    return events


def _launches(ctx: TraceContext) -> list[dict]:
    return [
        {
            "ph": "X",
            "cat": "launch",
            "name": str(launch["name"]),
            "pid": 1,
            "tid": 0,
            "ts": launch["start_ps"] / 1e6,
            "dur": max(launch["end_ps"] - launch["start_ps"], 0) / 1e6,
            "args": {"mode": str(launch["mode"]), "block_dim": int(launch["block_dim"])},
        }
        for launch in ctx.launches.to_dict("records")
    ]


def _findings(analysis: Analysis, ctx: TraceContext) -> list[dict]:
    events = []
    for finding, t_ps in zip(analysis.findings, finding_times(ctx, analysis.findings), strict=True):
        location = finding.location
        core, core_kind = location.core, location.core_kind
        if core is not None and core_kind is not None and core_kind in CORE_KIND_LABELS:
            track = {"s": "t", "pid": CORE_KIND_LABELS.index(core_kind) + 1, "tid": core + 1}
        else:
            track = {"s": "g", "pid": 1, "tid": 0}
        event = {
            "ph": "i",
            "name": f"{finding.code} {finding.severity}",
            "cat": "finding",
            "ts": (t_ps or 0) / 1e6,
            **track,
            "args": {
                "message": finding.message,
                "location": location.describe(),
                "suggestion": finding.suggestion,
                "source": finding.source,
                "correlations": finding.correlations,
                "timed": t_ps is not None,
            },
        }
        events.append(event)
    return events


def write_perfetto(analysis: Analysis, path: str | os.PathLike[str]) -> Path:
    """Write the analysis' trace as Chrome trace-event JSON to ``path`` (atomically)."""
    ctx = analysis.context
    if ctx is None:
        raise InputError(path, "a Perfetto export needs a trace (.ubtrace), not only vendor output")
    target = Path(path)
    header = {
        "displayTimeUnit": "ns",
        "otherData": {
            "exporter": f"ubscope {__version__}",
            "trace": ctx.trace.path.name,
            "kernel": ctx.trace.kernel,
            "chip": ctx.chip.name,
            "time": "modelled device time",
        },
    }
    columns = _Columns(ctx)
    columns.prefetch()  # the workers then only read the context's caches
    with atomic_output(target, binary=True) as handle:
        handle.write((json.dumps(header)[:-1] + ',"traceEvents":[\n').encode())
        first = _metadata(ctx)  # never empty: the host process is always named
        handle.write(",\n".join(json.dumps(o, separators=(",", ":")) for o in first).encode())
        for lines in _in_order(_jobs(analysis, columns)):
            _write(handle, lines)
        handle.write(b"\n]}\n")
    return target


def _jobs(analysis: Analysis, columns: _Columns) -> Iterator[Job]:
    """The export after the metadata, one job per chunk of lines."""
    ctx = columns.ctx
    launches = _launches(ctx)
    if launches:
        yield partial(_objects, launches)
    for kind in (EventKind.COPY, EventKind.COMPUTE):
        rows = ctx.rows(kind)
        for begin in range(0, rows.size, CHUNK_EVENTS):
            chunk = rows[begin : begin + CHUNK_EVENTS]
            yield partial(_slice_lines, columns, chunk, kind)
    for peak in ctx.peaks.to_dict("records"):
        yield from _counters(ctx, str(peak["core_kind"]), int(peak["core"]), str(peak["space"]))
    findings = _findings(analysis, ctx)
    if findings:
        yield partial(_objects, findings)
