"""A trace is validated before it is analyzed (probe/validate.py).

Each attack of the hardening issue (section 2, and the trace bullets of
section 1) is one case: a wrong column type, a null, an unknown or reordered
enumeration, hostile chip metadata, a value the recorder itself would not
write, and decompression bombs. Every one ends in a one-line error (exit 2)
naming the column and the first bad event, or in the readable prefix plus a
warning; never a traceback or a silently wrong answer.

The memory attacks run in a child process under RLIMIT_AS (the child's address
space after its imports plus ``MEMORY_BUDGET``) and a time bound, at a small
scale by default and at the issue's full scale with ``UBSCOPE_SCALE_TESTS=1``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from ubscope.cli import main
from ubscope.probe.chip import load_chip
from ubscope.probe.errors import PartialReadWarning, TraceError
from ubscope.probe.events import EVENT_SCHEMA, CoreKind, EventKind, Space, enum_labels
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import METADATA_KEY, new_metadata, read_trace
from ubscope.probe.validate import MAX_BATCH_ROWS

FULL_SCALE = os.environ.get("UBSCOPE_SCALE_TESTS") == "1"
MEMORY_BUDGET = 300 << 20
CHILD_SECONDS = 600 if FULL_SCALE else 120
BAD_ROW = 3


def _meta(**changes) -> dict:
    meta = new_metadata(load_chip().to_dict(), "k", {}, {"read": 256, "write": 256})
    meta.update(changes)
    return meta


def _recorded() -> pa.Table:
    """Four alloc/free pairs of 256 B in UB: the last one past capacity would
    not matter here; what matters is that frees follow allocs."""
    recorder = Recorder()
    for index in range(4):
        recorder.alloc(CoreKind.AIV, 0, Space.UB, 512 * index, 256, 256, f"b{index}", "t", index)
        recorder.free(CoreKind.AIV, 0, Space.UB, 512 * index, 256, 256, f"b{index}", "t", 9)
    return recorder.table()


def _write(
    path: Path,
    batches: list[pa.RecordBatch] | pa.Table,
    meta: dict | None = None,
    level: int | None = None,
) -> Path:
    table = batches if isinstance(batches, pa.Table) else pa.Table.from_batches(batches)
    schema = table.schema.with_metadata({METADATA_KEY: json.dumps(meta or _meta()).encode()})
    options = pa.ipc.IpcWriteOptions(
        compression=pa.Codec("zstd", compression_level=level) if level else "zstd",
        emit_dictionary_deltas=True,
    )
    with pa.ipc.new_stream(str(path), schema, options=options) as writer:
        for batch in table.to_batches() if isinstance(batches, pa.Table) else batches:
            writer.write_batch(batch)
    return path


def _replace(table: pa.Table, column: str, array: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(column), column, array)


def _one_line_exit_2(capsys, argv: list[str], *needles: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err


def test_a_column_name_that_is_not_utf8_is_a_one_line_error(tmp_path, capsys):
    """Found by the long fuzz profile: a flipped byte inside a column name made
    pyarrow raise UnicodeDecodeError when the names were read. The name is
    patched in place (same length), so the file is otherwise a valid stream."""
    path = _write(tmp_path / "t.ubtrace", _recorded())
    data = path.read_bytes()
    assert data.count(b"start_ps") == 1
    path.write_bytes(data.replace(b"start_ps", b"st\xf2rt_ps"[:8]))
    with pytest.raises(TraceError, match="not UTF-8"):
        read_trace(path)
    _one_line_exit_2(capsys, ["analyze", str(path)], "not UTF-8")


# -- column types ------------------------------------------------------------------
def _as_text(values: pa.Array) -> pa.Array:
    return pa.array([str(v) for v in values.to_pylist()])


def _float_with_nan(values: pa.Array) -> pa.Array:
    floats = values.to_numpy().astype(float)
    floats[1], floats[2] = math.nan, math.inf
    return pa.array(floats)


WRONG_TYPES = {
    "size as text": ("size", _as_text, "string"),
    "start_ps float with NaN and inf": ("start_ps", _float_with_nan, "double"),
    "name as int64": ("name", lambda v: pa.array(range(len(v)), pa.int64()), "int64"),
    "addr as a list": ("addr", lambda v: pa.array([[x] for x in v.to_pylist()]), "list"),
    # the silent false negative: kinds that no longer match any rule
    "kind as plain strings": ("kind", lambda v: v.dictionary_decode(), "string"),
}


@pytest.mark.parametrize("case", list(WRONG_TYPES))
def test_a_column_of_the_wrong_type_is_a_one_line_error(tmp_path, capsys, case):
    column, change, shown = WRONG_TYPES[case]
    table = _recorded()
    table = _replace(table, column, change(table.column(column).combine_chunks()))
    path = _write(tmp_path / "typed.ubtrace", table)
    with pytest.raises(TraceError, match=f"column '{column}' is {shown}"):
        read_trace(path)
    _one_line_exit_2(capsys, ["analyze", str(path)], str(path), f"column '{column}'")
    budget = tmp_path / "budget.yaml"
    budget.write_text("default:\n  findings: {error: 0}\n")
    _one_line_exit_2(capsys, ["check", str(path), "--budget", str(budget)], f"column '{column}'")


# -- nulls ---------------------------------------------------------------------------
@pytest.mark.parametrize("column", ["size", "addr", "core", "flags", "space", "start_ps", "name"])
def test_a_null_is_an_error_naming_the_column_and_the_event(tmp_path, capsys, column):
    table = _recorded()
    values = table.column(column).combine_chunks()
    mask = pa.array(np.arange(len(values)) == BAD_ROW)
    if pa.types.is_dictionary(values.type):
        indices = pa.compute.if_else(mask, pa.scalar(None, values.indices.type), values.indices)
        nulled = pa.DictionaryArray.from_arrays(indices, values.dictionary)
    else:
        nulled = pa.compute.if_else(mask, pa.scalar(None, values.type), values)
    path = _write(tmp_path / "null.ubtrace", _replace(table, column, nulled))
    with pytest.raises(TraceError, match=f"column '{column}', event {BAD_ROW}: is null"):
        read_trace(path)
    _one_line_exit_2(capsys, ["analyze", str(path)], f"column '{column}', event {BAD_ROW}")


# -- enumerations by name -----------------------------------------------------------
def _with_space_dictionary(table: pa.Table, labels: list[str], code: int) -> pa.Table:
    """The space column over ``labels``, with event BAD_ROW pointing at ``code``."""
    spaces = table.column("space").combine_chunks()
    by_label = {label: labels.index(label) for label in enum_labels(Space)}
    codes = [by_label[label] for label in spaces.to_pylist()]
    codes[BAD_ROW] = code
    dictionary = pa.DictionaryArray.from_arrays(
        pa.array(codes, pa.int8()), pa.array(labels), safe=False
    )
    return _replace(table, "space", dictionary)


def test_an_unknown_space_is_an_error_naming_it(tmp_path, capsys):
    """Space code 100 of a dictionary whose entry 100 is not a memory space."""
    labels = enum_labels(Space) + [f"pad{i}" for i in range(93)] + ["HBM"]
    assert labels.index("HBM") == 100
    path = _write(tmp_path / "space.ubtrace", _with_space_dictionary(_recorded(), labels, 100))
    with pytest.raises(TraceError, match=f"column 'space', event {BAD_ROW}: unknown value 'HBM'"):
        read_trace(path)
    _one_line_exit_2(capsys, ["analyze", str(path)], "column 'space'")


def test_a_space_code_outside_its_dictionary_ends_the_readable_prefix(tmp_path):
    """Code 100 of a 7-entry dictionary: that batch is corrupt, the batch before
    it is kept with a warning."""
    good = _recorded()
    bad = _with_space_dictionary(_recorded(), enum_labels(Space), 100)
    bad = _replace(bad, "seq", pa.array(np.arange(len(good), 2 * len(good))))
    path = _write(tmp_path / "space.ubtrace", good.to_batches() + bad.to_batches())
    with pytest.warns(PartialReadWarning, match=f"recovered {len(good):,} events"):
        trace = read_trace(path)
    assert trace.event_count == len(good) and not trace.complete


def test_a_reordered_kind_dictionary_is_read_by_name(tmp_path):
    """The same kinds under a reversed dictionary: frees stay frees."""
    table = _recorded()
    kinds = table.column("kind").combine_chunks()
    reversed_labels = enum_labels(EventKind)[::-1]
    codes = [reversed_labels.index(label) for label in kinds.to_pylist()]
    reordered = pa.DictionaryArray.from_arrays(
        pa.array(codes, pa.int8()), pa.array(reversed_labels)
    )
    path = _write(tmp_path / "kinds.ubtrace", _replace(table, "kind", reordered))
    events = read_trace(path).events
    # recorded as alloc, free, alloc, free, ...: codes 2 and 3 of EventKind
    assert events["kind"].astype(str).tolist() == ["alloc", "free"] * 4
    assert events["kind"].cat.codes.tolist() == [EventKind.ALLOC, EventKind.FREE] * 4


def _names_in_batches(dictionaries: list[list[str]], picks: list[list[int]]) -> pa.Table:
    """The recorded events (4 allocs + 4 frees) cut into one batch per entry of
    ``picks``, each batch's names given as indices into its own dictionary."""
    table = _recorded()
    batches, first = [], 0
    for labels, codes in zip(dictionaries, picks, strict=True):
        part = table.slice(first, len(codes))
        names = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(labels))
        batches.append(_replace(part, "name", names).combine_chunks().to_batches()[0])
        first += len(codes)
    return pa.Table.from_batches(batches)


def test_names_are_read_by_label_when_the_dictionary_changes_between_batches(tmp_path):
    """Batch 1 uses only "b0" of ["b0", "b1"]; batch 2 brings the same dictionary
    and uses "b1" first; batch 3 replaces it with ["b1", "b0"] (a reorder, not a
    delta: written as a new dictionary) and batch 4 grows that by a delta. The
    reader keeps each dictionary's codes between batches: every name must still
    follow its own batch's dictionary."""
    dictionaries = [["b0", "b1"], ["b0", "b1"], ["b1", "b0"], ["b1", "b0", "b2", "b3"]]
    picks = [[0, 0], [1, 1], [1, 0], [2, 2]]
    path = _write(tmp_path / "names.ubtrace", _names_in_batches(dictionaries, picks))
    names = read_trace(path).events["name"].astype(str).tolist()
    # each pick read in its own dictionary by hand
    assert names == ["b0", "b0", "b1", "b1", "b0", "b1", "b2", "b2"]


def test_an_unknown_kind_first_used_in_a_later_batch_is_still_an_error(tmp_path):
    """The kind dictionary holds a label no event kind has; the first batch does
    not use it, the second (same dictionary) does at its second row: event 5."""
    table = _recorded()
    labels = [*enum_labels(EventKind), "teleport"]
    kinds = [enum_labels(EventKind).index(k) for k in table.column("kind").to_pylist()]
    kinds[5] = len(labels) - 1
    column = pa.DictionaryArray.from_arrays(pa.array(kinds, pa.int8()), pa.array(labels))
    path = _write(tmp_path / "kinds.ubtrace", _replace(table, "kind", column).to_batches(4))
    with pytest.raises(TraceError, match="column 'kind', event 5: unknown value 'teleport'"):
        read_trace(path, strict=True)


# -- values the recorder refuses, the reader refuses too ------------------------------
def test_host_event_on_core_minus_two_is_refused_by_recorder_and_reader(tmp_path, capsys):
    recorder = Recorder()
    recorder.mark("ok", 0)
    with pytest.raises(ValueError, match="1 event\\(s\\) not recorded: core is -2"):
        recorder.mark("bad", 1, core_kind=CoreKind.HOST, core=-2)
        recorder.flush()
    assert recorder.table().num_rows == 1  # the valid event was kept

    table = _recorded()
    cores = table.column("core").to_numpy().copy()
    kinds = table.column("kind").combine_chunks().indices.to_numpy().copy()
    cores[BAD_ROW], kinds[BAD_ROW] = -2, EventKind.MARK
    table = _replace(table, "core", pa.array(cores, pa.int16()))
    host = table.column("core_kind").combine_chunks().indices.to_numpy().copy()
    host[BAD_ROW] = CoreKind.HOST
    labels = pa.array(enum_labels(CoreKind))
    table = _replace(table, "core_kind", pa.DictionaryArray.from_arrays(pa.array(host), labels))
    path = _write(tmp_path / "host.ubtrace", table)
    with pytest.raises(TraceError, match=f"column 'core', event {BAD_ROW}: core is -2"):
        read_trace(path)
    out = tmp_path / "host.json"
    _one_line_exit_2(
        capsys, ["export", str(path), "--format", "perfetto", "-o", str(out)], "column 'core'"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    "column, value",
    [("size", -1), ("addr", -4096), ("dur_ps", -5), ("start_ps", 1 << 62), ("core", 1 << 15)],
)
def test_out_of_range_values_are_refused_by_both(tmp_path, column, value):
    """Negative sizes, addresses and durations, times near int64's end (their
    sums would wrap), a core index past int16: refused when recorded and when read."""
    recorder = Recorder()
    args = {
        "core_kind": CoreKind.AIV,
        "core": 0,
        "space": Space.UB,
        "addr": 0,
        "size": 32,
        "aligned_size": 32,
        "name": "b",
        "tag": "t",
        "t_ps": 0,
    }
    recorded = {"start_ps": "t_ps"}.get(column, column)
    if recorded in args:
        recorder.alloc(**{**args, recorded: value})
        with pytest.raises(ValueError, match=f"not recorded: {column} is {value}"):
            recorder.flush()
    table = _recorded()
    if column == "core":
        return  # the int16 column cannot hold it: only the recorder can be handed it
    values = table.column(column).to_numpy().copy()
    values[BAD_ROW] = value
    table = _replace(table, column, pa.array(values, table.schema.field(column).type))
    with pytest.raises(TraceError, match=f"column '{column}', event {BAD_ROW}: {column} is"):
        read_trace(_write(tmp_path / "range.ubtrace", table))


# -- metadata ------------------------------------------------------------------------
def _chip_with(**figures) -> dict:
    chip = load_chip().to_dict()
    for name, value in figures.items():
        if name == "UB":
            chip["capacity"]["UB"] = value
        else:
            chip[name] = value
    return chip


HOSTILE_METADATA = {
    "UB of 2**63 bytes": ({"chip": _chip_with(UB=2**63)}, "memory.UB"),
    "UB of 1e30 bytes": ({"chip": _chip_with(UB=1e30)}, "memory.UB"),
    "bandwidth 1e-300 B/s": ({"chip": _chip_with(gm_bandwidth=1e-300)}, "gm.bandwidth_gb_per_s"),
    "5e-324 FLOP/s": ({"chip": _chip_with(peak_fp16_flops=5e-324)}, "compute.fp16_tflops"),
    "NaN minimal traffic": ({"minimal_traffic": {"read": math.nan}}, "minimal_traffic.read"),
}


@pytest.mark.parametrize("case", list(HOSTILE_METADATA))
@pytest.mark.parametrize("command", ["analyze", "report"])
def test_hostile_metadata_is_a_one_line_error(tmp_path, capsys, case, command):
    changes, field = HOSTILE_METADATA[case]
    path = _write(tmp_path / "meta.ubtrace", _recorded(), _meta(**changes))
    with pytest.raises(TraceError, match=field.replace(".", r"\.")):
        read_trace(path)
    argv = [command, str(path)] + (["-o", str(tmp_path / "r.html")] if command == "report" else [])
    _one_line_exit_2(capsys, argv, field)


# -- memory: bombs and many small pieces --------------------------------------------
CHILD = """
import json, resource, sys, warnings
from ubscope.probe.trace import read_trace
status = open("/proc/self/status").read()
size = int(status.split("VmSize:")[1].split()[0]) * 1024
limit = size + int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    trace = read_trace(sys.argv[1])
print(json.dumps({"events": trace.event_count, "complete": trace.complete,
                  "warnings": [str(w.message) for w in caught]}))
"""


def _read_in_child(path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(MEMORY_BUDGET)],
        capture_output=True,
        text=True,
        timeout=CHILD_SECONDS,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _zero_batch(rows: int, dictionary: pa.Array | None = None) -> pa.RecordBatch:
    """``rows`` all-zero events (numpy's zeros are not touched until read, so
    building this costs no memory)."""
    arrays = []
    for field in EVENT_SCHEMA:
        if pa.types.is_dictionary(field.type):
            index = field.type.index_type.to_pandas_dtype()
            labels = dictionary if dictionary is not None and field.name == "name" else None
            if labels is None:
                labels = pa.array(
                    enum_labels(_ENUM_OF[field.name]) if field.name in _ENUM_OF else [""]
                )
            arrays.append(pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, index)), labels))
        else:
            arrays.append(pa.array(np.zeros(rows, field.type.to_pandas_dtype())))
    return pa.RecordBatch.from_arrays(arrays, schema=EVENT_SCHEMA)


_ENUM_OF = {"kind": EventKind, "core_kind": CoreKind, "space": Space, "src_space": Space}


def _repeated(path: Path, batch: pa.RecordBatch, copies: int) -> Path:
    """A stream of ``copies`` identical zstd-19 batches; the batch is compressed
    twice and its message bytes repeated (the issue's 696 KB bomb)."""
    once = _write(path.with_suffix(".once"), [batch], level=19).read_bytes()
    twice = _write(path.with_suffix(".twice"), [batch, batch], level=19).read_bytes()
    message = twice[len(once) - 8 : -8]
    path.write_bytes(twice[:-8] + message * (copies - 2) + twice[-8:])
    return path


@pytest.mark.slow
def test_zero_bomb_is_refused_before_it_is_decompressed(tmp_path):
    """The same all-zero batch of more rows than a batch may hold, repeated:
    nothing is decompressed, no event is kept, one warning says why."""
    rows, copies = (8_000_000, 25) if FULL_SCALE else (MAX_BATCH_ROWS + 1, 3)
    path = _repeated(tmp_path / "bomb.ubtrace", _zero_batch(rows), copies)
    assert path.stat().st_size < 2_000_000
    result = _read_in_child(path)
    assert result["events"] == 0 and not result["complete"]
    assert "at most 1,048,576" in result["warnings"][0], result


@pytest.mark.slow
def test_batches_claiming_more_rows_than_the_file_holds_are_refused(tmp_path):
    """Batches of the largest allowed size, all zeros: a file of a few KB
    cannot honestly hold millions of events."""
    path = _repeated(
        tmp_path / "bomb.ubtrace", _zero_batch(MAX_BATCH_ROWS), 25 if FULL_SCALE else 3
    )
    result = _read_in_child(path)
    assert result["events"] == 0 and "more than a file of this size holds" in result["warnings"][0]


@pytest.mark.slow
def test_a_dictionary_far_larger_than_the_events_is_refused(tmp_path):
    """A 292-event batch whose name dictionary has millions of entries."""
    entries = 3_000_000 if FULL_SCALE else 200_000
    names = pa.array([f"n{i}" for i in range(entries)])
    batch = _zero_batch(292, names)
    batch = batch.set_column(0, "seq", pa.array(np.arange(292)))
    result = _read_in_child(_write(tmp_path / "dict.ubtrace", [batch]))
    assert result["events"] == 0 and "dictionary claims" in result["warnings"][0], result


@pytest.mark.slow
def test_many_one_event_batches_are_read_in_bounded_memory(tmp_path):
    """Every event in its own batch (a recorder flushing after each event):
    all are read, within the memory budget."""
    events = 300_000 if FULL_SCALE else 20_000
    path = tmp_path / "small.ubtrace"
    with pa.OSFile(str(path), "wb") as sink:
        schema = EVENT_SCHEMA.with_metadata({METADATA_KEY: json.dumps(_meta()).encode()})
        with pa.ipc.new_stream(sink, schema) as writer:
            recorder = Recorder(sink=writer.write_batch, batch_events=1)
            for index in range(events):
                recorder.mark("m", index)
    result = _read_in_child(path)
    assert result == {"events": events, "complete": True, "warnings": []}


def test_batches_are_consolidated_into_one_frame(tmp_path):
    """Many batches read back as the same events as one batch would."""
    recorder = Recorder(batch_events=3)
    for index in range(50):
        recorder.mark(f"m{index % 7}", index, value=index)
    path = _write(tmp_path / "many.ubtrace", recorder.batches())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        events = read_trace(path).events
    assert events["seq"].tolist() == list(range(50))
    assert events["arg"].tolist() == list(range(50))
    assert events["name"].astype(str).tolist() == [f"m{i % 7}" for i in range(50)]
