"""``summarize_trace`` (what ``ubscope trace info`` prints) streams the batches
and keeps no column, yet says what a whole read of the file says. The oracle
here reads the file whole with pyarrow and counts with pandas and a loop."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pyarrow as pa
import pytest

from ubscope.cli import main
from ubscope.probe.chip import load_chip
from ubscope.probe.errors import PartialReadWarning
from ubscope.probe.events import EventKind, enum_labels
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import METADATA_KEY, TraceWriter, new_metadata, write_table
from ubscope.probe.trace_info import summarize_trace
from ubscope.probe.units import format_time_ps

SAMPLES = sorted((Path(__file__).parents[2] / "sample_profiles").glob("*.ubtrace"))


def _whole_file(path: Path) -> tuple[dict, list]:
    """(event counts by kind, most first; launches by name) and the rows'
    (kind, name, start_ps, dur_ps), from the stream read whole."""
    with pa.OSFile(str(path)) as source:
        try:
            table = pa.ipc.open_stream(source).read_all()
        except (pa.ArrowInvalid, OSError):  # a cut file: the batches before the cut
            source.seek(0)
            reader, batches = pa.ipc.open_stream(source), []
            try:
                while True:
                    batches.append(reader.read_next_batch())
            except (StopIteration, pa.ArrowInvalid, OSError):
                table = pa.Table.from_batches(batches, reader.schema)
    frame = table.select(["kind", "name", "start_ps", "dur_ps"]).to_pandas()
    # as the events' frame holds kinds: categories in enum order
    frame["kind"] = frame["kind"].cat.set_categories(enum_labels(EventKind))
    counts = {str(k): int(v) for k, v in frame["kind"].value_counts().items() if v}
    launches = frame.loc[frame["kind"] == "kernel_begin", "name"].astype(str)
    names = {str(k): int(v) for k, v in launches.value_counts(sort=False).items()}
    return {"counts": counts, "launches": names}, list(frame.itertuples(index=False))


def _modelled_time_ps(rows: list) -> int:
    """Each launch ends at the start of the last kernel_end before the next
    kernel_begin; one without ends where the latest event does (a kernel_end's
    dur_ps is its launch's length, not its own)."""
    reach = max(
        (start if kind == "kernel_end" else start + dur for kind, _, start, dur in rows),
        default=0,
    )
    launches: list[list[int]] = []
    for kind, _, start, _ in rows:
        if kind == "kernel_begin":
            launches.append([start, -1])
        elif kind == "kernel_end" and launches:
            launches[-1][1] = start
    return sum((end if end >= 0 else reach) - start for start, end in launches)


def _check(path: Path) -> dict:
    expected, rows = _whole_file(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PartialReadWarning)
        summary = summarize_trace(path)
    # dicts compare without order: the item lists check it
    assert list(summary["event_counts"].items()) == list(expected["counts"].items())
    assert list(summary["launches"].items()) == list(expected["launches"].items())
    assert summary["events"] == len(rows)
    assert summary["modelled_time"] == format_time_ps(_modelled_time_ps(rows))
    return summary


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_sample_profiles_summarize_as_a_whole_read_does(path: Path) -> None:
    summary = _check(path)
    assert summary["state"] == "complete"


def _launches(path: Path, batch_events: int, cut: bool = False) -> None:
    """Three launches of two kernels across small batches: the first closed by
    two kernel_ends (the later counts), the second by one in a later batch,
    the third by none when ``cut``."""
    writer = TraceWriter(path, new_metadata(load_chip().to_dict(), "k", {}, {}))
    rec = Recorder(sink=writer.write, batch_events=batch_events)
    rec.kernel_begin("a", 1, 0, "vector")
    for i in range(5):
        rec.mark("step", 1_000 * i)
    rec.kernel_end("a", 6_000, 6_000)
    rec.kernel_end("a", 7_000, 7_000)
    rec.kernel_begin("b", 2, 10_000, "vector")
    for i in range(7):
        rec.mark("step", 11_000 + 1_000 * i)
    rec.kernel_end("b", 20_000, 10_000)
    rec.kernel_begin("a", 1, 30_000, "vector")
    rec.mark("late", 45_000)
    if not cut:
        rec.kernel_end("a", 50_000, 20_000)
    rec.flush()
    writer.close()


@pytest.mark.parametrize("batch_events", [1, 3, 4, 1000])
def test_launches_pair_across_batches(tmp_path: Path, batch_events: int) -> None:
    path = tmp_path / "launches.ubtrace"
    _launches(path, batch_events)
    summary = _check(path)
    # by hand: a 0..7 µs (its later end), b 10..20 µs, a 30..50 µs
    assert summary["modelled_time"] == format_time_ps(7_000 + 10_000 + 20_000)
    assert summary["launches"] == {"a": 2, "b": 1}


def test_a_launch_without_its_end_ends_at_the_last_event(tmp_path: Path) -> None:
    path = tmp_path / "cut.ubtrace"
    _launches(path, batch_events=2, cut=True)
    summary = _check(path)
    # the last launch, from 30 µs, ends at the mark at 45 µs: 7 + 10 + 15 µs
    assert summary["modelled_time"] == format_time_ps(7_000 + 10_000 + 15_000)


def test_a_cut_file_is_summarized_as_far_as_it_reads(tmp_path: Path) -> None:
    path = tmp_path / "cut.ubtrace"
    _launches(path, batch_events=2)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.warns(PartialReadWarning):
        summary = summarize_trace(path)
    assert summary["state"].startswith("truncated (truncated after ")
    _check(path)


def test_trace_info_json_is_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "launches.ubtrace"
    _launches(path, batch_events=4)
    assert main(["trace", "info", "--json", str(path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    # a: begin, 5 marks, 2 ends; b: begin, 7 marks, end; a again: begin, mark, end
    assert shown["launches"] == {"a": 2, "b": 1} and shown["events"] == 8 + 9 + 3


def test_an_unused_foreign_kind_in_the_dictionary_is_ignored(tmp_path: Path) -> None:
    """Only the dictionary entries rows use are validated (probe/validate.py), so
    an unused one is no error for the summary either."""
    sample = SAMPLES[0]
    with pa.OSFile(str(sample)) as source:
        table = pa.ipc.open_stream(source).read_all()
    kind = table.column("kind").combine_chunks()
    padded = pa.DictionaryArray.from_arrays(
        kind.indices, pa.array([*kind.dictionary.to_pylist(), "not_a_kind"])
    )
    path = tmp_path / "padded.ubtrace"
    meta = json.loads(table.schema.metadata[METADATA_KEY])
    write_table(path, meta, table.set_column(table.schema.get_field_index("kind"), "kind", padded))
    assert _check(path)["event_counts"] == summarize_trace(sample)["event_counts"]


def test_a_long_value_wraps_under_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recorded command line of a CPU-twin run is longer than 80 columns:
    it wraps at words onto lines indented past its key, none ending in a space
    (a pipe kept the space rich broke at), and reads back whole."""
    with pa.OSFile(str(SAMPLES[0])) as source:
        table = pa.ipc.open_stream(source).read_all()
    meta = json.loads(table.schema.metadata[METADATA_KEY])
    command = [
        "ubscope",
        "run",
        "/home/user/kernels/add_custom/add_custom.cpp",
        "--block-dim",
        "8",
        "--input",
        "x=float16:8x2048",
        "--input",
        "y=float16:8x2048",
        "-o",
        "z=float16:8x2048",
    ]
    path = tmp_path / "long.ubtrace"
    write_table(path, {**meta, "command": command}, table)
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["trace", "info", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("command: "))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("  "))
    shown = lines[start:end]
    assert len(shown) >= 2 and all(len(line) <= 80 for line in shown)
    assert [line for line in lines if line.endswith(" ")] == []
    assert " ".join(line.strip() for line in shown) == "command: " + " ".join(command)
