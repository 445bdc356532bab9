"""The typed event layer: each kind's columns decoded under their own names.

The trace is written by hand with the Recorder, one event of each kind; the
expected values below are the ones passed to the Recorder."""

from __future__ import annotations

import gc
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from ubscope.probe import event_table
from ubscope.probe.event_table import EventTable
from ubscope.probe.events import CoreKind, EventKind, Flag, Space
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import Trace

AIV, AIC = int(CoreKind.AIV), int(CoreKind.AIC)
UB, GM, L1, L0A = int(Space.UB), int(Space.GM), int(Space.L1), int(Space.L0A)
VECIN = 0  # the TPosition value of a VECIN queue


@pytest.fixture(scope="module")
def table() -> EventTable:
    rec = Recorder(batch_events=4)
    rec.kernel_begin("add", 8, 100, "vector")  # row 0
    rec.host_sample(5_000_000, 100)  # row 1
    rec.queue_init(AIV, 2, UB, 0, 4096, 2, VECIN, "inQueueX", "init", 110)  # row 2
    rec.alloc(AIV, 2, UB, 4096, 1000, 1024, "x", "load", 120, arg=1)  # row 3
    rec.copy(
        AIV,
        2,
        GM,
        0x1000,
        UB,
        4096,
        1000,
        992,
        992,
        1,
        "xGm",
        "copyin",
        130,
        40,
        flags=int(Flag.TRUNCATED),
        name="x",
    )
    rec.compute(AIV, 2, UB, 8192, 3000, "Add", 500, "add", 170, 20, out_bytes=1024)  # row 5
    rec.alloc_fail(AIV, 2, UB, 300_000, 300_032, "big", "grow", 190, 90_000, 60_000)  # row 6
    rec.free(AIV, 2, UB, 4096, 1000, 1024, "x", "load", 200)  # row 7
    rec.pool_reset(AIC, 1, L1, 512, "pool", 210, 7000, 9000)  # row 8
    rec.copy(AIC, 1, L1, 512, L0A, 0, 2048, 2048, 64, 32, "", "split", 220, 10)  # row 9
    rec.kv_page(True, "kv0", 5, 16384, 3, 12, 230)  # row 10
    rec.kv_page(False, "kv0", 5, 16384, 3, 16, 240)  # row 11
    rec.mark("round", 250, value=7)  # row 12
    rec.redzone_write(AIV, 2, UB, 196_000, 1024, 512, "spill", 260)  # row 13
    rec.kernel_end("add", 300, 200)  # row 14
    return EventTable(rec.table().to_pandas())


def test_launches_pair_begin_with_end(table):
    launches = table.launches()
    assert launches.rows.tolist() == [0]
    assert table.labels("name")[launches.name].tolist() == ["add"]
    assert table.labels("tag")[launches.mode].tolist() == ["vector"]
    assert launches.block_dim.tolist() == [8]
    assert launches.start_ps.tolist() == [100]
    assert launches.end_row.tolist() == [14]
    assert launches.end_ps.tolist() == [300]


def test_a_launch_without_end_has_none():
    rec = Recorder()
    rec.kernel_begin("a", 2, 0, "cube")
    rec.kernel_end("a", 50, 50)
    rec.kernel_begin("b", 4, 60, "mix")
    launches = EventTable(rec.table().to_pandas()).launches()
    assert launches.end_row.tolist() == [1, -1]
    assert launches.end_ps.tolist() == [50, -1]


def test_allocs_and_frees(table):
    allocs = table.allocs()
    assert allocs.rows.tolist() == [3]
    assert allocs.core_kind.tolist() == [AIV] and allocs.core.tolist() == [2]
    assert allocs.space.tolist() == [UB] and allocs.address.tolist() == [4096]
    assert allocs.size.tolist() == [1000] and allocs.aligned_size.tolist() == [1024]
    assert table.label("name", int(allocs.name[0])) == "x"
    assert table.label("tag", int(allocs.tag[0])) == "load"
    assert allocs.queue_block.tolist() == [1]
    frees = table.frees()
    assert frees.rows.tolist() == [7]
    assert frees.address.tolist() == [4096] and frees.aligned_size.tolist() == [1024]
    assert len(frees) == 1


def test_alloc_failures(table):
    failed = table.alloc_failures()
    assert failed.rows.tolist() == [6]
    assert failed.size.tolist() == [300_000] and failed.aligned_size.tolist() == [300_032]
    assert failed.total_free.tolist() == [90_000] and failed.largest_free.tolist() == [60_000]
    assert table.label("name", int(failed.name[0])) == "big"


def test_pool_resets(table):
    resets = table.pool_resets()
    assert resets.rows.tolist() == [8]
    assert resets.core_kind.tolist() == [AIC] and resets.space.tolist() == [L1]
    assert resets.base.tolist() == [512]
    assert resets.released_bytes.tolist() == [7000] and resets.high_water.tolist() == [9000]


def test_a_table_is_freed_without_the_garbage_collector(table):
    # a streamed export builds a table per chunk of events; a table whose kind
    # views referred back to it was freed only by a collection, late, so the
    # export's memory grew with the trace (255 MiB of chunks at 10 M events)
    fresh = EventTable(table.events.copy())
    for accessor in ("launches", "allocs", "frees", "copies", "computes", "queue_inits"):
        getattr(fresh, accessor)()
    assert fresh.copies().bytes.tolist() == [992, 2048]  # a field gathered
    assert fresh.copies().at("tensor", np.array([4])).size == 1
    gone = weakref.ref(fresh)
    gc.disable()
    try:
        del fresh
        assert gone() is None
    finally:
        gc.enable()


def test_copies(table):
    copies = table.copies()
    assert copies.rows.tolist() == [4, 9]
    assert copies.src_space.tolist() == [GM, L1]
    assert copies.src_address.tolist() == [0x1000, 512]
    assert copies.dst_space.tolist() == [UB, L0A]
    assert copies.dst_address.tolist() == [4096, 0]
    assert copies.requested_bytes.tolist() == [1000, 2048]
    assert copies.bytes.tolist() == [992, 2048]
    assert copies.burst_len.tolist() == [992, 64] and copies.burst_count.tolist() == [1, 32]
    assert table.labels("tensor")[copies.tensor].tolist() == ["xGm", ""]
    assert table.labels("name")[copies.buffer].tolist() == ["x", ""]


def test_computes(table):
    computes = table.computes()
    assert computes.rows.tolist() == [5]
    assert table.label("name", int(computes.op[0])) == "Add"
    assert computes.dst_space.tolist() == [UB] and computes.dst_address.tolist() == [8192]
    assert computes.bytes_accessed.tolist() == [3000]
    assert computes.bytes_written.tolist() == [1024]
    assert computes.flops.tolist() == [500]


def test_kv_page_events(table):
    pages = table.kv_page_events()
    assert pages.rows.tolist() == [10, 11]
    assert pages.allocated.tolist() == [True, False]
    assert table.labels("tensor")[pages.cache].tolist() == ["kv0", "kv0"]
    assert pages.page.tolist() == [5, 5] and pages.page_bytes.tolist() == [16384, 16384]
    assert pages.sequence.tolist() == [3, 3] and pages.tokens.tolist() == [12, 16]


def test_host_samples_and_marks(table):
    assert table.host_samples().rows.tolist() == [1]
    assert table.host_samples().rss_bytes.tolist() == [5_000_000]
    marks = table.marks()
    assert marks.rows.tolist() == [12] and marks.value.tolist() == [7]
    assert table.label("name", int(marks.label[0])) == "round"


def test_queue_inits(table):
    queues = table.queue_inits()
    assert queues.rows.tolist() == [2]
    assert queues.address.tolist() == [0]
    assert queues.block_bytes.tolist() == [4096] and queues.total_bytes.tolist() == [8192]
    assert queues.num.tolist() == [2] and queues.position.tolist() == [VECIN]
    assert table.label("name", int(queues.name[0])) == "inQueueX"


def test_redzone_writes(table):
    writes = table.redzone_writes()
    assert writes.rows.tolist() == [13]
    assert writes.address.tolist() == [196_000]
    assert writes.bytes.tolist() == [1024] and writes.past_capacity.tolist() == [512]
    assert table.label("tag", int(writes.tag[0])) == "spill"


def test_accessors_are_memoized(table):
    assert table.copies() is table.copies()
    assert table.rows(EventKind.ALLOC, EventKind.FREE) is table.rows(
        EventKind.FREE, EventKind.ALLOC
    )


def test_rows_and_flagged_rows(table):
    assert table.rows(EventKind.ALLOC, EventKind.FREE).tolist() == [3, 7]
    assert table.flagged_rows(Flag.TRUNCATED).tolist() == [4]
    assert table.flagged_rows(Flag.REDZONE, EventKind.REDZONE_WRITE).tolist() == [13]
    assert table.flagged_rows(Flag.REDZONE, EventKind.COPY).tolist() == []


def test_uniform_columns_are_readable_and_kind_specific_ones_are_not(table):
    assert table.column("start_ps")[[0, 4, 14]].tolist() == [100, 130, 300]
    assert table.column("core")[[0, 3]].tolist() == [-1, 2]
    assert table.column("kind")[14] == EventKind.KERNEL_END
    assert table.footprint()[[3, 4, 5]].tolist() == [1024, 992, 1024]
    # reach: the larger of asked and covered, at least 1: the alloc asked 1000 of a
    # 1024 B block, the truncated copy was asked for 1000 B and moved 992, the Add
    # touched 3000 B, a mark has no extent.
    assert table.reach()[[3, 4, 5, 12]].tolist() == [1024, 1000, 3000, 1]
    for name in ("arg", "arg2", "size", "aligned_size"):
        with pytest.raises(KeyError, match="per event kind"):
            table.column(name)


def test_flagged_rows_sees_a_problem_flag_beside_a_layout_bit_and_the_layout_bit_alone():
    # rows 0 and 2 read a second source (a layout bit, on most computes of a real
    # trace); row 2 also partly overlaps its destination, row 1 only that
    rec = Recorder()
    overlap = int(Flag.PARTIAL_OVERLAP)
    rec.compute(AIV, 0, UB, 0, 64, "Add", 32, "add", 10, 5, src_space=UB, second_src_addr=256)
    rec.compute(AIV, 0, UB, 0, 64, "Add", 32, "add", 20, 5, flags=overlap, src_space=UB)
    rec.compute(
        AIV, 0, UB, 0, 64, "Add", 32, "add", 30, 5, flags=overlap, src_space=UB, second_src_addr=32
    )
    table = EventTable(rec.table().to_pandas())
    assert table.flagged_rows(Flag.PARTIAL_OVERLAP).tolist() == [1, 2]
    assert table.flagged_rows(Flag.PARTIAL_OVERLAP, EventKind.COMPUTE).tolist() == [1, 2]
    assert table.flagged_rows(Flag.SECOND_SOURCE).tolist() == [0, 2]
    assert table.flagged_rows(Flag.SECOND_SOURCE, EventKind.COPY).tolist() == []


def test_a_compute_names_its_second_and_third_sources():
    rec = Recorder()
    rec.compute(AIV, 0, UB, 0, 96, "Select", 32, "sel", 10, 5, src_space=UB, src_addr=64,
                second_src_addr=128, third_src_addr=4096)  # fmt: skip
    rec.compute(AIV, 0, UB, 0, 64, "Exp", 32, "exp", 20, 5, src_space=UB, src_addr=64)
    table = EventTable(rec.table().to_pandas())
    computes = table.computes()
    assert computes.second_src_address.tolist() == [128, 0]
    assert computes.third_src_address.tolist() == [4096, 0]
    assert table.flagged_rows(Flag.THIRD_SOURCE).tolist() == [0]


def test_empty_trace_gives_empty_accessors():
    table = EventTable(Recorder().table().to_pandas())
    assert len(table) == 0
    assert len(table.allocs()) == 0 and len(table.launches()) == 0
    assert table.copies().bytes.dtype == np.int64


def test_a_trace_builds_its_table_once():
    rec = Recorder()
    rec.mark("phase", 10, value=3)
    trace = Trace(path=Path("t.ubtrace"), meta={}, events=rec.table().to_pandas())
    assert trace.table is trace.table
    assert trace.table.marks().value.tolist() == [3]


def _counting_table(monkeypatch: pytest.MonkeyPatch, delay: float = 0.0) -> tuple[EventTable, list]:
    """A fresh table whose column gathers are recorded (and slowed by ``delay``
    seconds, so threads reading at once overlap inside a gather)."""
    rec = Recorder()
    rec.copy(AIV, 0, GM, 0x1000, UB, 0, 64, 64, 64, 1, "xGm", "copyin", 10, 5, name="x")
    fresh = EventTable(rec.table().to_pandas())
    gathered: list[str] = []
    at = fresh._columns.at  # what the kind views gather through

    def counted(rows: np.ndarray, name: str) -> np.ndarray:
        gathered.append(name)
        time.sleep(delay)
        return at(rows, name)

    monkeypatch.setattr(fresh._columns, "at", counted)
    return fresh, gathered


def test_a_field_is_gathered_when_first_read_and_once(monkeypatch):
    fresh, gathered = _counting_table(monkeypatch)
    copies = fresh.copies()
    assert gathered == []  # building the view gathers nothing
    assert copies.bytes.tolist() == [64]  # aligned_size, as the Recorder was given
    assert copies.bytes.tolist() == [64]
    assert gathered == ["aligned_size"]
    with pytest.raises(AttributeError):
        copies.bytes = np.zeros(1)  # read-only, as the frozen dataclasses were
    with pytest.raises(AttributeError):
        copies.no_such_field  # noqa: B018


def test_a_field_at_some_rows_is_read_without_gathering_every_event(monkeypatch):
    # a rule reading the requested bytes of its few truncated copies took the
    # field for every copy (22 MB at 10 M events) to index a handful of them
    fresh, gathered = _counting_table(monkeypatch)
    copies = fresh.copies()
    assert copies.at("requested_bytes", np.array([0])).tolist() == [64]
    assert copies.at("src_space", np.array([0])).tolist() == [GM]
    assert "requested_bytes" not in vars(copies)  # the field itself stays ungathered
    assert gathered == ["size", "src_space"]  # each read at the one row asked for
    with pytest.raises(AttributeError):
        copies.at("no_such_field", np.array([0]))


def test_fields_at_rows_are_those_of_the_whole_field(table):
    copies = table.copies()
    assert copies.at("requested_bytes", np.array([9, 4])).tolist() == [2048, 1000]
    assert copies.at("bytes", np.array([4])).tolist() == [992]
    assert table.allocs().at("queue_block", np.array([3])).tolist() == [1]


def test_threads_reading_a_field_at_once_gather_it_once(monkeypatch):
    fresh, gathered = _counting_table(monkeypatch, delay=0.05)
    copies = fresh.copies()
    with ThreadPoolExecutor(4) as pool:
        values = list(pool.map(lambda _: copies.src_address.tolist(), range(4)))
    assert values == [[0x1000]] * 4
    assert gathered == ["src_addr"]


def test_threads_asking_for_rows_and_a_view_at_once_build_each_once(monkeypatch):
    # the analysis reads the table from two threads (engine._check_trace); the
    # row sets and views they share are built by the first thread that asks
    rec = Recorder()
    rec.copy(AIV, 0, GM, 0x1000, UB, 0, 64, 64, 64, 1, "xGm", "copyin", 10, 5, name="x")
    rec.mark("phase", 20, value=3)
    fresh = EventTable(rec.table().to_pandas())
    masks: list[tuple[int, ...]] = []
    any_of = event_table.any_of

    def slow_any_of(codes: np.ndarray, values) -> np.ndarray:
        masks.append(tuple(values))
        time.sleep(0.05)  # so the threads overlap inside the build
        return any_of(codes, values)

    monkeypatch.setattr(event_table, "any_of", slow_any_of)
    with ThreadPoolExecutor(4) as pool:
        rows = list(pool.map(lambda _: fresh.rows(EventKind.COPY), range(4)))
        views = list(pool.map(lambda _: fresh.marks(), range(4)))
    assert rows[0].tolist() == [0]  # the copy is row 0, the mark row 1
    assert all(r is rows[0] for r in rows)
    assert all(v is views[0] for v in views)
    assert views[0].value.tolist() == [3]
    assert masks == [(int(EventKind.COPY),), (int(EventKind.MARK),)]


def test_enum_and_string_columns_are_the_frames_codes_not_a_copy(table):
    # pandas 3's .cat.codes copies the codes into a new Series: for the seven
    # enum and string columns of a 10 M-event trace that was 66 MiB more to hold
    # during an analysis
    kinds = table.column("kind")
    assert np.shares_memory(kinds, table.events["kind"].array.codes)
    assert kinds[[0, 3, 7, 14]].tolist() == [
        EventKind.KERNEL_BEGIN,
        EventKind.ALLOC,
        EventKind.FREE,
        EventKind.KERNEL_END,
    ]
    tensors = table.column("tensor")
    assert np.shares_memory(tensors, table.events["tensor"].array.codes)
    assert table.label("tensor", int(tensors[4])) == "xGm"  # row 4: the copy from GM
