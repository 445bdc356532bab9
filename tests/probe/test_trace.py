"""The .ubtrace format: round trip, recovery after SIGKILL, clear errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import pyarrow as pa
import pytest

from ubscope.probe.errors import PartialReadWarning, TraceError
from ubscope.probe.events import EVENT_SCHEMA, SCHEMA_VERSION, CoreKind, Space
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import (
    METADATA_KEY,
    TraceWriter,
    is_trace_file,
    new_metadata,
    read_metadata,
    read_trace,
)


def write_trace(path, chip, events=1000, batch=100):
    writer = TraceWriter(
        path, new_metadata(chip.to_dict(), "k", {"tile": 64}, {"read": 10, "write": 5})
    )
    rec = Recorder(sink=writer.write, batch_events=batch)
    for i in range(events):
        rec.copy(
            core_kind=CoreKind.AIV,
            core=i % 4,
            src_space=Space.GM,
            src_addr=4096 * i,
            dst_space=Space.UB,
            dst_addr=32 * (i % 8),
            size=256,
            moved=256,
            burst_len=256,
            burst_count=1,
            tensor=f"tensor{i % 3}",
            tag="copyin",
            start_ps=1000 * i,
            dur_ps=500,
        )
    rec.flush()
    writer.close()


def test_round_trip_keeps_every_column_and_the_metadata(tmp_path, chip):
    path = tmp_path / "t.ubtrace"
    write_trace(path, chip, events=1000, batch=128)
    trace = read_trace(path)
    ev = trace.events
    assert trace.complete and len(ev) == 1000
    assert list(ev.columns) == EVENT_SCHEMA.names
    assert ev.seq.tolist() == list(range(1000))
    assert ev.tensor.astype(str).tolist()[:4] == ["tensor0", "tensor1", "tensor2", "tensor0"]
    assert (ev.kind == "copy").all() and (ev.space == "UB").all() and (ev.src_space == "GM").all()
    assert ev.src_addr.iloc[999] == 4096 * 999 and ev.start_ps.iloc[10] == 10_000
    assert trace.kernel == "k" and trace.params == {"tile": 64}
    assert trace.meta["minimal_traffic"] == {"read": 10, "write": 5}
    assert trace.chip == chip
    assert read_metadata(path)["kernel"] == "k"


def test_truncated_file_recovers_every_complete_batch(tmp_path, chip):
    path = tmp_path / "t.ubtrace"
    write_trace(path, chip, events=1000, batch=100)
    data = path.read_bytes()
    cut = tmp_path / "cut.ubtrace"
    recovered = []
    for end in range(len(data) - 1, 0, -max(1, len(data) // 40)):
        cut.write_bytes(data[:end])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                trace = read_trace(cut)
            except TraceError as exc:  # header itself cut: nothing readable
                assert "no events readable" in str(exc) or "not a ubscope trace" in str(exc)
                continue
        ev = trace.events
        assert not trace.complete
        assert [w.category for w in caught] == [PartialReadWarning]
        assert f"recovered {len(ev):,} events" in str(caught[0].message)
        assert len(ev) % 100 == 0  # whole batches only
        assert ev.seq.tolist() == list(range(len(ev)))
        recovered.append(len(ev))
    assert recovered == sorted(recovered, reverse=True) and recovered[0] >= 900


def test_strict_read_of_a_truncated_trace_is_an_error(tmp_path, chip):
    path = tmp_path / "t.ubtrace"
    write_trace(path, chip)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(TraceError, match="truncated"):
        read_trace(path, strict=True)


WRITER = textwrap.dedent(
    """
    import sys
    from ubscope.probe.chip import load_chip
    from ubscope.probe.events import Space
    from ubscope.probe.recorder import Recorder
    from ubscope.probe.trace import TraceWriter, new_metadata
    writer = TraceWriter(sys.argv[1], new_metadata(load_chip().to_dict(), "killed", {}))
    rec = Recorder(sink=writer.write, batch_events=500)
    print("ready", flush=True)
    i = 0
    while True:
        rec.copy(1, 0, Space.GM, i * 32, Space.UB, 0, 32, 32, 32, 1, "x", "loop", i, 1)
        i += 1
    """
)


@pytest.mark.slow
def test_reader_recovers_a_prefix_after_sigkill(tmp_path):
    for attempt in range(3):
        path = tmp_path / f"killed{attempt}.ubtrace"
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.2 + 0.15 * attempt)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # An unfinished trace never takes the target name; it stays in its temporary file.
        assert not path.exists()
        (partial,) = tmp_path.glob(f".{path.name}.*.partial")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trace = read_trace(partial)
        ev = trace.events
        assert len(ev) > 0 and len(ev) % 500 == 0
        assert ev.seq.tolist() == list(range(len(ev)))
        assert (ev.src_addr.to_numpy() == ev.seq.to_numpy() * 32).all()  # every event complete
        assert not trace.complete
        assert any(f"recovered {len(ev):,} events" in str(w.message) for w in caught)


def _schema_file(path, meta: dict | None, raw: bytes | None = None):
    metadata = {METADATA_KEY: raw if raw is not None else json.dumps(meta).encode()}
    with pa.ipc.new_stream(str(path), EVENT_SCHEMA.with_metadata(metadata)) as writer:
        writer.write_table(EVENT_SCHEMA.empty_table())


def test_newer_schema_version_is_a_clear_error(tmp_path):
    path = tmp_path / "new.ubtrace"
    _schema_file(path, {"schema_version": SCHEMA_VERSION + 1})
    with pytest.raises(TraceError, match="newer than this ubscope reads"):
        read_trace(path)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty file"),
        (b"Component,Timestamp(us)\nAPP,1\n", "not a ubscope trace"),
        (b"\x00" * 100, "not a ubscope trace"),
        (b"\xff\xff\xff\xff\x10\x00", "no events readable"),
    ],
)
def test_foreign_or_empty_files_are_rejected_in_one_line(tmp_path, content, message):
    path = tmp_path / "bad.ubtrace"
    path.write_bytes(content)
    with pytest.raises(TraceError, match=message) as info:
        read_trace(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_arrow_stream_without_ubscope_metadata_is_rejected(tmp_path):
    path = tmp_path / "plain.arrows"
    with pa.ipc.new_stream(str(path), pa.schema([("a", pa.int64())])) as writer:
        writer.write_table(pa.table({"a": [1]}))
    with pytest.raises(TraceError, match="not a ubscope trace"):
        read_trace(path)


def test_bad_metadata_json_is_rejected(tmp_path):
    path = tmp_path / "m.ubtrace"
    _schema_file(path, None, raw=b"{not json")
    with pytest.raises(TraceError, match="not valid JSON"):
        read_trace(path)


def test_missing_and_directory_paths(tmp_path):
    with pytest.raises(TraceError, match="no such file"):
        read_trace(tmp_path / "nope.ubtrace")
    with pytest.raises(TraceError, match="is a directory"):
        read_trace(tmp_path)


def test_is_trace_file_by_name_or_by_its_first_bytes(tmp_path, chip):
    renamed = tmp_path / "recording.bin"
    write_trace(renamed, chip, events=10)
    text = tmp_path / "notes.txt"
    text.write_text("not a trace")
    assert is_trace_file(renamed)
    assert is_trace_file(tmp_path / "missing.ubtrace")  # the name says so
    assert not is_trace_file(text)
    assert not is_trace_file(tmp_path / "missing.bin")
    assert not is_trace_file(tmp_path)  # a folder
