"""The twin's event stream (probe/ascendc/events.py) read as the child writes it:
strings, then events column by column at their Arrow widths, 8 B aligned. The
streams here are built byte by byte with struct and numpy from the layout the
C++ side documents (ubscope_twin/runtime.h), not by the reader."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest

from ubscope.probe.ascendc.events import record_stream
from ubscope.probe.events import ROW_FIELDS, CoreKind, EventKind, Flag, Space
from ubscope.probe.recorder import Recorder

# The widths runtime.h writes each field at (FIELD_BYTES), in ROW_FIELDS order.
WIDTHS = dict(
    zip(ROW_FIELDS, (1, 1, 2, 1, 8, 8, 8, 1, 8, 8, 4, 4, 4, 4, 8, 8, 8, 8, 4), strict=True)
)


def chunk(kind: int, count: int, payload: bytes) -> bytes:
    return struct.pack("<IIQ", kind, count, len(payload)) + payload


def strings_chunk(*texts: str) -> bytes:
    body = b"".join(struct.pack("<I", len(t.encode())) + t.encode() for t in texts)
    return chunk(1, len(texts), body)


def events_chunk(rows: list[dict[str, int]]) -> bytes:
    """Each column at its width, padded to a multiple of 8 bytes."""
    body = b""
    for name, width in WIDTHS.items():
        column = np.array([row.get(name, 0) for row in rows], dtype=f"<i{width}").tobytes()
        body += column + b"\0" * (-len(column) % 8)
    return chunk(2, len(rows), body)


def end_chunk(end_ps: int) -> bytes:
    return chunk(4, 1, struct.pack("<q", end_ps))


SOURCE = ["", "pipe.InitBuffer(xQueue, 2, 2048);"]  # line 2 holds the InitBuffer


def queue_name(site: str) -> str | None:
    line = int(site.rpartition(":")[2])
    return "xQueue" if "InitBuffer(xQueue" in SOURCE[line - 1] else None


# Child string ids: 1 "k.cpp:2" (the InitBuffer site), 2 "k.cpp:9", 3 "x".
QUEUE = {"kind": EventKind.QUEUE_INIT, "core_kind": CoreKind.AIV, "space": Space.UB,
         "size": 4096, "aligned_size": 2048, "name": 1, "tag": 1, "arg": 2, "flags": 0}  # fmt: skip
COPY = {"kind": EventKind.COPY, "core_kind": CoreKind.AIV, "core": 3, "space": Space.UB,
        "addr": 512, "size": 2000, "aligned_size": 1984, "src_space": Space.GM,
        "src_addr": (1 << 40) + 96, "burst_len": 1984, "burst_count": 1, "tensor": 3, "tag": 2,
        "start_ps": 10_000, "dur_ps": 74_000, "flags": Flag.TRUNCATED}  # fmt: skip


def test_columns_become_the_recorded_events_with_the_recorders_strings() -> None:
    stream = strings_chunk("k.cpp:2", "k.cpp:9", "x") + events_chunk([QUEUE, COPY])
    recorder = Recorder()
    recorder.intern("earlier")  # the recorder's ids differ from the child's
    log = record_stream(io.BytesIO(stream + end_chunk(123_456)), recorder, queue_name)
    assert (log.events, log.end_ps, log.failure, log.last_tag) == (2, 123_456, None, "k.cpp:9")
    table = recorder.table().to_pylist()
    queue, copy = table
    # The queue is named by the variable its InitBuffer line passes; its tag stays the site.
    assert (queue["kind"], queue["name"], queue["tag"], queue["arg"]) == (
        "queue_init",
        "xQueue",
        "k.cpp:2",
        2,
    )
    assert {k: copy[k] for k in ("kind", "core_kind", "core", "space", "src_space")} == {
        "kind": "copy", "core_kind": "aiv", "core": 3, "space": "UB", "src_space": "GM"}  # fmt: skip
    wide = (
        "addr",
        "size",
        "aligned_size",
        "src_addr",
        "burst_len",
        "burst_count",
        "start_ps",
        "dur_ps",
        "flags",
    )
    assert {k: copy[k] for k in wide} == {k: int(COPY[k]) for k in wide}
    assert (copy["tensor"], copy["tag"], copy["seq"]) == ("x", "k.cpp:9", 1)


def test_a_chunk_cut_short_ends_the_stream_with_what_came_before() -> None:
    whole = strings_chunk("k.cpp:2", "k.cpp:9", "x") + events_chunk([QUEUE])
    cut = events_chunk([COPY])[:-5]  # the child died writing it
    recorder = Recorder()
    log = record_stream(io.BytesIO(whole + cut), recorder, queue_name)
    assert (log.events, log.end_ps, log.last_tag) == (1, None, "k.cpp:2")
    assert recorder.event_count == 1


def test_a_value_too_wide_for_its_column_is_rejected_not_wrapped() -> None:
    # runtime.h writes a value that does not fit its column as the column type's
    # minimum: a burst count of 2^31 becomes -2^31, outside 0..2^31-1.
    wrapped = {**COPY, "burst_count": -(1 << 31)}
    stream = strings_chunk("k.cpp:2", "k.cpp:9", "x") + events_chunk([QUEUE, wrapped])
    recorder = Recorder()
    with pytest.raises(ValueError, match="1 event.s. not recorded: burst_count is -2147483648"):
        record_stream(io.BytesIO(stream), recorder, queue_name)
    assert recorder.table().column("kind").to_pylist() == ["queue_init"]


def test_a_chunk_whose_size_does_not_match_its_count_is_an_error() -> None:
    body = events_chunk([QUEUE])[16:]
    with pytest.raises(ValueError, match="twin event chunk of"):
        record_stream(io.BytesIO(chunk(2, 2, body)), Recorder(), queue_name)
