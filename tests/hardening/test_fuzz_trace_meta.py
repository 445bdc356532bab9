"""Fuzzing the header reader of probe/trace_meta.py (the TUI's first screen and
folder listings) against pyarrow reading the same bytes.

Allowed outcomes for any bytes starting like an Arrow stream: pyarrow's
metadata where pyarrow opens the stream, else a one-line TraceError; where
pyarrow refuses the schema (a corrupt column type) the header reader may still
return metadata: the events' reader reports the rest.
"""

from __future__ import annotations

import struct

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from ubscope.probe.errors import TraceError
from ubscope.probe.trace_meta import STREAM_MAGIC, header_metadata

from .fuzzkit import fuzz, hostile_bytes, scratch, write_input


def _header(trace: bytes) -> bytes:
    """The schema message of a trace and the next message's first 8 bytes."""
    return trace[: 8 + struct.unpack_from("<i", trace, 4)[0] + 8]


@fuzz()
@given(data=st.data())
def test_header_bytes(seed_traces, data):
    content = data.draw(hostile_bytes([_header(path.read_bytes()) for path in seed_traces]))
    with scratch() as folder:
        path = write_input(folder, "fuzzed.ubtrace", content)
        try:
            expected = pa.ipc.open_stream(str(path)).schema.metadata or {}
        except (pa.ArrowException, OSError, ValueError, MemoryError):
            expected = None
        try:
            found = header_metadata(path)
        except TraceError as exc:
            assert "\n" not in str(exc)
            # pyarrow also reads a stream of the pre-1.0 framing (no marker); traces never are
            assert expected is None or not content.startswith(STREAM_MAGIC), content[:64]
            return
        assert expected is None or found == expected, content[:64]
