"""Perfetto (Chrome trace-event JSON) and CSV exports of a trace."""

from __future__ import annotations

import io
import json
import os
import time
from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tests.helpers.html_injection import EVIL
from ubscope.analyzers import analyze_path, api
from ubscope.probe.events import EventKind
from ubscope.probe.outputs import release_written
from ubscope.reports import perfetto
from ubscope.reports.csv_export import write_events_csv
from ubscope.reports.perfetto import export_perfetto, write_perfetto


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


def test_lines_print_repeated_and_distinct_columns_alike(monkeypatch):
    """Rows whose columns repeat (printed once per combination, then taken) and
    rows printed one by one give the same text, written out here by hand."""
    kinds = np.array([1, 1, 2, 2, 1, 1, 2, 2])  # repeats: one run with the label
    seqs = np.array([7, 8, 9, 10, 11, 12, 13, 14])  # all distinct
    labels = pa.array(["a", 'q\\"'])  # already JSON-escaped, as _escaped_labels makes them
    pieces = perfetto._object(
        [
            ("k", perfetto.Column(kinds)),
            ("s", perfetto.Column(seqs)),
            ("n", perfetto._quoted(perfetto._label(labels, kinds - 1))),
        ]
    )
    expected = [
        ',\n{"k":1,"s":7,"n":"a"}',
        ',\n{"k":1,"s":8,"n":"a"}',
        ',\n{"k":2,"s":9,"n":"q\\""}',
        ',\n{"k":2,"s":10,"n":"q\\""}',
        ',\n{"k":1,"s":11,"n":"a"}',
        ',\n{"k":1,"s":12,"n":"a"}',
        ',\n{"k":2,"s":13,"n":"q\\""}',
        ',\n{"k":2,"s":14,"n":"q\\""}',
    ]
    # SAMPLE 8: all 8 rows sampled, a run may hold 8 // 4 = 2 combinations:
    # kinds (2) start one, kinds with seqs (8) do not, the label (2) starts another
    monkeypatch.setattr(perfetto, "SAMPLE", 8)
    columns = [piece for piece in pieces if isinstance(piece, perfetto.Column)]
    assert perfetto._runs(columns) == [0, None, 2]
    assert perfetto._lines(pieces).to_pylist() == expected
    monkeypatch.setattr(perfetto, "SAMPLE", 1)  # a run may hold 1 // 4 = 0: all row by row
    assert perfetto._runs(columns) == [None, None, None]
    assert perfetto._lines(pieces).to_pylist() == expected


def test_codes_number_each_combination_once():
    """Equal codes exactly where the rows' value tuples are equal: for values
    2**40 apart (numbered by hashing first) and for four columns of 2**20
    values each, whose combinations (2**80) overflow int64 unless renumbered."""
    big = np.array([0, 2**40, 0, 2**40, 0, -(2**40)], dtype=np.int64)
    small = np.array([3, 3, 3, 4, 3, 3], dtype=np.int16)
    wide = np.array([0, 2**20 - 1, 0, 0, 0, 2**20 - 1], dtype=np.int64)
    columns = [big, small, wide, wide, wide, wide]
    codes, holders = perfetto._codes(columns)
    rows = list(zip(*(c.tolist() for c in columns), strict=True))
    # rows 0, 2 and 4 are (0, 3, 0, 0, 0, 0); rows 1, 3 and 5 each differ from all
    assert codes[0] == codes[2] == codes[4]
    assert len({codes[0], codes[1], codes[3], codes[5]}) == 4
    for code, holder in enumerate(holders):
        assert codes[holder] == code
        assert all(rows[row] == rows[holder] for row in np.flatnonzero(codes == code))


@pytest.mark.parametrize("slack", [4096, 0])
def test_codes_of_small_values_number_each_combination_once(slack, monkeypatch):
    """Values of small spans combine into keys below 3 * 9 = 27: numbered with a
    table (27 <= 4 * 6 rows + 4096) or, where the bound is large for the rows
    (27 > 4 * 6 + 0), by hashing; both number the same classes."""
    monkeypatch.setattr(perfetto, "_TABLE_SLACK", slack)
    tables: list[int] = []
    real_table = perfetto.small_codes
    monkeypatch.setattr(
        perfetto, "small_codes", lambda key, bound: tables.append(bound) or real_table(key, bound)
    )
    kinds = np.array([1, 3, 1, 3, 2, 1], dtype=np.int8)  # span 3
    cores = np.array([0, 0, 0, 0, 8, 5], dtype=np.int64)  # span 9
    codes, holders = perfetto._codes([kinds, cores])
    # (1, 0) at rows 0 and 2, (3, 0) at 1 and 3; (2, 8) and (1, 5) once each
    assert codes[0] == codes[2] and codes[1] == codes[3]
    assert len(set(codes.tolist())) == 4 == len(holders)
    for code, holder in enumerate(holders):
        rows = np.flatnonzero(codes == code)
        assert holder in rows
        assert len({(int(kinds[r]), int(cores[r])) for r in rows}) == 1
    assert tables == ([27] if slack else [])


def test_every_path_of_the_printer_writes_the_same_json(hostile_analysis, tmp_path, monkeypatch):
    """All columns printed row by row, all taken from per-chunk combinations,
    and written to disk in many small steps: one file."""
    monkeypatch.setattr(perfetto, "CHUNK_EVENTS", 3)
    monkeypatch.setattr(perfetto, "SAMPLE", 1)
    by_row = write_perfetto(hostile_analysis, tmp_path / "by_row.json").read_bytes()
    monkeypatch.setattr(perfetto, "SAMPLE", 1 << 20)
    synced: list[int] = []
    monkeypatch.setattr(perfetto, "release_written", lambda handle: synced.append(handle.tell()))
    monkeypatch.setattr(perfetto, "RELEASE_BYTES", 1)
    combined = write_perfetto(hostile_analysis, tmp_path / "combined.json").read_bytes()
    assert combined == by_row
    assert len(synced) > 3 and synced == sorted(synced)
    json.loads(by_row)


def test_release_written_keeps_the_bytes_and_skips_streams(tmp_path):
    """What was written before and after a release is all in the file; a
    pipe and a handle without a descriptor are left alone."""
    path = tmp_path / "out.bin"
    with open(path, "wb") as handle:
        handle.write(b"first ")
        release_written(handle)
        handle.write(b"second")
    assert path.read_bytes() == b"first second"
    release_written(io.BytesIO(b"in memory"))
    read, write = os.pipe()
    with os.fdopen(write, "wb") as pipe:
        pipe.write(b"piped")
        release_written(pipe)
    with os.fdopen(read, "rb") as back:
        assert back.read() == b"piped"


def test_export_writes_the_slices_while_the_rules_run(hostile_trace, tmp_path, monkeypatch):
    """export_perfetto gives the bytes write_perfetto gives after the analysis,
    and the slices reach the file before the rules have run (the rules here
    wait until they see the last slice in the file)."""
    after = write_perfetto(analyze_path(hostile_trace), tmp_path / "after.json").read_bytes()
    # its line up to the comma that the next chunk's first line brings
    last_slice = after.rsplit(b'"ph":"X"', 1)[1].split(b"\n", 1)[0].rstrip(b",")
    rules = api.run_rules
    seen: list[bool] = []

    def slow_rules(*args, **kwargs):
        partial = next(tmp_path.glob(".during.json.*.partial"))
        for _ in range(3000):  # the slice thread writes at its own pace (a bound, not a target)
            if last_slice in partial.read_bytes():
                break
            time.sleep(0.01)
        seen.append(last_slice in partial.read_bytes())
        return rules(*args, **kwargs)

    monkeypatch.setattr(perfetto, "RELEASE_BYTES", 1)  # each chunk flushed to the file
    monkeypatch.setattr(perfetto, "release_written", lambda handle: handle.flush())
    monkeypatch.setattr(api, "run_rules", slow_rules)
    during = export_perfetto(hostile_trace, tmp_path / "during.json").read_bytes()
    assert seen == [True]
    assert during == after


def test_a_failed_analysis_leaves_no_export(hostile_trace, tmp_path, monkeypatch):
    """The slice thread stops, the partial file goes, the old output stays."""
    target = tmp_path / "out.json"
    target.write_text("old")

    def broken(*args, **kwargs):
        raise RuntimeError("rule crashed")

    monkeypatch.setattr(api, "run_rules", broken)
    with pytest.raises(RuntimeError, match="rule crashed"):
        export_perfetto(hostile_trace, target)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
