"""Typed, per-kind views of a trace's event columns.

Every event is one row of the same int64 columns, and ``size``,
``aligned_size``, ``arg`` and ``arg2`` mean something different for each kind
(docs/trace-format.md, "Event kinds"). :class:`EventTable` decodes them once,
here: each accessor returns a read-only view of equal-length numpy arrays for
the events of one kind (each gathered on first read), in program order, with ``rows`` their row positions in
the trace. Accessors are built on first use and memoized; no Python object is
made per event. String fields (names, tags, tensors) hold codes into
:meth:`EventTable.labels`; space and core-kind fields hold the enum values of
:mod:`ubscope.probe.events`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from ubscope.probe.events import (
    LAYOUT_FLAGS,
    ROW_FIELDS,
    STRING_COLUMNS,
    EventKind,
    Flag,
    category_codes,
)

T = TypeVar("T")

# The columns whose meaning depends on the event kind: decoded here only.
KIND_SPECIFIC_COLUMNS = ("size", "aligned_size", "arg", "arg2")
# Columns whose meaning is the same for every kind (docs/trace-format.md, "Columns").
# ``space``/``addr`` are the event's destination side; ``src_*`` and the burst shape
# are zero for every kind but a copy.
UNIFORM_COLUMNS = frozenset({"seq", *ROW_FIELDS} - set(KIND_SPECIFIC_COLUMNS))
# Fields of an alloc and a free (docs/trace-format.md: a free has the same columns).
_BLOCK_FIELDS = {
    "core_kind": "core_kind",
    "core": "core",
    "space": "space",
    "address": "addr",
    "size": "size",
    "aligned_size": "aligned_size",
    "name": "name",
    "tag": "tag",
}


class KindView:
    """The events of one kind as equal-length numpy arrays, one per field (the
    subclasses' annotations), ``rows`` their row positions. A field is gathered
    from its column on first access: most analyses read a few of a kind's
    fields, and gathering every one cost a 10 M-event analysis ~0.2 s (issue 17)."""

    rows: np.ndarray

    def __init__(
        self, rows: np.ndarray, gather: Callable[[np.ndarray, str], np.ndarray], **columns: str
    ):
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "_gather", gather)
        object.__setattr__(self, "_columns", columns)
        # views read from several threads (the Perfetto export's chunks) gather each
        # field once, not once per thread
        object.__setattr__(self, "_lock", threading.Lock())

    if not TYPE_CHECKING:  # the type checker keeps to the annotated fields

        def __getattr__(self, field: str) -> np.ndarray:
            # only called for a field not gathered yet
            columns = self.__dict__.get("_columns", {})
            if field not in columns:
                raise AttributeError(f"{type(self).__name__} has no field {field!r}")
            with self.__dict__["_lock"]:
                value = self.__dict__.get(field)
                if value is None:
                    value = self.__dict__["_gather"](self.rows, columns[field])
                    object.__setattr__(self, field, value)
            return value

    def at(self, field: str, rows: np.ndarray) -> np.ndarray:
        """One field's values for ``rows`` (events of this kind), read from its
        column: a rule that needs a few events' values leaves the field of every
        event of the kind ungathered (22 MB a field of the copies at 10 M events)."""
        column = self.__dict__["_columns"].get(field)
        if column is None:
            raise AttributeError(f"{type(self).__name__} has no field {field!r}")
        return self.__dict__["_gather"](rows, column)

    def __setattr__(self, field: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __len__(self) -> int:
        return int(self.rows.size)


@dataclass(frozen=True)
class Launches:
    """Kernel launches (``kernel_begin``), each paired with the ``kernel_end``
    that follows it."""

    rows: np.ndarray  # row of the kernel_begin
    name: np.ndarray  # kernel name (code into labels("name"))
    mode: np.ndarray  # "vector", "cube" or "mix" (code into labels("tag"))
    block_dim: np.ndarray  # blocks launched
    start_ps: np.ndarray  # picoseconds, modelled launch start
    end_row: np.ndarray  # row of the matching kernel_end; -1: none (truncated trace)
    end_ps: np.ndarray  # picoseconds, modelled launch end; -1: no kernel_end

    def __len__(self) -> int:
        return int(self.rows.size)


class Allocs(KindView):
    """On-chip allocations (``alloc``); :meth:`EventTable.frees` has the same fields."""

    rows: np.ndarray
    core_kind: np.ndarray  # CoreKind value
    core: np.ndarray  # core index within its kind
    space: np.ndarray  # Space value
    address: np.ndarray  # byte address in ``space``
    size: np.ndarray  # bytes requested
    aligned_size: np.ndarray  # bytes occupied (the aligned block)
    name: np.ndarray  # buffer or pool name (code into labels("name"))
    tag: np.ndarray  # call site (code into labels("tag"))
    queue_block: np.ndarray  # block index within its queue (0 outside queues)


class Frees(KindView):
    """Releases of on-chip blocks (``free``): a pool reset or TPipe destruction
    frees each of its buffers."""

    rows: np.ndarray
    core_kind: np.ndarray  # CoreKind value
    core: np.ndarray
    space: np.ndarray  # Space value
    address: np.ndarray  # byte address in ``space``
    size: np.ndarray  # bytes requested by the allocation
    aligned_size: np.ndarray  # bytes the block occupied
    name: np.ndarray  # code into labels("name")
    tag: np.ndarray  # code into labels("tag")


class AllocFailures(KindView):
    """Allocations the allocator refused (``alloc_fail``)."""

    rows: np.ndarray
    core_kind: np.ndarray  # CoreKind value
    core: np.ndarray
    space: np.ndarray  # Space value
    size: np.ndarray  # bytes requested
    aligned_size: np.ndarray  # bytes the aligned block would have taken
    total_free: np.ndarray  # bytes free in total at that moment
    largest_free: np.ndarray  # bytes in the largest free block at that moment
    name: np.ndarray  # code into labels("name")
    tag: np.ndarray  # code into labels("tag")


class PoolResets(KindView):
    """A bump pool's ``Reset()`` (``pool_reset``)."""

    rows: np.ndarray
    core_kind: np.ndarray  # CoreKind value
    core: np.ndarray
    space: np.ndarray  # Space value
    base: np.ndarray  # byte address of the pool's start
    released_bytes: np.ndarray  # bytes the reset released
    high_water: np.ndarray  # bytes: the pool's high-water mark before the reset
    name: np.ndarray  # pool name (code into labels("name"))


class PoolInits(KindView):
    """An allocator's pool, the extent its allocations come from (``pool_init``)."""

    rows: np.ndarray
    core_kind: np.ndarray  # CoreKind value
    core: np.ndarray
    space: np.ndarray  # Space value
    base: np.ndarray  # byte address of the pool's start
    size: np.ndarray  # bytes of the pool
    name: np.ndarray  # pool name (code into labels("name"))


class Copies(KindView):
    """Transfers (``copy``): GM<->UB, GM<->L1, L1->L0A/L0B, L0C->GM/UB."""

    rows: np.ndarray
    src_space: np.ndarray  # Space value
    src_address: np.ndarray  # byte address in ``src_space``
    dst_space: np.ndarray  # Space value
    dst_address: np.ndarray  # byte address in ``dst_space``
    requested_bytes: np.ndarray  # bytes asked for
    bytes: np.ndarray  # bytes really moved (a truncated DataCopy drops its tail)
    burst_len: np.ndarray  # bytes per burst (one contiguous row)
    burst_count: np.ndarray  # number of bursts
    tensor: np.ndarray  # GM tensor (code into labels("tensor"))
    buffer: np.ndarray  # on-chip buffer (code into labels("name"))
    out_of_range: np.ndarray  # CopyParam bits: parameters outside the device's range
    raw_byte: np.ndarray  # GUARD_PAGE: the tensor's byte a raw pointer touched (<0: before it)


class Computes(KindView):
    """On-chip operations (``compute``)."""

    rows: np.ndarray
    op: np.ndarray  # operation name (code into labels("name"))
    dst_space: np.ndarray  # Space value of the destination
    dst_address: np.ndarray  # byte address of the destination
    bytes_accessed: np.ndarray  # bytes read and written
    bytes_written: np.ndarray  # bytes written
    flops: np.ndarray  # floating-point operations
    second_src_address: np.ndarray  # SECOND_SOURCE: its second source's address in src_space
    third_src_address: np.ndarray  # THIRD_SOURCE: its third source's address in src_space


@dataclass(frozen=True)
class KvPages:
    """KV-cache pages handed to a sequence (``kv_page_alloc``) and taken back
    (``kv_page_free``), in program order."""

    rows: np.ndarray
    allocated: np.ndarray  # bool: True for kv_page_alloc, False for kv_page_free
    cache: np.ndarray  # KV cache (code into labels("tensor"))
    page: np.ndarray  # page index within its cache
    page_bytes: np.ndarray  # bytes per page
    sequence: np.ndarray  # sequence id
    tokens: np.ndarray  # tokens the page holds (on a free: held until then)

    def __len__(self) -> int:
        return int(self.rows.size)


class HostSamples(KindView):
    """The recording process sampled at each launch's start and end (``host_sample``)."""

    rows: np.ndarray
    rss_bytes: np.ndarray  # resident set size in bytes (psutil)


class Marks(KindView):
    """User marks (``mark``); the Ascend C twin records each pipe synchronisation
    call as one (label = the API, value = the event ID, code = the HardEvent)."""

    rows: np.ndarray
    core_kind: np.ndarray  # CoreKind value
    core: np.ndarray  # -1 for a host mark
    label: np.ndarray  # code into labels("name")
    value: np.ndarray  # the mark's integer value
    code: np.ndarray  # a second integer (the twin's sync marks: the HardEvent code)
    tag: np.ndarray  # code into labels("tag"): the call site


class QueueInits(KindView):
    """``TPipe::InitBuffer(que, num, len)`` calls (``queue_init``)."""

    rows: np.ndarray
    core_kind: np.ndarray  # CoreKind value
    core: np.ndarray
    space: np.ndarray  # Space value
    address: np.ndarray  # byte address of the first block
    block_bytes: np.ndarray  # bytes per block (``len``)
    total_bytes: np.ndarray  # bytes of all blocks
    num: np.ndarray  # number of blocks
    position: np.ndarray  # TPosition value
    name: np.ndarray  # queue name (code into labels("name"))
    tag: np.ndarray  # code into labels("tag")


class RedzoneWrites(KindView):
    """Writes that ran past a space's capacity into its red zone (``redzone_write``)."""

    rows: np.ndarray
    core_kind: np.ndarray  # CoreKind value
    core: np.ndarray
    space: np.ndarray  # Space value
    address: np.ndarray  # byte address the write started at
    bytes: np.ndarray  # bytes written
    past_capacity: np.ndarray  # bytes of them beyond the capacity
    tag: np.ndarray  # code into labels("tag")


def any_of(codes: np.ndarray, values: Iterable[int] | np.ndarray) -> np.ndarray:
    """Where ``codes`` is one of a few ``values``: one comparison pass per value
    (``np.isin`` took 10x as long on int8 codes)."""
    mask = np.zeros(codes.shape, dtype=bool)
    for value in values:
        mask |= codes == value
    return mask


class _DecodedColumns:
    """A table's columns as numpy arrays, each decoded once. The views of a kind
    gather their fields through this and not through the table, which memoizes
    them: a view holding the table would close a reference cycle, which only
    the garbage collector frees, late. A streamed export's chunks (a table
    each) then stayed in memory long after they were written, 255 MiB per 10 M
    events before a collection, so its memory grew with the trace (issue 17)."""

    def __init__(self, events: pd.DataFrame, lock: threading.RLock):
        self.events = events
        self.lock = lock
        self.decoded: dict[str, np.ndarray] = {}

    def raw(self, name: str) -> np.ndarray:
        cached = self.decoded.get(name)
        if cached is None:
            with self.lock:
                cached = self.decoded.get(name)
                if cached is None:
                    series = self.events[name]
                    if isinstance(series.dtype, pd.CategoricalDtype):
                        cached = category_codes(series)
                    else:
                        cached = series.to_numpy()
                    self.decoded[name] = cached
        return cached

    def at(self, rows: np.ndarray, name: str) -> np.ndarray:
        return self.raw(name)[rows]


class EventTable:
    """The typed event layer over one trace's events (a DataFrame as
    :func:`ubscope.probe.trace.read_trace` returns it)."""

    def __init__(self, events: pd.DataFrame):
        self.events = events
        self._labels: dict[str, np.ndarray] = {}
        self._rows: dict[tuple[int, ...], np.ndarray] = {}
        self._memo: dict[str, Any] = {}
        # the analysis builds parts of its model on several threads
        # (TraceContext.prepare): each cached column, row set and view is built
        # once, by the first thread to need it (reentrant: views take rows)
        self._lock = threading.RLock()
        self._columns = _DecodedColumns(events, self._lock)

    def __len__(self) -> int:
        return len(self.events)

    @property
    def row_dtype(self) -> type[np.signedinteger]:
        """Row positions are int32 (half the memory) when they fit."""
        return np.int32 if len(self.events) < 2**31 - 1 else np.int64

    # -- columns that mean the same in every kind --------------------------------
    def column(self, name: str) -> np.ndarray:
        """A column whose meaning does not depend on the kind (:data:`UNIFORM_COLUMNS`)
        as a numpy array, category codes for enum and string columns; no copy."""
        if name not in UNIFORM_COLUMNS:
            raise KeyError(f"{name!r} means something different per event kind: use an accessor")
        return self._raw(name)

    def _raw(self, name: str) -> np.ndarray:
        return self._columns.raw(name)

    def footprint(self) -> np.ndarray:
        """Bytes each event covers, for every row: the aligned block of an
        alloc/free, the bytes a copy moved, the bytes a compute wrote (all from
        ``addr``), the bytes a red-zone write put past capacity (the tail of the
        write, from ``addr + size - aligned_size``); 0 where a kind has no extent."""
        return self._raw("aligned_size")

    def reach(self) -> np.ndarray:
        """Bytes from ``addr`` an event asked for or covered, at least 1 for every
        row: the larger of its requested and actual size, so a truncated copy still
        reaches the bytes it was asked to move (what an address search should find)."""
        return np.maximum(np.maximum(self._raw("size"), self._raw("aligned_size")), 1)

    def labels(self, name: str) -> np.ndarray:
        """The strings behind the codes of a string column (name, tensor, tag)."""
        if name not in STRING_COLUMNS:
            raise KeyError(f"{name!r} is not a string column")
        cached = self._labels.get(name)
        if cached is None:
            with self._lock:
                cached = self._labels.get(name)
                if cached is None:
                    categories = self.events[name].cat.categories
                    cached = self._labels[name] = np.asarray(categories, dtype=object)
        return cached

    def label(self, name: str, code: int) -> str:
        """The string of one code of a string column ("" for -1)."""
        return str(self.labels(name)[code]) if code >= 0 else ""

    def rows(self, *kinds: EventKind) -> np.ndarray:
        """Row positions (program order) of the events of the given kinds."""
        key = tuple(sorted(int(k) for k in kinds))
        cached = self._rows.get(key)
        if cached is None:
            with self._lock:
                cached = self._rows.get(key)
                if cached is None:
                    mask = any_of(self._raw("kind"), key)
                    cached = self._rows[key] = np.flatnonzero(mask).astype(self.row_dtype)
        return cached

    def flagged_rows(self, flag: Flag, *kinds: EventKind) -> np.ndarray:
        """Rows (of the given kinds, or of any) whose flags carry ``flag``."""
        flags = self._raw("flags")
        if flag & LAYOUT_FLAGS:
            rows = np.flatnonzero(flags & int(flag)).astype(self.row_dtype)
        else:
            # the rows with a flag other than a layout bit, searched once: the
            # rules ask for six flags, and a layout bit is on most computes
            # (1.8 M of 10 M events), where a problem flag is on few
            rows = self._memoized(
                "_flagged",
                lambda: np.flatnonzero(flags & ~int(LAYOUT_FLAGS)).astype(self.row_dtype),
            )
            rows = rows[(flags[rows] & int(flag)) != 0]
        if kinds:
            rows = rows[any_of(self._raw("kind")[rows], [int(k) for k in kinds])]
        return rows

    def _memoized(self, key: str, build: Callable[[], T]) -> T:
        if key not in self._memo:
            with self._lock:
                if key not in self._memo:
                    self._memo[key] = build()
        return self._memo[key]

    def _at(self, rows: np.ndarray, name: str) -> np.ndarray:
        return self._columns.at(rows, name)

    # -- per-kind accessors ----------------------------------------------------------
    def _decoded(self, cls: Callable[..., T], kinds: tuple[EventKind, ...], **fields: str) -> T:
        """``cls`` over the rows of ``kinds``, each field taken from the column named
        for it when first read (built once)."""

        def build() -> T:
            rows = self.rows(*kinds)
            return cls(rows, self._columns.at, **fields)

        return self._memoized(" ".join(str(int(k)) for k in kinds), build)

    def launches(self) -> Launches:
        return self._memoized("launches", self._build_launches)

    def _build_launches(self) -> Launches:
        begins = self.rows(EventKind.KERNEL_BEGIN)
        ends = self.rows(EventKind.KERNEL_END)
        end_row = np.full(begins.size, -1, dtype=np.int64)
        end_ps = np.full(begins.size, -1, dtype=np.int64)
        if begins.size and ends.size:
            # each end closes the latest launch that began before it
            slot = np.searchsorted(begins, ends) - 1
            keep = slot >= 0
            end_row[slot[keep]] = ends[keep]
            end_ps[slot[keep]] = self._at(ends[keep], "start_ps")
        return Launches(
            rows=begins,
            name=self._at(begins, "name"),
            mode=self._at(begins, "tag"),
            block_dim=self._at(begins, "arg"),
            start_ps=self._at(begins, "start_ps"),
            end_row=end_row,
            end_ps=end_ps,
        )

    def allocs(self) -> Allocs:
        return self._decoded(Allocs, (EventKind.ALLOC,), queue_block="arg", **_BLOCK_FIELDS)

    def frees(self) -> Frees:
        return self._decoded(Frees, (EventKind.FREE,), **_BLOCK_FIELDS)

    def alloc_failures(self) -> AllocFailures:
        return self._decoded(
            AllocFailures,
            (EventKind.ALLOC_FAIL,),
            core_kind="core_kind",
            core="core",
            space="space",
            size="size",
            aligned_size="aligned_size",
            total_free="arg",
            largest_free="arg2",
            name="name",
            tag="tag",
        )

    def pool_resets(self) -> PoolResets:
        return self._decoded(
            PoolResets,
            (EventKind.POOL_RESET,),
            core_kind="core_kind",
            core="core",
            space="space",
            base="addr",
            released_bytes="arg",
            high_water="arg2",
            name="name",
        )

    def pool_inits(self) -> PoolInits:
        return self._decoded(
            PoolInits,
            (EventKind.POOL_INIT,),
            core_kind="core_kind",
            core="core",
            space="space",
            base="addr",
            size="size",
            name="name",
        )

    def copies(self) -> Copies:
        return self._decoded(
            Copies,
            (EventKind.COPY,),
            src_space="src_space",
            src_address="src_addr",
            dst_space="space",
            dst_address="addr",
            requested_bytes="size",
            bytes="aligned_size",
            burst_len="burst_len",
            burst_count="burst_count",
            tensor="tensor",
            buffer="name",
            out_of_range="arg",
            raw_byte="arg2",
        )

    def computes(self) -> Computes:
        return self._decoded(
            Computes,
            (EventKind.COMPUTE,),
            op="name",
            dst_space="space",
            dst_address="addr",
            bytes_accessed="size",
            bytes_written="aligned_size",
            flops="arg",
            second_src_address="arg2",
            third_src_address="burst_len",
        )

    def kv_page_events(self) -> KvPages:
        return self._memoized("kv_page_events", self._build_kv_page_events)

    def _build_kv_page_events(self) -> KvPages:
        rows = self.rows(EventKind.KV_PAGE_ALLOC, EventKind.KV_PAGE_FREE)
        return KvPages(
            rows=rows,
            allocated=self._at(rows, "kind") == EventKind.KV_PAGE_ALLOC,
            cache=self._at(rows, "tensor"),
            page=self._at(rows, "addr"),
            page_bytes=self._at(rows, "size"),
            sequence=self._at(rows, "arg"),
            tokens=self._at(rows, "arg2"),
        )

    def host_samples(self) -> HostSamples:
        return self._decoded(HostSamples, (EventKind.HOST_SAMPLE,), rss_bytes="arg")

    def marks(self) -> Marks:
        return self._decoded(
            Marks,
            (EventKind.MARK,),
            core_kind="core_kind",
            core="core",
            label="name",
            value="arg",
            code="arg2",
            tag="tag",
        )

    def queue_inits(self) -> QueueInits:
        return self._decoded(
            QueueInits,
            (EventKind.QUEUE_INIT,),
            core_kind="core_kind",
            core="core",
            space="space",
            address="addr",
            block_bytes="aligned_size",
            total_bytes="size",
            num="arg",
            position="arg2",
            name="name",
            tag="tag",
        )

    def redzone_writes(self) -> RedzoneWrites:
        return self._decoded(
            RedzoneWrites,
            (EventKind.REDZONE_WRITE,),
            core_kind="core_kind",
            core="core",
            space="space",
            address="addr",
            bytes="size",
            past_capacity="aligned_size",
            tag="tag",
        )
