"""Perfetto (Chrome trace-event JSON) and CSV exports of a trace."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from tests.helpers.html_injection import EVIL
from ubscope.probe.events import EventKind
from ubscope.reports import perfetto
from ubscope.reports.csv_export import write_events_csv
from ubscope.reports.perfetto import write_perfetto


@pytest.fixture(scope="module")
def exported(hostile_analysis, tmp_path_factory):
    path = write_perfetto(hostile_analysis, tmp_path_factory.mktemp("export") / "trace.json")
    return json.loads(path.read_text())


def test_perfetto_json_has_tracks_slices_counters_and_findings(exported, hostile_analysis):
    events = exported["traceEvents"]
    phases = Counter(e["ph"] for e in events)
    kinds = hostile_analysis.context.events["kind"]
    assert phases["X"] == (kinds == "copy").sum() + (kinds == "compute").sum() + 1  # + launch
    assert phases["C"] == ((kinds == "alloc") | (kinds == "free")).sum()
    assert phases["i"] == len(hostile_analysis.findings)
    names = {
        (e["name"], e["pid"], e.get("tid"), e["args"]["name"])
        for e in events
        if e["ph"] == "M" and e["name"] in ("process_name", "thread_name")
    }
    assert ("process_name", 2, None, "AIV (vector cores)") in names
    assert ("thread_name", 2, 1, "aiv0") in names and ("thread_name", 2, 2, "aiv1") in names


def test_slices_keep_exact_times_and_names(exported, hostile_analysis):
    events = hostile_analysis.context.events
    copies = [e for e in exported["traceEvents"] if e.get("cat") == "copy"]
    first = events[events["kind"] == "copy"].iloc[0]
    slice_ = next(e for e in copies if e["args"]["seq"] == first["seq"])
    assert slice_["ts"] == first["start_ps"] / 1e6 and slice_["dur"] == first["dur_ps"] / 1e6
    assert slice_["name"] == f"GM->UB {EVIL}" and slice_["args"]["tag"] == EVIL
    assert (slice_["pid"], slice_["tid"]) == (2, 1)  # AIV process, thread of aiv0
    counter = next(e for e in exported["traceEvents"] if e["ph"] == "C" and e["name"] == "aiv0 UB")
    assert counter["args"]["live_bytes"] == 65536


def test_findings_are_instants_on_their_core(exported, hostile_analysis):
    instants = [e for e in exported["traceEvents"] if e["ph"] == "i"]
    overflow = next(e for e in instants if e["name"].startswith("UB001"))
    assert overflow["s"] == "t" and (overflow["pid"], overflow["tid"]) == (2, 1)
    assert overflow["args"]["message"] == next(
        f.message for f in hostile_analysis.findings if f.code == "UB001"
    )


def test_chunked_streaming_writes_the_same_json(hostile_analysis, tmp_path, monkeypatch):
    whole = write_perfetto(hostile_analysis, tmp_path / "whole.json").read_text()
    monkeypatch.setattr(perfetto, "CHUNK_EVENTS", 3)
    chunked = write_perfetto(hostile_analysis, tmp_path / "chunked.json").read_text()
    assert chunked == whole


def test_csv_round_trips_every_event(hostile_analysis, tmp_path):
    events = hostile_analysis.context.events
    path = write_events_csv(events, tmp_path / "events.csv", chunk_rows=7)
    back = pd.read_csv(path, keep_default_na=False)
    assert len(back) == len(events) and list(back.columns) == list(events.columns)
    assert back["kind"].tolist() == events["kind"].astype(str).tolist()
    assert back["tag"].tolist() == events["tag"].astype(str).tolist()
    assert (back["addr"].to_numpy() == events["addr"].to_numpy()).all()
    assert (back["kind"] == EventKind.REDZONE_WRITE.label).sum() == 1
    whole = write_events_csv(events, tmp_path / "whole.csv").read_text()
    assert path.read_text() == whole


def test_micros_print_picoseconds_exactly():
    """Six decimal places of µs, worked by hand: 1 ps = 0.000001 µs."""
    picoseconds = np.array([0, 1, 999_999, 1_000_000, 123_456_789_012_345, 2**62])
    assert perfetto._micros(picoseconds).to_pylist() == [
        "0.000000",
        "0.000001",
        "0.999999",
        "1.000000",
        "123456789.012345",
        "4611686018427.387904",  # 2**62 = 4611686018427387904
    ]


def test_threads_write_the_chunks_in_order(hostile_analysis, tmp_path, monkeypatch):
    """Chunks of 2 events formatted on 4 threads come out as one thread writes them."""
    monkeypatch.setattr(perfetto, "CHUNK_EVENTS", 2)
    monkeypatch.setattr(perfetto, "WORKERS", 1)
    serial = write_perfetto(hostile_analysis, tmp_path / "serial.json").read_text()
    monkeypatch.setattr(perfetto, "WORKERS", 4)
    threaded = write_perfetto(hostile_analysis, tmp_path / "threaded.json").read_text()
    assert threaded == serial
    json.loads(threaded)
