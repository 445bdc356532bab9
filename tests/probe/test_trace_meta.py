"""The header reader of probe/trace_meta.py against pyarrow, which reads the
same schema message with Arrow's own FlatBuffers code (the oracle)."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import pyarrow as pa
import pytest

from ubscope.probe.errors import TraceError
from ubscope.probe.events import EVENT_SCHEMA, SCHEMA_VERSION
from ubscope.probe.trace_meta import header_metadata, read_metadata

REPO = Path(__file__).parents[2]


def pyarrow_metadata(path: Path) -> dict[bytes, bytes] | None:
    """What pyarrow finds in the schema's custom metadata; None when it cannot open the stream."""
    try:
        return pa.ipc.open_stream(str(path)).schema.metadata or {}
    except (pa.ArrowException, OSError, ValueError, MemoryError):
        return None


def _stream(schema: pa.Schema, rows: int = 3) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_table(pa.table({name: [0] * rows for name in schema.names}, schema=schema))
    return sink.getvalue()


def _schema_message_end(data: bytes) -> int:
    """Where the first message (the schema: marker, length, flatbuffer) ends."""
    return 8 + struct.unpack_from("<i", data, 4)[0]


@pytest.mark.parametrize("trace", sorted((REPO / "sample_profiles").glob("*.ubtrace")), ids=str)
def test_sample_traces_read_as_pyarrow_reads_them(trace):
    assert header_metadata(trace) == pyarrow_metadata(trace)
    meta = read_metadata(trace)
    assert meta == json.loads(pyarrow_metadata(trace)[b"ubscope"])  # plain ASCII samples
    assert meta["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize(
    "metadata",
    [
        None,  # no custom metadata at all: the Schema table has no slot 2
        {b"": b""},  # empty strings
        {b"a": b"1", b"ubscope": b'{"schema_version": 1}', b"z" * 300: bytes(range(256))},
        pa.KeyValueMetadata([(b"k", b"first"), (b"k", b"second")]),  # pyarrow keeps the first
    ],
    ids=["none", "empty", "several", "duplicate key"],
)
def test_custom_metadata_of_any_shape(tmp_path, metadata):
    path = tmp_path / "s.arrows"
    schema = pa.schema([("a", pa.int64()), ("b", pa.dictionary(pa.int8(), pa.string()))])
    path.write_bytes(_stream(pa.schema(schema, metadata=metadata), rows=0))
    assert header_metadata(path) == pyarrow_metadata(path)


def test_every_cut_of_the_header_is_refused_as_pyarrow_refuses_it(tmp_path):
    """A trace cut at any byte up to just past its schema message: the header
    reader gives pyarrow's metadata where pyarrow opens the stream, and a
    one-line TraceError exactly where pyarrow cannot."""
    data = _stream(EVENT_SCHEMA.with_metadata({b"ubscope": b'{"schema_version": 1}'}), rows=0)
    end = _schema_message_end(data)
    path = tmp_path / "cut.ubtrace"
    for cut in range(end + 9):
        path.write_bytes(data[:cut])
        expected = pyarrow_metadata(path) if cut else None
        if expected is None:
            with pytest.raises(TraceError) as info:
                header_metadata(path)
            assert "\n" not in str(info.value)
        else:
            assert cut >= end and header_metadata(path) == expected


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty file"),
        (b"PK\x03\x04 a zip", "not a ubscope trace"),
        (b"\xff\xff\xff\xff\x10\x00", "truncated or corrupt"),
        (b"\xff\xff\xff\xff\x00\x00\x00\x00", "truncated or corrupt"),  # end of stream first
        (b"\xff\xff\xff\xff\xf0\xff\xff\xff" + bytes(64), "truncated or corrupt"),  # length < 0
        # 20 bytes of a record batch where the schema should be: the root offset 12
        # leads to the Message table, whose soffset 8 leads to its vtable at 4
        # (8 bytes; slot 0 absent, slot 1 header_type at +4), and header_type 3.
        (
            b"\xff\xff\xff\xff\x14\x00\x00\x00"
            + struct.pack("<IHHHH", 12, 8, 8, 0, 4)
            + struct.pack("<iB3x", 8, 3),
            r"truncated or corrupt, no events readable \(the first message is not a schema\)",
        ),
        # An offset pointing far past the message.
        (
            b"\xff\xff\xff\xff\x08\x00\x00\x00" + struct.pack("<II", 1 << 30, 0),
            "truncated or corrupt",
        ),
    ],
)
def test_foreign_cut_and_malformed_headers(tmp_path, content, message):
    path = tmp_path / "bad.ubtrace"
    path.write_bytes(content)
    assert pyarrow_metadata(path) is None or not content.startswith(b"\xff\xff\xff\xff")
    with pytest.raises(TraceError, match=message) as info:
        read_metadata(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_metadata_checks_are_those_of_read_trace(tmp_path):
    """No ``ubscope`` key, bad JSON, a newer schema version: read_metadata and
    read_trace refuse the file with the same message."""
    from ubscope.probe.trace import read_trace

    cases = {
        "plain": None,
        "json": b"{not json",
        "newer": json.dumps({"schema_version": SCHEMA_VERSION + 1}).encode(),
    }
    for name, raw in cases.items():
        path = tmp_path / f"{name}.ubtrace"
        metadata = None if raw is None else {b"ubscope": raw}
        path.write_bytes(_stream(EVENT_SCHEMA.with_metadata(metadata), rows=0))
        with pytest.raises(TraceError) as light:
            read_metadata(path)
        with pytest.raises(TraceError) as full:
            read_trace(path)
        assert str(light.value) == str(full.value), name
