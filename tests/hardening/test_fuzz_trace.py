"""Fuzzing the trace reader and the analysis standing on it.

Allowed outcomes: a Trace (its events a consistent prefix) or a TraceError
naming the file in one line; an Analysis (rendered as text, JSON and SARIF)
of whatever the reader accepted.
"""

from __future__ import annotations

import inspect
import json
import math
import struct
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ubscope.probe.chip import load_chip
from ubscope.probe.errors import TraceError
from ubscope.probe.events import EVENT_SCHEMA, ROW_FIELDS, ROW_WIDTH, CoreKind, Space
from ubscope.probe.recorder import RECORDING_CALLS, Recorder
from ubscope.probe.trace import (
    METADATA_KEY,
    TraceWriter,
    new_metadata,
    read_trace,
    write_table,
)

from .fuzzkit import (
    HOSTILE_INT64,
    HOSTILE_TEXT,
    PROFILE,
    check_stages,
    fuzz,
    hostile_bytes,
    hostile_json_values,
    scratch,
    write_input,
)

BYTES = "trace (.ubtrace bytes)"
CUTS = "trace (cut at message boundaries)"
EVENTS = "trace (hostile event values)"
METADATA = "trace (hostile metadata fields)"
CORRUPT = "trace (corrupt batch contents)"


def read_trace_in(worker, path: Path, label: str) -> dict:
    """read_trace + analysis + outputs in the worker; the read stage's info."""
    stages = check_stages(worker.run("trace", path=str(path)), label, names=str(path))
    info = stages[0]["info"]
    if stages[0]["outcome"] == "parsed":
        assert info["contiguous"], f"{label}: sequence numbers not contiguous from 0"
    return info


@fuzz()
@given(data=st.data())
def test_trace_bytes(worker, seed_traces, data):
    """Random bytes, real traces cut anywhere, with flipped / inserted /
    deleted / duplicated bytes and hostile tokens."""
    content = data.draw(hostile_bytes([path.read_bytes() for path in seed_traces]))
    with scratch() as folder:
        read_trace_in(worker, write_input(folder, "fuzzed.ubtrace", content), BYTES)


def _messages(data: bytes) -> list[tuple[int, int]]:
    """(end offset, rows) of every IPC message of a stream; schema and
    dictionary messages hold 0 rows."""
    reader = pa.BufferReader(data)
    batches = iter(pa.ipc.open_stream(data))
    found = []
    while True:
        try:
            message = pa.ipc.read_message(reader)
        except (pa.ArrowInvalid, OSError, EOFError):
            break
        if message is None:
            break
        rows = next(batches).num_rows if message.type == "record batch" else 0
        found.append((reader.tell(), rows))
    return found


def _cuts(data: bytes, messages: list[tuple[int, int]]) -> list[int]:
    """Offsets around every message end (every byte within 16 of one, and
    every 61st byte elsewhere, in the long profile)."""
    ends = [end for end, _ in messages]
    if PROFILE == "long":
        near = {end + delta for end in ends for delta in range(-16, 17)}
        near |= set(range(0, len(data), 61))
    else:
        near = {end + delta for end in ends for delta in (-9, -8, -1, 0, 1, 7)}
    return sorted(cut for cut in {0, 1, 4, 8, len(data), *near} if 0 <= cut <= len(data))


def test_truncation_at_every_message_boundary_recovers_every_complete_batch(
    worker, seed_traces, tmp_path
):
    """Cut a real trace before, at and after every message: the reader keeps
    exactly the complete batches before the cut, says how many it recovered,
    and the analysis runs on them."""
    data = seed_traces[1].read_bytes()
    messages = _messages(data)
    assert sum(rows for _, rows in messages) >= 16 * 4, "the seed should hold many batches"
    header_end = messages[0][0]
    for cut in _cuts(data, messages):
        path = write_input(tmp_path, f"cut{cut}.ubtrace", data[:cut])
        stages = check_stages(worker.run("trace", path=str(path)), CUTS, names=str(path))
        read = stages[0]
        if read["outcome"] == "error":
            assert read["type"] == "TraceError" and cut < header_end, f"cut at {cut}: {read}"
            continue
        expected = sum(rows for end, rows in messages if end <= cut)
        assert read["info"]["events"] == expected and read["info"]["contiguous"], f"cut {cut}"
        if cut < len(data):
            assert not read["info"]["complete"]
            assert len(read["warnings"]) == 1, read["warnings"]
            assert f"recovered {expected:,} events" in read["warnings"][0]
        else:
            assert read["info"]["complete"] and not read["warnings"]
        path.unlink()


# -- valid files full of hostile values ---------------------------------------------

_ENUMS = {"core_kind": CoreKind, "space": Space, "src_space": Space, "dst_space": Space}
_TEXT_ARGS = {"name", "tag", "tensor", "op", "cache", "label", "mode"}


def _row_arrays() -> st.SearchStrategy:
    row = st.lists(
        st.sampled_from(HOSTILE_INT64) | st.integers(-64, 4096),
        min_size=ROW_WIDTH,
        max_size=ROW_WIDTH,
    )
    return st.lists(row, max_size=4).map(
        lambda rows: np.array(rows, np.int64).reshape(-1, ROW_WIDTH)
    )


def _argument(name: str) -> st.SearchStrategy:
    if name in _ENUMS:
        return st.sampled_from([int(value) for value in _ENUMS[name]])
    if name in _TEXT_ARGS:
        return st.sampled_from(HOSTILE_TEXT) | st.text(max_size=12)
    if name == "allocated":
        return st.booleans()
    if name == "rows":  # Recorder.extend: whole rows recorded elsewhere (the CPU twin)
        return _row_arrays() | st.sampled_from(HOSTILE_INT64)
    if name == "columns":  # Recorder.extend_columns: the same rows, column by column
        return _row_arrays().map(
            lambda rows: {field: rows[:, i] for i, field in enumerate(ROW_FIELDS)}
        )
    return st.sampled_from(HOSTILE_INT64) | st.integers(-64, 4096)


def _call(call: str) -> st.SearchStrategy:
    parameters = list(inspect.signature(getattr(Recorder, call)).parameters)[1:]
    return st.tuples(st.just(call), st.fixed_dictionaries({p: _argument(p) for p in parameters}))


HOSTILE_EVENTS = st.lists(st.one_of([_call(call) for call in RECORDING_CALLS]), max_size=40)


def _write_events(path: Path, meta: dict, events: list, batch: int) -> int:
    """Record ``events``; the recorder refuses out-of-range values (a ValueError
    from the call or from the flush that drops them). Returns how many it refused."""
    writer = TraceWriter(path, meta)
    recorder = Recorder(sink=writer.write, batch_events=batch)
    refused = 0
    for call, arguments in [*events, ("flush", {})]:
        try:
            getattr(recorder, call)(**arguments)
        except (OverflowError, ValueError):
            refused += 1
    writer.close()
    return refused


@fuzz(weight=0.5)
@given(
    events=HOSTILE_EVENTS,
    kernel=st.sampled_from(HOSTILE_TEXT),
    params=st.dictionaries(st.sampled_from(HOSTILE_TEXT), hostile_json_values(), max_size=3),
    batch=st.integers(1, 8),
)
def test_hostile_events(worker, events, kernel, params, batch):
    """Huge, negative and zero sizes and addresses, negative core ids, events
    in any order, hostile names and parameters: read_trace, the whole
    analysis and its text/json/sarif output give a result or a one-line
    UbscopeError."""
    meta = new_metadata(load_chip().to_dict(), kernel, params, {"read": 64, "write": 64})
    with scratch() as folder:
        path = folder / "hostile.ubtrace"
        _write_events(path, meta, events, batch)
        # the reader accepts whatever the recorder wrote (probe/validate.py)
        assert "events" in read_trace_in(worker, path, EVENTS), "the reader refused it"


def test_negative_core_id_is_refused_by_the_recorder(worker, tmp_path):
    """The smallest case the fuzzer found, one allocation on core -2, is not
    recorded; the trace holds the other events and reads cleanly."""
    meta = new_metadata(load_chip().to_dict(), "k", {}, {"read": 0, "write": 0})
    alloc = {
        "core_kind": int(CoreKind.AIV),
        "space": int(Space.UB),
        "addr": 0,
        "size": 32,
        "aligned_size": 32,
        "name": "b",
        "tag": "t",
        "t_ps": 0,
    }
    events = [("alloc", {**alloc, "core": -2}), ("alloc", {**alloc, "core": 0})]
    assert _write_events(tmp_path / "core.ubtrace", meta, events, 1) == 1
    assert read_trace_in(worker, tmp_path / "core.ubtrace", EVENTS)["events"] == 1


# Every field of the chip profile a trace embeds, and the other metadata views read.
CHIP_FIELDS = tuple(load_chip().to_dict())
META_FIELDS = ("kernel", "params", "minimal_traffic", "preset", "chip")
WRONG_VALUES = (None, -1, 0, math.nan, math.inf, "x", 10**30, {}, [], True)


@pytest.mark.parametrize("field", [f"chip.{name}" for name in CHIP_FIELDS] + list(META_FIELDS))
def test_hostile_metadata(worker, seed_traces, tmp_path, field):
    """A trace whose metadata has a wrong-typed, out-of-range or missing field
    (hand-edited, or written by another tool) is a one-line TraceError or is
    analyzed; never another exception."""
    events = pa.ipc.open_stream(seed_traces[0].read_bytes()).read_all()
    base = read_trace(seed_traces[0]).meta
    problems = []
    for value in (*WRONG_VALUES, "<deleted>"):
        meta = json.loads(json.dumps(base))
        holder, key = (meta["chip"], field[5:]) if field.startswith("chip.") else (meta, field)
        if value == "<deleted>":
            holder.pop(key, None)
        else:
            holder[key] = value
        path = tmp_path / "meta.ubtrace"
        write_table(path, meta, events.replace_schema_metadata(None))
        try:
            read_trace_in(worker, path, METADATA)
        except AssertionError as problem:
            problems.append(f"{value!r}: {problem}")
    assert not problems, f"metadata {field}: " + "; ".join(problems)


@pytest.mark.parametrize("version", [2, 999, -1, "1", None, 1.5, 10**30])
def test_schema_versions(tmp_path, version):
    """A newer schema says upgrade; a non-integer one is a clear error."""
    meta = new_metadata(load_chip().to_dict(), "k", {})
    meta["schema_version"] = version
    path = tmp_path / "v.ubtrace"
    TraceWriter(path, meta).close()
    if isinstance(version, int) and version <= 1:
        assert read_trace(path).event_count == 0
        return
    with pytest.raises(TraceError) as error:
        read_trace(path)
    assert "\n" not in str(error.value) and str(path) in str(error.value)
    if isinstance(version, int):
        assert "newer" in str(error.value) and "upgrade" in str(error.value)


@pytest.mark.parametrize("depth", [900, 5_000, 100_000])
def test_deeply_nested_metadata(worker, tmp_path, depth):
    """Trace metadata is JSON from the file: nesting must not blow the stack."""
    meta = new_metadata(load_chip().to_dict(), "k", {}, {"read": 0, "write": 0})
    text = json.dumps(meta)
    raw = text[:-1] + ', "params_extra": ' + "[" * depth + "]" * depth + "}"
    schema = EVENT_SCHEMA.with_metadata({METADATA_KEY: raw.encode()})
    path = tmp_path / "nested.ubtrace"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema):
        pass
    read_trace_in(worker, path, METADATA)


def _corrupt_batches() -> dict[str, object]:
    """Ways a batch can be corrupt while its framing is intact (found by the
    long profile): a body length of 2**56 bytes, dictionary indices past the
    dictionary, string dictionaries that are not UTF-8."""
    return {"huge-body-length": None, "index-out-of-range": "index", "invalid-utf8": "utf8"}


def _bad_name_column(batch: pa.RecordBatch, kind: str) -> pa.RecordBatch:
    position = batch.schema.get_field_index("name")
    column = batch.column(position)
    if kind == "index":
        indices = pa.array(np.full(len(batch), 999, np.int32))
        array = pa.DictionaryArray.from_arrays(indices, column.dictionary, safe=False)
    else:
        offsets = pa.py_buffer(np.array([0, 3], np.int32).tobytes())
        strings = pa.Array.from_buffers(
            pa.utf8(), 1, [None, offsets, pa.py_buffer(b"\xff\xfe\xfd")]
        )
        array = pa.DictionaryArray.from_arrays(pa.array(np.zeros(len(batch), np.int32)), strings)
    return batch.set_column(position, batch.schema.field("name"), array)


def _huge_body_length(path: Path) -> None:
    """Rewrite the third record batch's body length field to 2**56."""
    data = bytearray(path.read_bytes())
    reader = pa.BufferReader(bytes(data))
    seen = 0
    while True:
        start = reader.tell()
        message = pa.ipc.read_message(reader)
        if message.type == "record batch":
            seen += 1
            if seen == 3:
                break
    header = bytes(data[start : start + 8 + message.metadata.size])
    offset = start + header.index(struct.pack("<q", message.body.size))
    data[offset : offset + 8] = struct.pack("<q", 2**56)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("corruption", list(_corrupt_batches()))
def test_corrupt_batch_keeps_the_complete_prefix(worker, tmp_path, corruption):
    recorder = Recorder(batch_events=4)
    for index in range(16):
        recorder.alloc(int(CoreKind.AIV), 0, int(Space.UB), index * 32, 32, 32, "buf", "t", index)
    batches = recorder.batches()
    path = tmp_path / f"{corruption}.ubtrace"
    writer = TraceWriter(path, new_metadata(load_chip().to_dict(), "k", {}))
    kind = _corrupt_batches()[corruption]
    for index, batch in enumerate(batches):
        writer.write(_bad_name_column(batch, kind) if kind and index == 2 else batch)
    writer.close()
    if corruption == "huge-body-length":
        _huge_body_length(path)
    info = read_trace_in(worker, path, CORRUPT)
    if info:  # parsed: only whole, valid batches before the corrupt one
        assert info["events"] in (0, 4, 8) and info["contiguous"]
