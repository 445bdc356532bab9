"""Export a trace as Chrome trace-event JSON (Perfetto UI, chrome://tracing,
MindStudio Insight).

Layout: one process per core kind (host, AIV, AIC, AI Core) and one thread per
core; copies and computes are complete ("X") slices, on-chip occupancy is a
counter ("C") per core and space, findings are instant ("i") events, kernel
launches are slices on the host. Times are modelled microseconds.

The JSON text is built column-wise with Arrow string kernels, chunk by chunk
on a few threads (the kernels release the GIL), each chunk's lines joined in
one kernel call and written from the Arrow buffer in order: no Python object
per event, and a few chunks in memory whatever the trace size. Columns that
repeat within a chunk (core, spaces, names, tag, sizes, flags) are printed
once per distinct combination, with the constant text around them, and taken
by code: only times, sequence numbers and addresses are printed row by row.
The output goes to disk as it is written, so the page cache holds a few
chunks too. A trace bigger than memory is exported in the streamed analysis'
one pass: each chunk of batches decoded on its own and printed by the same
code. See docs/export-formats.md.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from threading import Event
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ubscope.analyzers import (
    CORE_KIND_LABELS,
    SPACE_LABELS,
    Analysis,
    BatchPoints,
    Config,
    TraceContext,
    analyze_path,
    analyze_streamed,
    core_label,
    finding_times,
    small_codes,
    streamed_chip,
    streams,
)
from ubscope.probe.chip import ChipProfile
from ubscope.probe.errors import InputError
from ubscope.probe.events import CoreKind, EventKind
from ubscope.probe.outputs import atomic_output, release_written
from ubscope.probe.trace import Trace, batch_trace, read_metadata
from ubscope.probe.version import __version__

CHUNK_EVENTS = 200_000
# Events of a streamed export formatted together: two of the recorder's
# batches. A chunk in flight holds ~0.5 KB per event (its events decoded, their
# text); at 10 M events chunks of four batches took 1.0 GB peak RSS against
# 0.54 GB for two, for 13 % less time, one batch each 0.46 GB and 18 % more.
STREAM_CHUNK_EVENTS = 131_072
# Threads formatting chunks: Arrow's string kernels release the GIL.
WORKERS = min(4, os.cpu_count() or 1)
PROCESS_NAMES = {
    CoreKind.HOST: "host (kernel launches)",
    CoreKind.AIV: "AIV (vector cores)",
    CoreKind.AIC: "AIC (cube cores)",
    CoreKind.AICORE: "AI Core (coupled cube + vector)",
}
_CORE_SPAN = 1 << 16
# Bytes written between two trips of the output to disk (release_written).
RELEASE_BYTES = 64 << 20
_MICROS = pa.decimal128(38, 6)
# The kernels allocate from glibc's heap, not Arrow's default pool (mimalloc):
# mimalloc hands each freed chunk back to the OS and the next chunk faults it in
# again, zeroing every page (at 2 M events: 1.0 s of system time, 0.5 s so);
# glibc keeps it, as the analysis raised its thresholds (heap.reuse_large_blocks).
_POOL = pa.system_memory_pool()
# How columns are told apart as repetitive: distinct values among SAMPLE rows of
# a chunk at most SAMPLE // 4 (then a chunk has few distinct combinations).
SAMPLE = 2048
# Values spanning more than this are numbered by hashing before being combined.
_DENSE_SPAN = 1 << 20
# Combination keys whose bound is at most 4 per row plus this slack are numbered
# with a table instead of hashing: a chunk's and a sample's (SAMPLE rows) mostly.
_TABLE_SLACK = 1 << 12


def _strings(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string(), memory_pool=_POOL)


def _micros(picoseconds: np.ndarray) -> pa.Array:
    """Exact decimal microseconds (six places) from integer picoseconds: the
    picoseconds are the unscaled value of a decimal, so one cast prints them."""
    words = np.empty((len(picoseconds), 2), dtype=np.int64)
    words[:, 0] = picoseconds
    words[:, 1] = words[:, 0] >> 63  # the two's-complement high word
    return pc.cast(
        pa.Array.from_buffers(_MICROS, len(words), [None, pa.py_buffer(words)]),
        pa.string(),
        memory_pool=_POOL,
    )


def _plus_one(values: np.ndarray) -> pa.Array:
    return _strings(values.astype(np.int64) + 1)


@dataclass(frozen=True)
class Column:
    """One integer per row of a chunk and how to print them as JSON text
    (``text`` takes any subset of ``values``)."""

    values: np.ndarray
    text: Callable[[np.ndarray], pa.Array] = _strings


def _label(table: pa.Array, codes: np.ndarray) -> Column:
    """Codes into a table of escaped strings."""
    return Column(codes, lambda subset: pc.take(table, subset.astype(np.int64), memory_pool=_POOL))


# A row's JSON text in order: constants and columns.
Pieces = list["str | Column"]
Fields = Sequence[tuple[str, "Pieces | Column | str"]]


def _quoted(value: Column | str) -> Pieces:
    if isinstance(value, str):
        return [json.dumps(value)]
    return ['"', value, '"']


def _object(fields: Fields) -> Pieces:
    """One JSON object per row from (key, JSON-text pieces) pairs."""
    pieces: Pieces = ["{"]
    for index, (key, value) in enumerate(fields):
        pieces.append(("," if index else "") + json.dumps(key) + ":")
        pieces += value if isinstance(value, list) else [value]
    pieces.append("}")
    return pieces


def _escaped_labels(labels: Iterable[str]) -> pa.Array:
    """Category strings JSON-escaped (without quotes), one per category."""
    return pa.array([json.dumps(str(label))[1:-1] for label in labels], type=pa.string())


def _with_column(key: np.ndarray, bound: int, values: np.ndarray) -> tuple[np.ndarray, int]:
    """The combination key of rows (below ``bound``) extended by one more
    column: a new key below the returned bound, equal where both were."""
    low, high = (int(values.min()), int(values.max())) if len(values) else (0, 0)
    span = high - low + 1
    if span > _DENSE_SPAN:
        part, span = _dense(values, None)
    else:
        part = values.astype(np.int64) - low
    if bound * span >= 1 << 62:  # renumber the combinations so far to stay in int64
        key, bound = _dense(key, bound)
    return key * span + part, bound * span


def _dense(key: np.ndarray, bound: int | None) -> tuple[np.ndarray, int]:
    """Dense codes of ``key`` (from 0) and how many there are. Keys known to be
    non-negative and below a ``bound`` not much above their count are numbered
    with a table, without hashing."""
    if bound is not None and bound <= 4 * len(key) + _TABLE_SLACK:
        codes, distinct = small_codes(key, bound)
        return codes, len(distinct)
    codes, uniques = pd.factorize(key)
    return codes.astype(np.int64, copy=False), len(uniques)


def _combinations(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, int]:
    key, bound = np.zeros(len(columns[0]), dtype=np.int64), 1
    for values in columns:
        key, bound = _with_column(key, bound, values)
    return key, bound


def _codes(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A code per row for its combination of values in ``columns`` (dense,
    from 0) and one row holding each code."""
    codes, count = _dense(*_combinations(columns))
    holder = np.empty(count, dtype=np.int64)
    holder[codes] = np.arange(len(codes))  # any row of a code will do: they print alike
    return codes, holder


def _runs(columns: Sequence[Column]) -> list[int | None]:
    """Each column's run (None: printed row by row). A run is consecutive
    columns whose combinations repeat in a sample of the chunk, printed once per
    combination and taken by code: far fewer casts and pieces to join."""
    rows = len(columns[0].values)
    step = max(1, rows // SAMPLE)
    run: list[int | None] = []
    current: tuple[np.ndarray, int] | None = None  # the open run's sampled key
    for column in columns:
        sample = column.values[::step]
        extended = _with_column(*current, sample) if current is not None else None
        if extended is not None and _dense(*extended)[1] <= SAMPLE // 4:
            current = extended
            run.append(run[-1])
            continue
        current = _combinations([sample])
        if _dense(*current)[1] <= SAMPLE // 4:
            run.append(len(run))
        else:
            current = None
            run.append(None)
    return run


def _groups(pieces: Pieces) -> list[Pieces]:
    """``pieces`` cut into groups printed together: a run of repetitive columns
    with the constants around it, a column printed row by row, or constants."""
    runs = iter(_runs([piece for piece in pieces if isinstance(piece, Column)]))
    groups: list[Pieces] = []
    last: int | None = None  # the run of the last group (None: not a run)
    waiting: Pieces = []  # constants between a column printed row by row and the next
    for piece in pieces:
        if isinstance(piece, str):
            if last is not None:
                groups[-1].append(piece)  # a run takes the constants after it ...
            else:
                waiting.append(piece)
            continue
        run = next(runs)
        if run is not None and run == last:
            groups[-1].append(piece)
        elif run is not None:
            groups.append([*waiting, piece])  # ... and those before it
        else:
            groups += [waiting, [piece]] if waiting else [[piece]]
        waiting, last = [], run
    return groups + [waiting] if waiting else groups


def _printed(group: Pieces) -> list[pa.Array | str]:
    """The group's text per row: pieces to join, one array (or constants only)."""
    columns = [piece for piece in group if isinstance(piece, Column)]
    if not columns:
        return ["".join(str(piece) for piece in group)]
    if len(group) == 1:
        return [columns[0].text(columns[0].values)]
    codes, holders = _codes([column.values for column in columns])
    texts = [
        piece if isinstance(piece, str) else piece.text(piece.values[holders]) for piece in group
    ]
    texts = pc.binary_join_element_wise(*texts, "", memory_pool=_POOL)
    return [pc.take(texts, codes, memory_pool=_POOL)]


def _lines(pieces: Pieces) -> pa.Array:
    """One line per row: ``,\\n`` and the row's JSON text, joined in one kernel call."""
    merged: list[pa.Array | str] = []
    for group in _groups([",\n", *pieces]):
        for part in _printed(group):
            if isinstance(part, str) and merged and isinstance(merged[-1], str):
                merged[-1] += part
            else:
                merged.append(part)
    return pc.binary_join_element_wise(*merged, "", memory_pool=_POOL)


def _write(handle: IO[bytes], lines: pa.Array) -> int:
    """The lines' text, written straight from the Arrow data buffer; its bytes."""
    if not len(lines):
        return 0
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    begin, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    handle.write(memoryview(lines.buffers()[2])[begin:end])
    return int(end - begin)


def _objects(objects: list[dict]) -> pa.Array:
    text = pa.array([json.dumps(o, separators=(",", ":")) for o in objects], pa.string())
    return pc.binary_join_element_wise(",\n", text, "", memory_pool=_POOL)


Job = Callable[[], pa.Array]
SLICE_COLUMNS = ("core_kind", "core", "seq", "flags", "tag", "start_ps", "dur_ps")


def _in_order(jobs: Iterable[Job]) -> Generator[pa.Array, None, None]:
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
        # a copy is named after its GM tensor, else its on-chip buffer: one
        # table of both, tensors first
        tensors = ctx.labels("tensor")
        self.unnamed_tensor = np.asarray([str(label) == "" for label in tensors], dtype=bool)
        self.tables["target"] = pa.concat_arrays([self.tables["tensor"], self.tables["name"]])

    def prefetch(self) -> None:
        """Compute (and so cache) in this thread everything :func:`_slices` reads."""
        for column in SLICE_COLUMNS:
            self.ctx.column(column)
        self.ctx.table.copies()
        self.ctx.table.computes()

    def target(self, tensor: np.ndarray, buffer: np.ndarray) -> Column:
        """Codes into the ``target`` table: the tensor, or the buffer when it has none."""
        codes = np.where(self.unnamed_tensor[tensor], buffer + len(self.unnamed_tensor), tensor)
        return _label(self.tables["target"], codes)


def _slices(columns: _Columns, part: slice, kind: EventKind) -> Pieces:
    """X events of the COPY or COMPUTE events at positions ``part`` of their kind."""
    ctx, tables = columns.ctx, columns.tables
    rows = ctx.rows(kind)[part]  # the rows of the kind's decoded accessor too

    def column(name: str) -> np.ndarray:
        return ctx.column(name)[rows]

    tag, flags = _quoted(_label(tables["tag"], column("tag"))), Column(column("flags"))
    if kind == EventKind.COPY:
        copies = ctx.table.copies()
        name: Pieces = [
            '"',
            _label(tables["space"], copies.src_space[part]),
            "->",
            _label(tables["space"], copies.dst_space[part]),
            " ",
            columns.target(copies.tensor[part], copies.buffer[part]),
            '"',
        ]
        args: Fields = [
            ("seq", Column(column("seq"))),
            ("bytes", Column(copies.requested_bytes[part])),
            ("moved", Column(copies.bytes[part])),
            ("dst_addr", Column(copies.dst_address[part])),
            ("src_addr", Column(copies.src_address[part])),
            ("burst_len", Column(copies.burst_len[part])),
            ("bursts", Column(copies.burst_count[part])),
            ("buffer", _quoted(_label(tables["name"], copies.buffer[part]))),
            ("tag", tag),
            ("flags", flags),
        ]
    else:
        computes = ctx.table.computes()
        name = _quoted(_label(tables["name"], computes.op[part]))
        args = [
            ("seq", Column(column("seq"))),
            ("flops", Column(computes.flops[part])),
            ("bytes", Column(computes.bytes_accessed[part])),
            ("written", Column(computes.bytes_written[part])),
            ("addr", Column(computes.dst_address[part])),
            ("space", _quoted(_label(tables["space"], computes.dst_space[part]))),
            ("tag", tag),
            ("flags", flags),
        ]
    return _object(
        [
            ("ph", '"X"'),
            ("cat", json.dumps(kind.label)),
            ("name", name),
            ("pid", Column(column("core_kind"), _plus_one)),
            ("tid", Column(column("core"), _plus_one)),
            ("ts", Column(column("start_ps"), _micros)),
            ("dur", Column(column("dur_ps"), _micros)),
            ("args", _object(args)),
        ]
    )


def _slice_lines(columns: _Columns, part: slice, kind: EventKind) -> pa.Array:
    return _lines(_slices(columns, part, kind))


# One counter track's points: core kind, core, space, times (ps), live bytes.
Place = tuple[str, int, str, np.ndarray, np.ndarray]


def _counter_lines(places: Sequence[Place]) -> pa.Array:
    """C events: the live bytes of each place (a core's on-chip space) at its times."""
    counts = [len(place[3]) for place in places]
    names = _escaped_labels(f"{core_label(kind, core)} {space}" for kind, core, space, *_ in places)
    pid = [CORE_KIND_LABELS.index(place[0]) + 1 for place in places]
    return _lines(
        _object(
            [
                ("ph", '"C"'),
                ("name", _quoted(_label(names, np.repeat(np.arange(len(places)), counts)))),
                ("pid", Column(np.repeat(np.array(pid, dtype=np.int64), counts))),
                ("tid", Column(np.repeat(np.array([p[1] + 1 for p in places]), counts))),
                ("ts", Column(np.concatenate([place[3] for place in places]), _micros)),
                ("args", _object([("live_bytes", Column(np.concatenate([p[4] for p in places])))])),
            ]
        )
    )


def _counters(ctx: TraceContext, core_kind: str, core: int, space: str) -> Iterator[Job]:
    """C events, in chunks: one core's live bytes in one space after every ALLOC/FREE."""
    frame = ctx.occupancy(core_kind, core, space)
    times, live = frame["t_ps"].to_numpy(), frame["live_bytes"].to_numpy()
    for begin in range(0, len(frame), CHUNK_EVENTS):
        part = slice(begin, begin + CHUNK_EVENTS)
        yield partial(_counter_lines, [(core_kind, core, space, times[part], live[part])])


def _meta(name: str, pid: int, args: dict, tid: int | None = None) -> dict:
    event = {"ph": "M", "name": name, "pid": pid, "args": args}
    return event if tid is None else {**event, "tid": tid}


def _cores(core_kind: np.ndarray, core: np.ndarray) -> np.ndarray:
    """The distinct (core kind, core) of events as keys: kind x 65536 + core + 1."""
    keys = core_kind.astype(np.int64) * _CORE_SPAN + core + 1
    return np.flatnonzero(np.bincount(keys)) if keys.size else np.zeros(0, np.int64)


def _metadata(cores: np.ndarray) -> list[dict]:
    """Process and thread names (and sort order) for every core in ``cores``
    (:func:`_cores`) and the host; the host's process name first."""
    present = np.union1d(cores, [int(CoreKind.HOST) * _CORE_SPAN])
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


def _opening(name: str, kernel: str, chip: str) -> bytes:
    """The file's start, up to the first trace event (the host process' name,
    which every export has): the header with what was exported."""
    header = {
        "displayTimeUnit": "ns",
        "otherData": {
            "exporter": f"ubscope {__version__}",
            "trace": name,
            "kernel": kernel,
            "chip": chip,
            "time": "modelled device time",
        },
    }
    first = json.dumps(_metadata(np.zeros(0, np.int64))[0], separators=(",", ":"))
    return (json.dumps(header)[:-1] + ',"traceEvents":[\n' + first).encode()


class _Output:
    """The file being written: lines appended as they come, sent to disk every
    :data:`RELEASE_BYTES` so the page cache holds a few chunks only."""

    def __init__(self, handle: IO[bytes], opening: bytes):
        self.handle = handle
        self.unreleased = 0
        handle.write(opening)

    def lines(self, lines: pa.Array) -> None:
        self.unreleased += _write(self.handle, lines)
        if self.unreleased >= RELEASE_BYTES:
            release_written(self.handle)
            self.unreleased = 0

    def close(self) -> None:
        self.handle.write(b"\n]}\n")


class _Writer:
    """One export being written: the opening and the slices (which need only the
    trace) on a thread of their own from the start, the counters and findings
    (which need the analysis) when :meth:`finish` gets it. A context manager:
    leaving it stops and waits for the thread."""

    def __init__(self, ctx: TraceContext, handle: IO[bytes]):
        self.output = _Output(
            handle, _opening(ctx.trace.path.name, ctx.trace.kernel, ctx.chip.name)
        )
        self.columns = _Columns(ctx)
        self.columns.prefetch()  # the threads then only read the context's caches
        cores = _cores(ctx.column("core_kind"), ctx.column("core"))
        first = [_objects(_metadata(cores)[1:])]
        launches = _launches(ctx)  # here: the rules may read the launches meanwhile
        self._stop = Event()
        self._thread = ThreadPoolExecutor(1)
        self._slices = self._thread.submit(self._write, _slice_jobs(self.columns, launches), first)

    def _write(self, jobs: Iterable[Job], first: Iterable[pa.Array] = ()) -> None:
        for lines in first:
            self.output.lines(lines)
        with closing(_in_order(jobs)) as chunks:
            for lines in chunks:
                if self._stop.is_set():
                    return
                self.output.lines(lines)

    def finish(self, analysis: Analysis) -> None:
        """The rest, once the slices are written: counters, findings, the end."""
        self._slices.result()  # raises what the thread raised
        self._write(_closing_jobs(analysis, self.columns))
        self.output.close()

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.shutdown(wait=True)


class _BatchWriter:
    """A streamed export being written: the slices and counters of each
    STREAM_CHUNK_EVENTS events formatted on WORKERS threads while the analysis reads
    the next batches, and written in order by a thread of its own, so the
    analysis never waits for the disk; the launches, names and findings once
    the analysis has ended. At most WORKERS + 1 chunks wait, so memory stays
    bounded whatever the trace size. A context manager: leaving it waits for
    the threads."""

    def __init__(self, trace: Trace, chip: ChipProfile, handle: IO[bytes]):
        self.trace = trace
        self.chip = chip
        self.output = _Output(handle, _opening(trace.path.name, trace.kernel, chip.name))
        self.first_event = 0
        self.cores = np.zeros(0, np.int64)
        self._chunk: list[tuple[pa.RecordBatch, BatchPoints]] = []
        self._chunk_rows = 0
        self._pool = ThreadPoolExecutor(WORKERS)
        self._writer = ThreadPoolExecutor(1)  # one thread: chunks are written in order
        self._pending: deque[Future[None]] = deque()  # each chunk's write

    def add(self, batch: pa.RecordBatch, points: BatchPoints) -> None:
        """One batch of the analysis (``on_batch`` of :func:`analyze_streamed`)."""
        self._chunk.append((batch, points))
        self._chunk_rows += batch.num_rows
        if self._chunk_rows >= STREAM_CHUNK_EVENTS:
            self._submit()
        while len(self._pending) > WORKERS:
            self._pending.popleft().result()  # raises what formatting or writing raised

    def _submit(self) -> None:
        batches = [batch for batch, _ in self._chunk]
        points = BatchPoints.joined([points for _, points in self._chunk])
        formatted = self._pool.submit(self._format, batches, self.first_event, points)
        self._pending.append(self._writer.submit(self._write, formatted))
        self.first_event += self._chunk_rows
        self._chunk, self._chunk_rows = [], 0

    def _format(
        self, batches: list[pa.RecordBatch], first_event: int, points: BatchPoints
    ) -> tuple[list[pa.Array], np.ndarray]:
        trace = batch_trace(self.trace.path, self.trace.meta, batches, first_event, validated=True)
        columns = _Columns(TraceContext(trace, self.chip))
        lines = [
            _slice_lines(columns, slice(None), kind)
            for kind in (EventKind.COPY, EventKind.COMPUTE)
            if columns.ctx.rows(kind).size
        ]
        places = list(points.places())
        if places:
            lines.append(_counter_lines(places))
        return lines, _cores(columns.ctx.column("core_kind"), columns.ctx.column("core"))

    def _write(self, formatted: Future[tuple[list[pa.Array], np.ndarray]]) -> None:
        lines, cores = formatted.result()
        for part in lines:
            self.output.lines(part)
        self.cores = np.union1d(self.cores, cores)

    def finish(self, analysis: Analysis) -> None:
        """The chunks still formatting, then launches, names, findings and the end."""
        if self._chunk:
            self._submit()
        while self._pending:
            self._pending.popleft().result()
        ctx = analysis.context
        assert ctx is not None  # a streamed analysis always has its trace's context
        objects = [*_launches(ctx), *_metadata(self.cores)[1:], *_findings(analysis, ctx)]
        if objects:
            self.output.lines(_objects(objects))
        self.output.close()

    def __enter__(self) -> _BatchWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer.shutdown(wait=True, cancel_futures=True)
        self._pool.shutdown(wait=True, cancel_futures=True)


def _no_trace(path: str | os.PathLike[str]) -> InputError:
    return InputError(path, "a Perfetto export needs a trace (.ubtrace), not only vendor output")


def write_perfetto(analysis: Analysis, path: str | os.PathLike[str]) -> Path:
    """Write the analysis' trace as Chrome trace-event JSON to ``path`` (atomically)."""
    if analysis.context is None:
        raise _no_trace(path)
    target = Path(path)
    with atomic_output(target, binary=True) as handle, _Writer(analysis.context, handle) as out:
        out.finish(analysis)
    return target


def export_perfetto(
    trace: str | os.PathLike[str],
    path: str | os.PathLike[str],
    config: Config | None = None,
    stream: bool | None = False,
) -> Path:
    """Analyze the trace file ``trace`` and write it to ``path`` as
    :func:`write_perfetto` does, the slices written while the rules run. With
    ``stream`` True, or None and a trace too big for memory, one pass over its
    batches writes them (docs/streaming.md): the same events, in another order."""
    target = Path(path)
    if streams(trace, stream):
        return _export_streamed(trace, target, config or Config())
    with ExitStack() as stack:
        writers: list[_Writer] = []

        def start(ctx: TraceContext) -> None:
            handle = stack.enter_context(atomic_output(target, binary=True))
            writers.append(stack.enter_context(_Writer(ctx, handle)))

        analysis = analyze_path(trace, config, on_context=start)
        if not writers:
            raise _no_trace(path)
        writers[0].finish(analysis)
    return target


def _export_streamed(trace: str | os.PathLike[str], target: Path, config: Config) -> Path:
    chip = streamed_chip(trace, config)
    # the trace's metadata only: the batches come from the analysis' pass
    described = Trace(path=Path(trace), meta=read_metadata(trace), events=pd.DataFrame())
    with (
        atomic_output(target, binary=True) as handle,
        _BatchWriter(described, chip, handle) as out,
    ):
        out.finish(analyze_streamed(trace, config, chip, on_batch=out.add))
    return target


def _slice_jobs(columns: _Columns, launches: list[dict]) -> Iterator[Job]:
    """The launches and the slices, one job per chunk of lines."""
    if launches:
        yield partial(_objects, launches)
    for kind in (EventKind.COPY, EventKind.COMPUTE):
        for begin in range(0, columns.ctx.rows(kind).size, CHUNK_EVENTS):
            yield partial(_slice_lines, columns, slice(begin, begin + CHUNK_EVENTS), kind)


def _closing_jobs(analysis: Analysis, columns: _Columns) -> Iterator[Job]:
    """The counters and the findings, one job per chunk of lines."""
    ctx = columns.ctx
    for peak in ctx.peaks.to_dict("records"):
        yield from _counters(ctx, str(peak["core_kind"]), int(peak["core"]), str(peak["space"]))
    findings = _findings(analysis, ctx)
    if findings:
        yield partial(_objects, findings)
