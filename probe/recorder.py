"""The recorder: the calls kernels and memory models make to log events.

Events are appended as fixed-width int64 rows to one flat ``array('q')`` (no
Python object per event) and turned into a columnar Arrow record batch every
``batch_events`` events. A batch goes to a sink: a :class:`TraceWriter` that
streams it to disk, or an in-memory list for tests and the pytest plugin.
Strings (buffer names, GM tensor names, call-site tags, op names) are interned
to integer ids; each batch carries the string table as an Arrow dictionary.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from ubscope.probe.device_fault import GM_ACCESSES, METADATA_FIELD, DeviceFault
from ubscope.probe.events import (
    ENUM_COLUMNS,
    EVENT_SCHEMA,
    FIELD_INDEX,
    ROW_FIELDS,
    ROW_WIDTH,
    STRING_COLUMNS,
    CoreKind,
    EventKind,
    Flag,
    Space,
    enum_labels,
)
from ubscope.probe.validate import row_problems

_KERNEL_BEGIN, _KERNEL_END, _ALLOC, _FREE, _ALLOC_FAIL, _POOL_RESET, _COPY, _COMPUTE = range(8)
_KV_PAGE_ALLOC, _KV_PAGE_FREE, _HOST_SAMPLE, _MARK, _QUEUE_INIT, _REDZONE_WRITE = range(8, 14)
assert _REDZONE_WRITE == EventKind.REDZONE_WRITE and _COPY == EventKind.COPY
_CORE_KIND_LABELS, _SPACE_LABELS = enum_labels(CoreKind), enum_labels(Space)
_NONE = int(Space.NONE)
_GM = int(Space.GM)
_GUARD_PAGE = int(Flag.GUARD_PAGE)
_SECOND_SOURCE = int(Flag.SECOND_SOURCE)
_THIRD_SOURCE = int(Flag.THIRD_SOURCE)
_HOST = int(CoreKind.HOST)
_ENUM_DICTIONARIES = {col: pa.array(enum_labels(cls)) for col, cls in ENUM_COLUMNS.items()}
_ARROW_TYPES = {field.name: field.type for field in EVENT_SCHEMA}

BatchSink = Callable[[pa.RecordBatch], None]
_ROW_TEMPLATE = dict.fromkeys(ROW_FIELDS, 0)  # 0: Space.NONE, the empty string, no flag


def _first_fault(kinds: np.ndarray, flags: np.ndarray) -> tuple[int | None, int]:
    """Where the device would first have faulted among these events (a
    red-zone write, or the twin's raw GM access a guard page caught), if
    anywhere, and how many red-zone writes they hold."""
    redzone = kinds == _REDZONE_WRITE
    faults = redzone | ((flags & _GUARD_PAGE) != 0)
    return (int(np.argmax(faults)) if faults.any() else None), int(redzone.sum())


def _event(**fields: int) -> tuple[int, ...]:
    """A row with the named fields set and the others 0 (the recording calls off
    the hot path build their rows by name; alloc, free, copy and compute append
    theirs directly)."""
    row = {**_ROW_TEMPLATE, **fields}
    if len(row) != ROW_WIDTH:
        raise TypeError(f"not event fields: {', '.join(sorted(set(row) - set(ROW_FIELDS)))}")
    return tuple(row.values())


class _StringTable(dict):
    """String -> id; a lookup of a new string assigns the next id, so
    interning on the hot path is a single dict subscription."""

    def __init__(self) -> None:
        super().__init__({"": 0})
        self.strings: list[str] = [""]

    def __missing__(self, text: str) -> int:
        sid = self[text] = len(self.strings)
        self.strings.append(text)
        return sid


class Recorder:
    """Collects events in columnar batches.

    Times are modelled device picoseconds (``start_ps``, ``dur_ps``) computed by
    the caller's cost model; the recorder only stores them.
    """

    def __init__(self, sink: BatchSink | None = None, batch_events: int = 65536):
        if batch_events < 1:
            raise ValueError("batch_events must be positive")
        self._sink = sink
        self._batches: list[pa.RecordBatch] = []
        self._batch_ints = batch_events * ROW_WIDTH
        self._rows = array("q")
        self._strings = _StringTable()
        self._next_seq = 0
        self.closed = False
        # The first red-zone write (a row) and how many there were: a device would have faulted.
        self._first_fault: tuple[int, ...] | None = None
        self._faults = 0

    # -- strings ---------------------------------------------------------
    def intern(self, text: str) -> int:
        """Integer id of ``text`` in the trace's string table."""
        return self._strings[text]

    def strings(self) -> list[str]:
        """Every string interned so far (names, call-site tags), in id order."""
        return list(self._strings.strings)

    # -- recording calls -------------------------------------------------
    def _row(self, row: tuple[int, ...]) -> None:
        rows = self._rows
        try:
            rows.extend(row)
        except (OverflowError, TypeError) as exc:
            self._reject(exc)
        if len(rows) >= self._batch_ints:
            self.flush()

    def _reject(self, exc: Exception) -> None:
        """A field was not a 64-bit integer: drop the partly appended row (every
        earlier row is complete, so it is the remainder) and say so."""
        rows = self._rows
        del rows[len(rows) - len(rows) % ROW_WIDTH :]
        raise ValueError(f"event not recorded: a field is not a 64-bit integer ({exc})") from None

    def kernel_begin(self, name: str, block_dim: int, t_ps: int, mode: str = "") -> None:
        """A kernel launch over ``block_dim`` blocks; ``mode`` is vector/cube/mix."""
        self._row(
            _event(
                kind=_KERNEL_BEGIN,
                core_kind=_HOST,
                core=-1,
                name=self.intern(name),
                tag=self.intern(mode),
                start_ps=t_ps,
                arg=block_dim,
            )
        )

    def kernel_end(self, name: str, t_ps: int, duration_ps: int) -> None:
        self._row(
            _event(
                kind=_KERNEL_END,
                core_kind=_HOST,
                core=-1,
                name=self.intern(name),
                start_ps=t_ps,
                dur_ps=duration_ps,
            )
        )

    def alloc(
        self,
        core_kind: int,
        core: int,
        space: int,
        addr: int,
        size: int,
        aligned_size: int,
        name: str,
        tag: str,
        t_ps: int,
        flags: int = 0,
        arg: int = 0,
    ) -> None:
        """An on-chip allocation of ``size`` requested bytes occupying ``aligned_size``."""
        s = self._strings
        rows = self._rows
        try:
            rows.extend((_ALLOC, core_kind, core, space, addr, size, aligned_size, _NONE, 0, 0, 0,
                         s[name], 0, s[tag], t_ps, 0, arg, 0, flags))  # fmt: skip
        except (OverflowError, TypeError) as exc:
            self._reject(exc)
        if len(rows) >= self._batch_ints:
            self.flush()

    def free(
        self,
        core_kind: int,
        core: int,
        space: int,
        addr: int,
        size: int,
        aligned_size: int,
        name: str,
        tag: str,
        t_ps: int,
        flags: int = 0,
    ) -> None:
        s = self._strings
        rows = self._rows
        try:
            rows.extend((_FREE, core_kind, core, space, addr, size, aligned_size, _NONE, 0, 0, 0,
                         s[name], 0, s[tag], t_ps, 0, 0, 0, flags))  # fmt: skip
        except (OverflowError, TypeError) as exc:
            self._reject(exc)
        if len(rows) >= self._batch_ints:
            self.flush()

    def alloc_fail(
        self,
        core_kind: int,
        core: int,
        space: int,
        size: int,
        aligned_size: int,
        name: str,
        tag: str,
        t_ps: int,
        total_free: int,
        largest_free: int,
        flags: int = 0,
    ) -> None:
        """An allocation the allocator refused; ``arg``/``arg2`` keep the free
        bytes in total and in the largest block at that moment."""
        self._row(
            _event(
                kind=_ALLOC_FAIL,
                core_kind=core_kind,
                core=core,
                space=space,
                size=size,
                aligned_size=aligned_size,
                name=self.intern(name),
                tag=self.intern(tag),
                start_ps=t_ps,
                arg=total_free,
                arg2=largest_free,
                flags=flags,
            )
        )

    def pool_reset(
        self,
        core_kind: int,
        core: int,
        space: int,
        base: int,
        name: str,
        t_ps: int,
        released_bytes: int,
        high_water: int,
    ) -> None:
        self._row(
            _event(
                kind=_POOL_RESET,
                core_kind=core_kind,
                core=core,
                space=space,
                addr=base,
                size=released_bytes,
                aligned_size=high_water,
                name=self.intern(name),
                start_ps=t_ps,
                arg=released_bytes,
                arg2=high_water,
            )
        )

    def pool_init(
        self,
        core_kind: int,
        core: int,
        space: int,
        base: int,
        size: int,
        name: str,
        tag: str,
        t_ps: int,
    ) -> None:
        """An allocator's pool: ``size`` bytes of ``space`` from ``base``, the
        extent its allocations come from."""
        self._row(
            _event(
                kind=EventKind.POOL_INIT,
                core_kind=core_kind,
                core=core,
                space=space,
                addr=base,
                size=size,
                aligned_size=size,
                name=self.intern(name),
                tag=self.intern(tag),
                start_ps=t_ps,
            )
        )

    def copy(
        self,
        core_kind: int,
        core: int,
        src_space: int,
        src_addr: int,
        dst_space: int,
        dst_addr: int,
        size: int,
        moved: int,
        burst_len: int,
        burst_count: int,
        tensor: str,
        tag: str,
        start_ps: int,
        dur_ps: int,
        flags: int = 0,
        name: str = "",
        out_of_range: int = 0,
    ) -> None:
        """A transfer of ``size`` requested bytes of which ``moved`` arrived;
        ``out_of_range``: bits of its parameters outside the device's range
        (:class:`~ubscope.probe.memory.copy_ranges.CopyParam`)."""
        # Hot paths (alloc, free, copy, compute) append directly: see BENCHMARKS.md.
        s = self._strings
        rows = self._rows
        try:
            rows.extend((_COPY, core_kind, core, dst_space, dst_addr, size, moved, src_space,
                         src_addr, burst_len, burst_count, s[name], s[tensor], s[tag], start_ps,
                         dur_ps, out_of_range, 0, flags))  # fmt: skip
        except (OverflowError, TypeError) as exc:
            self._reject(exc)
        if len(rows) >= self._batch_ints:
            self.flush()

    def compute(
        self,
        core_kind: int,
        core: int,
        space: int,
        addr: int,
        touched: int,
        op: str,
        flops: int,
        tag: str,
        start_ps: int,
        dur_ps: int,
        flags: int = 0,
        out_bytes: int = 0,
        src_space: int = _NONE,
        src_addr: int = 0,
        second_src_addr: int | None = None,
        third_src_addr: int | None = None,
    ) -> None:
        """An on-chip operation writing at ``addr`` and reading its first source
        at ``src_addr``, its second (if any) at ``second_src_addr`` and its third
        (if any) at ``third_src_addr``, all in ``src_space``; ``touched`` bytes
        read and written."""
        s = self._strings
        rows = self._rows
        second = third = 0
        if second_src_addr is not None:
            second, flags = second_src_addr, flags | _SECOND_SOURCE
        if third_src_addr is not None:
            third, flags = third_src_addr, flags | _THIRD_SOURCE
        try:
            rows.extend((_COMPUTE, core_kind, core, space, addr, touched, out_bytes, src_space,
                         src_addr, third, 0, s[op], 0, s[tag], start_ps, dur_ps, flops, second, flags))  # fmt: skip
        except (OverflowError, TypeError) as exc:
            self._reject(exc)
        if len(rows) >= self._batch_ints:
            self.flush()

    def kv_page(
        self,
        allocated: bool,
        cache: str,
        page: int,
        page_bytes: int,
        sequence: int,
        tokens: int,
        t_ps: int,
        tag: str = "",
    ) -> None:
        """A KV-cache page handed to (or taken back from) a sequence; ``tokens``
        is how many of the page's slots hold data."""
        self._row(
            _event(
                kind=_KV_PAGE_ALLOC if allocated else _KV_PAGE_FREE,
                core_kind=_HOST,
                core=-1,
                space=Space.GM,
                addr=page,
                size=page_bytes,
                aligned_size=page_bytes,
                tensor=self.intern(cache),
                tag=self.intern(tag),
                start_ps=t_ps,
                arg=sequence,
                arg2=tokens,
            )
        )

    def host_sample(self, rss_bytes: int, t_ps: int) -> None:
        self._row(_event(kind=_HOST_SAMPLE, core_kind=_HOST, core=-1, start_ps=t_ps, arg=rss_bytes))

    def mark(
        self, label: str, t_ps: int, core_kind: int = _HOST, core: int = -1, value: int = 0
    ) -> None:
        """A user mark (phase boundary, round number) with an optional value."""
        self._row(
            _event(
                kind=_MARK,
                core_kind=core_kind,
                core=core,
                name=self.intern(label),
                start_ps=t_ps,
                arg=value,
            )
        )

    def queue_init(
        self,
        core_kind: int,
        core: int,
        space: int,
        addr: int,
        length: int,
        num: int,
        position: int,
        name: str,
        tag: str,
        t_ps: int,
        flags: int = 0,
    ) -> None:
        """``TPipe::InitBuffer(que, num, len)``: ``num`` blocks of ``length`` bytes."""
        self._row(
            _event(
                kind=_QUEUE_INIT,
                core_kind=core_kind,
                core=core,
                space=space,
                addr=addr,
                size=length * num,
                aligned_size=length,
                name=self.intern(name),
                tag=self.intern(tag),
                start_ps=t_ps,
                arg=num,
                arg2=position,
                flags=flags,
            )
        )

    def redzone_write(
        self,
        core_kind: int,
        core: int,
        space: int,
        addr: int,
        nbytes: int,
        past_capacity: int,
        tag: str,
        t_ps: int,
    ) -> None:
        """A write of ``nbytes`` at ``addr`` of which ``past_capacity`` bytes lie
        beyond the space's capacity (in the red zone)."""
        row = _event(
            kind=_REDZONE_WRITE,
            core_kind=core_kind,
            core=core,
            space=space,
            addr=addr,
            size=nbytes,
            aligned_size=past_capacity,
            tag=self.intern(tag),
            start_ps=t_ps,
            flags=Flag.REDZONE,
        )
        self._row(row)
        self._note_faults(row, 1)

    def extend(self, rows: np.ndarray) -> None:
        """Append whole rows recorded elsewhere (an ``(n, ROW_WIDTH)`` int64
        array whose string columns already hold ids from :meth:`intern`); the
        flush validates their values like those of every other call."""
        if not isinstance(rows, np.ndarray) or rows.ndim != 2 or rows.shape[1] != ROW_WIDTH:
            raise ValueError(f"extend: expected an (n, {ROW_WIDTH}) array of event rows")
        first, redzone_writes = _first_fault(
            rows[:, FIELD_INDEX["kind"]], rows[:, FIELD_INDEX["flags"]]
        )
        if first is not None:
            self._note_faults(tuple(int(value) for value in rows[first]), redzone_writes)
        step = self._batch_ints // ROW_WIDTH
        for begin in range(0, rows.shape[0], step):
            chunk = np.ascontiguousarray(rows[begin : begin + step], np.int64)
            self._rows.frombytes(chunk.tobytes())
            if len(self._rows) >= self._batch_ints:
                self.flush()

    def extend_columns(self, columns: Mapping[str, np.ndarray]) -> None:
        """Append events recorded elsewhere given column by column: integer
        arrays of one length by ``ROW_FIELDS`` name (enumerations as codes,
        string columns as ids from :meth:`intern`). Columns already at their
        Arrow width (int8 codes, int16 core, int32 ids) become the batch's
        arrays without a copy. Rows the reader would reject are dropped and
        reported as :meth:`flush` does."""
        missing = [name for name in ROW_FIELDS if name not in columns]
        if missing:
            raise ValueError(f"extend_columns: no column {', '.join(missing)}")
        self.flush()
        invalid = row_problems(columns)
        if invalid is not None:
            columns = {name: columns[name][~invalid.mask] for name in ROW_FIELDS}
        at, redzone_writes = _first_fault(columns["kind"], columns["flags"])
        if at is not None:
            self._note_faults(tuple(int(columns[n][at]) for n in ROW_FIELDS), redzone_writes)
        step = self._batch_ints // ROW_WIDTH
        for begin in range(0, len(columns["kind"]), step):
            self._emit(self._to_batch({n: columns[n][begin : begin + step] for n in ROW_FIELDS}))
        if invalid is not None:
            raise ValueError(f"{invalid.count} event(s) not recorded: {invalid.message}")

    # -- the device fault ------------------------------------------------
    def _note_faults(self, first: tuple[int, ...], count: int) -> None:
        if self._first_fault is None:
            self._first_fault = first
        self._faults += count

    @property
    def device_fault(self) -> DeviceFault | None:
        """The run's first red-zone write (where a device would have faulted), or None."""
        if self._first_fault is None:
            return None
        row = dict(zip(ROW_FIELDS, map(int, self._first_fault), strict=True))
        strings = self._strings.strings

        def text(column: str) -> str:
            return strings[row[column]] if 0 <= row[column] < len(strings) else ""

        place: dict[str, Any] = {"space": _SPACE_LABELS[row["space"]], "addr": row["addr"]}
        if row["flags"] & _GUARD_PAGE:
            # The twin's raw-pointer access (gm_guard.h): from GM (read), to GM
            # (write) or both (not known); arg2 = the byte of the tensor it touched.
            read, wrote = row["src_space"] == _GM, row["space"] == _GM
            place = {
                "space": "GM",
                "addr": row["addr"] if wrote else row["src_addr"],
                "tensor": text("tensor"),
                "offset": row["arg2"],
                "access": GM_ACCESSES[read + 2 * wrote] if read != wrote else "",
            }
        return DeviceFault(
            core_kind=_CORE_KIND_LABELS[row["core_kind"]],
            core=row["core"],
            nbytes=row["size"],
            past_capacity=row["aligned_size"],
            tag=text("tag"),
            t_ps=row["start_ps"],
            writes=self._faults,
            **place,
        )

    def final_metadata(self) -> dict[str, Any]:
        """What the trace's metadata gains when the recording finished
        (``TraceWriter.close``): the device fault, when there was one."""
        fault = self.device_fault
        return {} if fault is None else {METADATA_FIELD: fault.to_metadata()}

    # -- batching --------------------------------------------------------
    @property
    def event_count(self) -> int:
        return self._next_seq + len(self._rows) // ROW_WIDTH

    def flush(self) -> None:
        """Turn the pending rows into one record batch and hand it to the sink."""
        if not self._rows:
            return
        rows = np.frombuffer(self._rows, dtype=np.int64).reshape(-1, ROW_WIDTH)
        # What the reader would reject is not written (probe/validate.py).
        invalid = row_problems({name: rows[:, i] for i, name in enumerate(ROW_FIELDS)})
        if invalid is not None:
            rows = rows[~invalid.mask]
        self._rows = array("q")
        if rows.shape[0]:
            self._emit(self._to_batch({name: rows[:, i] for i, name in enumerate(ROW_FIELDS)}))
        if invalid is not None:
            raise ValueError(f"{invalid.count} event(s) not recorded: {invalid.message}")

    def _emit(self, batch: pa.RecordBatch) -> None:
        self._next_seq += batch.num_rows
        if self._sink is None:
            self._batches.append(batch)
        else:
            self._sink(batch)

    def _to_batch(self, columns: Mapping[str, np.ndarray]) -> pa.RecordBatch:
        count = len(columns["kind"])
        strings = pa.array(self._strings.strings, type=pa.utf8())
        arrays: list[pa.Array] = [pa.array(np.arange(self._next_seq, self._next_seq + count))]
        for column in ROW_FIELDS:
            # asarray: a contiguous column already at the Arrow width is not copied.
            if column in ENUM_COLUMNS:
                codes = pa.array(np.asarray(columns[column], np.int8))
                arrays.append(pa.DictionaryArray.from_arrays(codes, _ENUM_DICTIONARIES[column]))
            elif column in STRING_COLUMNS:
                ids = pa.array(np.asarray(columns[column], np.int32))
                arrays.append(pa.DictionaryArray.from_arrays(ids, strings))
            else:
                dtype = _ARROW_TYPES[column].to_pandas_dtype()
                arrays.append(pa.array(np.asarray(columns[column], dtype)))
        return pa.RecordBatch.from_arrays(arrays, schema=EVENT_SCHEMA)

    def batches(self) -> list[pa.RecordBatch]:
        """Flushed batches kept in memory (only when there is no sink)."""
        self.flush()
        return list(self._batches)

    def table(self) -> pa.Table:
        return pa.Table.from_batches(self.batches(), schema=EVENT_SCHEMA)


# The public recording calls; NullRecorder turns each into a no-op.
RECORDING_CALLS = (
    "kernel_begin",
    "kernel_end",
    "alloc",
    "free",
    "alloc_fail",
    "pool_reset",
    "pool_init",
    "copy",
    "compute",
    "kv_page",
    "host_sample",
    "mark",
    "queue_init",
    "redzone_write",
    "extend",
    "extend_columns",
)


class NullRecorder(Recorder):
    """A recorder that records nothing: the 'recording off' side of the
    overhead benchmark and of runs that only want numerics."""

    def intern(self, text: str) -> int:
        return 0


def _ignore(self: Recorder, *args: object, **kwargs: object) -> None:
    return None


for _call in RECORDING_CALLS:
    setattr(NullRecorder, _call, _ignore)
