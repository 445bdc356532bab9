"""A run that writes past on-chip capacity is marked "would fault on the device" in
its trace's metadata (the recorder notes the first red-zone write, the writer adds it
when the recording finishes); a healthy run is not, and an old trace reads as before."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip
from ubscope.probe.device_fault import DeviceFault
from ubscope.probe.errors import TraceError
from ubscope.probe.events import EVENT_SCHEMA, FIELD_INDEX, CoreKind, Space
from ubscope.probe.recorder import NullRecorder, Recorder
from ubscope.probe.trace import (
    FINAL_KEY,
    METADATA_KEY,
    TraceWriter,
    new_metadata,
    read_trace,
)
from ubscope.probe.trace_info import summarize_trace

# Small planted runs: pool_demo never resets its pool, int4_gemm's tiles outgrow UB.
PLANTED = {
    ("pool_demo", "pool_no_reset"): {"cores": 2, "n": 81920, "tile": 8192},
    ("int4_gemm", "ub_overflow"): {"m": 2, "k": 1024, "n": 256},
}

VALID = DeviceFault("aiv", 0, "UB", 196_600, 64, 56, "copy_in", 0, 1).to_metadata()


def _record_fault(recorder: Recorder, tag: str = "copy_in") -> None:
    # A 4 KiB write at 190 KiB of a 192 KiB UB: 2 KiB land past capacity.
    recorder.redzone_write(CoreKind.AIV, 3, Space.UB, 190 * 1024, 4096, 2048, tag, 5_000)


def test_the_recorder_keeps_the_first_red_zone_write_and_counts_them_all():
    recorder = Recorder()
    assert recorder.device_fault is None and recorder.final_metadata() == {}
    _record_fault(recorder)
    recorder.redzone_write(CoreKind.AIV, 0, Space.UB, 200_000, 64, 64, "later", 9_000)
    assert recorder.device_fault == DeviceFault(
        core_kind="aiv",
        core=3,
        space="UB",
        addr=190 * 1024,
        nbytes=4096,
        past_capacity=2048,
        tag="copy_in",
        t_ps=5_000,
        writes=2,
    )
    assert recorder.final_metadata() == {"device_fault": recorder.device_fault.to_metadata()}
    assert recorder.device_fault.describe() == (
        "would fault on the device: aiv3 wrote 4.0 KiB at UB 0x2f800 at call site 'copy_in', "
        "2.0 KiB of it past the UB capacity; 1 more red-zone write followed"
    )


def test_rows_appended_whole_count_too():
    # The Ascend C twin hands its events over as rows (Recorder.extend).
    source = Recorder()
    source.mark("begin", 0)
    _record_fault(source, tag="add.cpp:12")
    _record_fault(source, tag="add.cpp:13")
    rows = source.table().to_pandas()
    recorder = Recorder()
    ids = {text: recorder.intern(text) for text in ("begin", "add.cpp:12", "add.cpp:13")}
    matrix = np.zeros((len(rows), len(FIELD_INDEX)), dtype=np.int64)
    for column, index in FIELD_INDEX.items():
        values = rows[column]
        if column in ("name", "tag", "tensor"):
            matrix[:, index] = [ids.get(str(v), 0) for v in values]
        elif hasattr(values, "cat"):
            matrix[:, index] = values.cat.codes
        else:
            matrix[:, index] = values
    recorder.extend(matrix)
    fault = recorder.device_fault
    assert fault is not None and fault.tag == "add.cpp:12" and fault.writes == 2


def test_the_null_recorder_notes_nothing():
    recorder = NullRecorder()
    _record_fault(recorder)
    assert recorder.device_fault is None


def _write(path, faults: int, final: bool = True) -> Recorder:
    """A one-launch trace with ``faults`` red-zone writes; ``final``: written as
    ubscope writes it now, else as before it noted faults (no final metadata)."""
    writer = TraceWriter(path, new_metadata(load_chip().to_dict(), "k", {}))
    recorder = Recorder(sink=writer.write)
    recorder.kernel_begin("k", 1, 0, "vector")
    for _ in range(faults):
        _record_fault(recorder, tag="[b]<x>[/b]")
    recorder.flush()
    writer.close(recorder.final_metadata() if final else None)
    return recorder


def test_the_fault_travels_in_the_metadata_written_at_the_end(tmp_path):
    recorder = _write(tmp_path / "fault.ubtrace", faults=1)
    trace = read_trace(tmp_path / "fault.ubtrace", strict=True)
    assert trace.complete
    assert trace.meta["device_fault"] == recorder.device_fault.to_metadata()
    assert trace.device_fault == recorder.device_fault
    assert summarize_trace(trace.path)["device_fault"] == recorder.device_fault.describe()


def test_a_trace_without_the_field_reads_as_before(tmp_path):
    # A healthy run, and a trace written before ubscope noted faults (its red-zone
    # write is an event, but no device_fault was written): neither is marked.
    _write(tmp_path / "healthy.ubtrace", faults=0)
    _write(tmp_path / "old.ubtrace", faults=1, final=False)
    for name in ("healthy", "old"):
        trace = read_trace(tmp_path / f"{name}.ubtrace", strict=True)
        assert "device_fault" not in trace.meta and trace.device_fault is None
        assert summarize_trace(trace.path)["device_fault"] == "none"


@pytest.mark.parametrize(
    ("final", "problem"),
    [
        (b"[1]", "not an object"),
        (b"{", "not JSON"),
        (json.dumps({"device_fault": {"core": 1}}).encode(), "device_fault lacks"),
        (json.dumps({"device_fault": {**VALID, "addr": "0x10"}}).encode(), "addr is not an"),
        (json.dumps({"device_fault": {**VALID, "writes": -1}}).encode(), "writes is negative"),
        (json.dumps({"device_fault": {**VALID, "access": "poke"}}).encode(), "access is not one"),
        (json.dumps({"source_lines": ["k.cpp:3"]}).encode(), "source_lines: expected an object"),
        (json.dumps({"source_lines": {"k.cpp:3": 7}}).encode(), "source_lines: expected an object"),
    ],
)
def test_a_hand_edited_final_metadata_is_refused_with_one_line(tmp_path, final, problem):
    path = tmp_path / "edited.ubtrace"
    _write_stream(path, {}, {FINAL_KEY: final})
    with pytest.raises(TraceError, match=problem):
        read_trace(path)


def test_a_device_fault_in_the_header_is_checked_too(tmp_path):
    path = tmp_path / "edited.ubtrace"
    _write_stream(path, {"device_fault": "yes"}, None)
    with pytest.raises(TraceError, match="metadata device_fault is not a mapping"):
        read_trace(path)


def _write_stream(path, header: dict, custom: dict | None) -> None:
    """A trace written by hand: ``header`` added to its metadata, one empty batch
    carrying ``custom`` metadata."""
    meta = {**new_metadata(load_chip().to_dict(), "k", {}), **header}
    schema = EVENT_SCHEMA.with_metadata({METADATA_KEY: json.dumps(meta)})
    with pa.ipc.new_stream(str(path), schema) as stream:
        stream.write_batch(pa.RecordBatch.from_pylist([], schema=schema), custom_metadata=custom)


@pytest.mark.parametrize(("kernel", "preset"), sorted(PLANTED))
def test_planted_overflow_runs_are_marked_and_their_healthy_runs_are_not(
    chip, tmp_path, kernel, preset
):
    spec = get_kernel(kernel)
    small = PLANTED[kernel, preset]
    planted = run_kernel(
        spec, spec.resolve(preset=preset, overrides=small), chip, tmp_path / "p.ubtrace"
    )
    # The numerics match the reference although the device would have faulted.
    assert planted.result.matches() and planted.device_fault is not None
    fault = read_trace(tmp_path / "p.ubtrace").device_fault
    assert fault == planted.device_fault and fault.space == "UB" and fault.past_capacity > 0
    healthy = run_kernel(spec, spec.resolve(overrides=small), chip, tmp_path / "h.ubtrace")
    assert healthy.device_fault is None
    assert read_trace(tmp_path / "h.ubtrace").device_fault is None
