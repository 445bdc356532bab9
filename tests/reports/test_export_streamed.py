"""Exports of a trace bigger than memory (issue 17): one pass over the batches
writes the same Perfetto events and the same CSV as the in-memory export (the
independent implementation here), in bounded memory."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest

from tests.helpers.rebatch import rebatch, rebatch_table
from ubscope.analyzers.streaming import decide
from ubscope.cli import main
from ubscope.probe import validate
from ubscope.probe.errors import InputError
from ubscope.probe.events import EVENT_SCHEMA
from ubscope.probe.trace import read_metadata
from ubscope.reports import perfetto
from ubscope.reports.csv_export import export_events_csv
from ubscope.reports.perfetto import export_perfetto

SAMPLES = Path(__file__).resolve().parents[2] / "sample_profiles"
# traces whose events cover every kind the export writes: slices of copies and
# computes, counters of several cores and spaces, launches, findings
TRACES = ("pool_demo_pool_no_reset", "paged_attention_healthy", "sparse_matmul_fragmentation")


def _events(path: Path) -> tuple[dict, Counter[str]]:
    """The document without its events, and its events as a multiset (the
    streamed export writes them in another order: viewers sort by time)."""
    document = json.loads(path.read_text())
    events = Counter(json.dumps(event, sort_keys=True) for event in document.pop("traceEvents"))
    return document, events


# (trace, events per batch, events per chunk): one batch and chunk each, and
# several batches to a chunk and several chunks (a few events each for the
# small trace)
CASES = [(name, 65536, 131_072) for name in TRACES] + [
    ("pool_demo_pool_no_reset", 7, 30),
    ("paged_attention_healthy", 1000, 2500),
    ("sparse_matmul_fragmentation", 3000, 7000),
]


@pytest.mark.parametrize("name, rows, chunk", CASES)
def test_streamed_perfetto_export_writes_the_in_memory_events(
    name, rows, chunk, tmp_path, monkeypatch
):
    trace = rebatch(SAMPLES / f"{name}.ubtrace", tmp_path / f"{name}.ubtrace", rows)
    in_memory = export_perfetto(trace, tmp_path / "memory.json")
    # chunks of a few batches: each core's counter is cut between chunks, and
    # the names of the cores are gathered over all of them
    monkeypatch.setattr(perfetto, "STREAM_CHUNK_EVENTS", chunk)
    streamed = export_perfetto(trace, tmp_path / "streamed.json", stream=True)
    memory_document, memory_events = _events(in_memory)
    streamed_document, streamed_events = _events(streamed)
    assert streamed_document == memory_document
    assert streamed_events == memory_events
    kinds = Counter(json.loads(event)["ph"] for event in streamed_events.elements())
    assert {"M", "X", "C"} <= set(kinds)
    # the host's process name opens the event list in both
    first = '"traceEvents":[\n{"ph":"M","name":"process_name","pid":1,'
    assert first in in_memory.read_text() and first in streamed.read_text()


def test_streamed_perfetto_export_keeps_the_findings(tmp_path):
    trace = SAMPLES / "pool_demo_pool_no_reset.ubtrace"
    _, events = _events(export_perfetto(trace, tmp_path / "s.json", stream=True))
    findings = [json.loads(e) for e in events.elements() if json.loads(e).get("cat") == "finding"]
    # the sample overflows UB (UB001) on its cores: the instants sit on a core's track
    assert any(f["name"].startswith("UB001") and f["s"] == "t" for f in findings)


@pytest.mark.parametrize("rows", [65536, 500])
def test_streamed_csv_export_is_the_same_file(rows, tmp_path):
    trace = rebatch(SAMPLES / "layernorm_out_of_place.ubtrace", tmp_path / "t.ubtrace", rows)
    in_memory = export_events_csv(trace, tmp_path / "memory.csv")
    streamed = export_events_csv(trace, tmp_path / "streamed.csv", stream=True, chunk_rows=5)
    assert streamed.read_bytes() == in_memory.read_bytes()


def test_streamed_csv_export_of_a_trace_without_events_is_the_header(tmp_path):
    source = SAMPLES / "pool_demo_healthy.ubtrace"
    with pa.ipc.open_stream(source) as reader:
        empty = reader.read_all().slice(0, 0)
    trace = rebatch_table(empty, read_metadata(source), tmp_path / "empty.ubtrace", 10)
    streamed = export_events_csv(trace, tmp_path / "streamed.csv", stream=True)
    # the trace's column names, as docs/export-formats.md lists them, and no row
    assert streamed.read_text().splitlines() == [",".join(EVENT_SCHEMA.names)]
    assert streamed.read_bytes() == export_events_csv(trace, tmp_path / "memory.csv").read_bytes()


def test_export_streams_a_trace_too_big_for_memory(tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(
        perfetto, "analyze_streamed", lambda *a, **k: calls.append(1) or _fail("streamed")
    )
    trace = SAMPLES / "pool_demo_healthy.ubtrace"
    # plenty of memory: in memory, no streaming
    assert main(["export", str(trace), "-o", str(tmp_path / "a.json")]) == 0
    assert not calls
    monkeypatch.setattr(decide.psutil, "virtual_memory", lambda: SimpleNamespace(available=1024))
    with pytest.raises(RuntimeError, match="streamed"):
        main(["export", str(trace), "-o", str(tmp_path / "b.json")])
    assert calls and not (tmp_path / "b.json").exists()


def test_export_stream_option_writes_both_formats(tmp_path, capsys):
    trace = SAMPLES / "pool_demo_healthy.ubtrace"
    for fmt in ("perfetto", "csv"):
        target = tmp_path / f"out.{fmt}"
        assert main(["export", str(trace), "--stream", "--format", fmt, "-o", str(target)]) == 0
        assert target.stat().st_size > 0
    json.loads((tmp_path / "out.perfetto").read_text())


def _fail(what: str) -> None:
    raise RuntimeError(what)


def test_streamed_export_writes_its_chunks_off_the_analysis_thread(tmp_path, monkeypatch):
    """The analysis thread only hands chunks over: writing (and each trip to
    disk, an fdatasync) happens on the writer's thread, so the analysis never
    waits for the disk. Only the closing objects, after the analysis, are
    written by the thread that ran it."""
    trace = rebatch(SAMPLES / "paged_attention_healthy.ubtrace", tmp_path / "t.ubtrace", 1000)
    monkeypatch.setattr(perfetto, "STREAM_CHUNK_EVENTS", 2500)
    writers: list[bool] = []  # per write: was it on the analysis' thread?
    real_lines = perfetto._Output.lines

    def lines(self, text):
        writers.append(threading.current_thread() is threading.main_thread())
        real_lines(self, text)

    monkeypatch.setattr(perfetto._Output, "lines", lines)
    export_perfetto(trace, tmp_path / "s.json", stream=True)
    *chunks, closing = writers
    assert len(chunks) >= 2 and not any(chunks) and closing


def test_streamed_export_stops_on_a_full_disk_and_leaves_no_file(tmp_path, monkeypatch):
    trace = rebatch(SAMPLES / "paged_attention_healthy.ubtrace", tmp_path / "t.ubtrace", 1000)
    monkeypatch.setattr(perfetto, "STREAM_CHUNK_EVENTS", 2500)
    written = []

    def full_after_one(handle, lines):
        if written:
            raise OSError(28, "No space left on device")
        written.append(len(lines))
        return 0

    monkeypatch.setattr(perfetto, "_write", full_after_one)
    with pytest.raises(InputError, match="No space left on device"):
        export_perfetto(trace, tmp_path / "s.json", stream=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.ubtrace"]


@pytest.mark.parametrize("fmt", ["perfetto", "csv"])
def test_streamed_exports_check_each_event_once(fmt, tmp_path, monkeypatch):
    """The analysis' pass checks every event's values; the export decodes the
    same batches again (and the kept events) without checking them twice."""
    trace = rebatch(SAMPLES / "paged_attention_healthy.ubtrace", tmp_path / "t.ubtrace", 1000)
    monkeypatch.setattr(perfetto, "STREAM_CHUNK_EVENTS", 2500)
    checked: list[int] = []  # the sequence numbers whose values were checked
    real_check = validate.row_problems

    def row_problems(columns):
        checked.extend(columns["seq"].tolist())
        return real_check(columns)

    monkeypatch.setattr(validate, "row_problems", row_problems)
    if fmt == "perfetto":
        export_perfetto(trace, tmp_path / "s.json", stream=True)
    else:
        export_events_csv(trace, tmp_path / "s.csv", stream=True)
    with pa.ipc.open_stream(trace) as reader:
        events = sum(batch.num_rows for batch in reader)
    assert sorted(checked) == list(range(events))
