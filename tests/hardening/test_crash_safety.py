"""Crash safety: processes killed with SIGKILL at random points.

* A tracing process (a Recorder loop writing small batches, and real
  ``ubscope run`` invocations): the reader recovers a consistent prefix —
  whole batches only, every recovered event exactly as written, sequence
  numbers contiguous from 0 — and says how many events it recovered.
* ``ubscope report`` and ``ubscope baseline`` writing over a previous good
  file: the output is always the old file or a complete new one.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from ubscope.check.baseline import baseline_text
from ubscope.check.measure import measure_traces
from ubscope.probe.chip import load_chip
from ubscope.probe.errors import PartialReadWarning, TraceError
from ubscope.probe.events import CoreKind, Space
from ubscope.probe.trace import read_trace

from .fuzzkit import record

KILLS = int(os.environ.get("UBSCOPE_KILLS", "20"))
WRITER_KILLS = max(4, KILLS // 3)
UB_BYTES = load_chip().capacity["UB"]
# Writes event i as a pure function of i, in batches of argv[2] events, forever.
RECORDER_LOOP = f"""
import sys
from ubscope.probe.chip import load_chip
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import TraceWriter, new_metadata
path, batch = sys.argv[1], int(sys.argv[2])
writer = TraceWriter(path, new_metadata(load_chip().to_dict(), "kill_loop", {{"batch": batch}}))
recorder = Recorder(sink=writer.write, batch_events=batch)
print("ready", flush=True)
i = 0
while True:
    size = i % 4096 + 1
    recorder.alloc({int(CoreKind.AIV)}, i % 48, {int(Space.UB)}, (i * 32) % {UB_BYTES}, size,
                   (size + 31) // 32 * 32, "buf", "loop", i)
    i += 1
"""


def _spawn(argv: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )


def _kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def _read_recovered(path: Path) -> tuple[object, list[str]]:
    """read_trace's result (or the TraceError) and its partial-read warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            trace = read_trace(path)
        except TraceError as error:
            trace = error
    return trace, [str(w.message) for w in caught if issubclass(w.category, PartialReadWarning)]


def _kill_recorder_loop(folder: Path, rng: random.Random) -> dict:
    """Start the loop, kill it at a random point; return what to check."""
    path = folder / "loop.ubtrace"
    batch = rng.choice([1, 7, 16, 64, 333])
    process = _spawn([sys.executable, "-c", RECORDER_LOOP, str(path), str(batch)], folder)
    if rng.random() < 0.15:
        time.sleep(rng.uniform(0.0, 0.5))  # possibly still importing: no file or no header
    else:
        assert process.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.3))
    _kill(process)
    return {"path": path, "batch": batch}


def _left_by_kill(path: Path) -> Path | None:
    """What a killed writer of ``path`` left: its temporary file (an unfinished
    trace never takes the target name), the finished trace, or nothing."""
    unfinished = list(path.parent.glob(f".{path.name}.*.partial"))
    assert len(unfinished) <= 1 and not (unfinished and path.exists())
    return unfinished[0] if unfinished else (path if path.exists() else None)


def _check_recorder_loop(path: Path, batch: int) -> int | None:
    """Events recovered from a killed loop (None: killed before the header)."""
    path = _left_by_kill(path)
    if path is None:
        return None
    trace, partial = _read_recovered(path)
    if isinstance(trace, TraceError):
        assert "\n" not in str(trace) and str(path) in str(trace)
        return None
    events = trace.events
    seq = events["seq"].to_numpy()
    recovered = len(seq)
    assert recovered % batch == 0, f"a partial batch of {batch} was kept: {recovered} events"
    assert (seq == np.arange(recovered)).all()
    size = seq % 4096 + 1
    assert (events["kind"] == "alloc").all() and (events["name"] == "buf").all()
    assert (events["core"].to_numpy() == seq % 48).all()
    assert (events["addr"].to_numpy() == (seq * 32) % UB_BYTES).all()
    assert (events["size"].to_numpy() == size).all()
    assert (events["aligned_size"].to_numpy() == (size + 31) // 32 * 32).all()
    assert (events["start_ps"].to_numpy() == seq).all()
    assert not trace.complete
    assert len(partial) == 1 and partial[0].startswith(
        f"{path}: trace is truncated (recording was interrupted); recovered {recovered:,} events"
    )
    return recovered


def _kill_ubscope_run(folder: Path, rng: random.Random) -> dict:
    path = folder / "run.ubtrace"
    argv = [sys.executable, "-m", "ubscope", "run", "paged_attention", "-o", str(path)]
    process = _spawn(argv, folder)
    time.sleep(rng.uniform(0.3, 2.5))
    _kill(process)
    return {"path": path}


def _check_ubscope_run(path: Path) -> int | None:
    path = _left_by_kill(path)
    if path is None:
        return None
    trace, partial = _read_recovered(path)
    if isinstance(trace, TraceError):
        assert "\n" not in str(trace) and str(path) in str(trace)
        return None
    seq = trace.events["seq"].to_numpy()
    assert (seq == np.arange(len(seq))).all()
    if not trace.complete:
        assert len(partial) == 1 and f"recovered {len(seq):,} events" in partial[0]
    return len(seq)


def _cycles(tmp_path: Path, count: int, cycle) -> list[dict]:
    """Run ``count`` kill cycles, two at a time (each in its own folder).
    Cycles only kill; results that need warnings captured are checked by the
    caller afterwards (warnings.catch_warnings is not thread-safe)."""
    seeds = [random.Random(index) for index in range(count)]
    folders = [tmp_path / f"cycle{index}" for index in range(count)]
    for folder in folders:
        folder.mkdir(parents=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(cycle, folders, seeds))


@pytest.mark.slow
def test_sigkill_of_a_tracing_process_leaves_a_consistent_prefix(tmp_path):
    loop = [
        _check_recorder_loop(**killed)
        for killed in _cycles(tmp_path / "loop", KILLS - KILLS // 5, _kill_recorder_loop)
    ]
    runs = [
        _check_ubscope_run(**killed)
        for killed in _cycles(tmp_path / "run", KILLS // 5, _kill_ubscope_run)
    ]
    for label, results in (("Recorder loop", loop), ("ubscope run", runs)):
        for events in results:
            outcome = "parsed" if events is not None else "error"
            record(f"SIGKILL of a tracing process ({label})", outcome, 0.0)
    assert any(loop), "no kill landed after the first batch: the test does not test anything"


@pytest.fixture(scope="module")
def reference(tmp_path_factory, seed_traces) -> dict:
    """A full run of each writer: how long it takes and what it writes."""
    folder = tmp_path_factory.mktemp("reference")
    trace = seed_traces[0]
    timings = {}
    for name, argv in _writer_commands(trace, folder).items():
        start = time.perf_counter()
        subprocess.run(argv, cwd=folder, check=True, capture_output=True)
        timings[name] = time.perf_counter() - start
    (measurement,) = measure_traces([trace])
    return {
        "timings": timings,
        "report_bytes": (folder / "report.html").stat().st_size,
        "baseline_text": baseline_text(measurement),
        "baseline_name": next((folder / "baselines").iterdir()).name,
    }


def _writer_commands(trace: Path, folder: Path) -> dict[str, list[str]]:
    ubscope = [sys.executable, "-m", "ubscope"]
    return {
        "report": [*ubscope, "report", str(trace), "-o", str(folder / "report.html")],
        "baseline": [*ubscope, "baseline", str(trace), "-o", str(folder / "baselines"), "--update"],
    }


def _kill_somewhere(
    process: subprocess.Popen[str],
    folder: Path,
    temporary: str,
    duration: float,
    rng: random.Random,
) -> None:
    """Kill at a random time up to twice a full run (before, during or after the
    write), or, every other time, within 20 ms of the temporary file appearing."""
    if rng.random() < 0.5:
        time.sleep(rng.uniform(0.0, 2.0 * duration))
    else:
        deadline = time.perf_counter() + 4.0 * duration
        while not list(folder.glob(temporary)) and process.poll() is None:
            if time.perf_counter() > deadline:
                break
            time.sleep(0.001)
        time.sleep(rng.uniform(0.0, 0.02))
    _kill(process)


def _outcome(writer: str, replaced: bool, folder: Path, temporary: str) -> str:
    """How a kill ended, for the figures in RELIABILITY.md."""
    state = "new file in place" if replaced else "previous file in place"
    if list(folder.glob(temporary)):
        state += ", killed mid-write"
    return f"SIGKILL of ubscope {writer} ({state})"


def _visible_leftovers(folder: Path, expected: set[str]) -> list[str]:
    return [
        p.name for p in folder.iterdir() if p.name not in expected and not p.name.startswith(".")
    ]


@pytest.mark.slow
def test_sigkill_of_report_never_replaces_a_good_report(tmp_path, seed_traces, reference):
    previous = b"<!DOCTYPE html><html><body>the previous, good report</body></html>\n"

    def cycle(folder: Path, rng: random.Random) -> None:
        output = folder / "report.html"
        output.write_bytes(previous)
        process = _spawn(_writer_commands(seed_traces[0], folder)["report"], folder)
        _kill_somewhere(process, folder, ".report.html.*", reference["timings"]["report"], rng)
        content = output.read_bytes()
        if content != previous:  # then it must be the whole new report
            assert content.lstrip().startswith(b"<!DOCTYPE html>")
            assert content.rstrip().endswith(b"</html>")
            assert abs(len(content) - reference["report_bytes"]) < 0.01 * reference["report_bytes"]
        assert not _visible_leftovers(folder, {"report.html"})
        record(_outcome("report", content != previous, folder, ".report.html.*"), "parsed", 0.0)

    _cycles(tmp_path, WRITER_KILLS, cycle)


@pytest.mark.slow
def test_sigkill_of_baseline_never_leaves_half_a_baseline(tmp_path, seed_traces, reference):
    name, new = reference["baseline_name"], reference["baseline_text"]
    document = json.loads(new)
    document["metrics"] = {key: value + 1 for key, value in document["metrics"].items()}
    previous = json.dumps(document, indent=2, sort_keys=True) + "\n"

    def cycle(folder: Path, rng: random.Random) -> None:
        baselines = folder / "baselines"
        baselines.mkdir()
        (baselines / name).write_text(previous)
        process = _spawn(_writer_commands(seed_traces[0], folder)["baseline"], folder)
        _kill_somewhere(process, baselines, f".{name}.*", reference["timings"]["baseline"], rng)
        content = (baselines / name).read_text()
        assert content in (previous, new)
        record(_outcome("baseline", content == new, baselines, f".{name}.*"), "parsed", 0.0)
        assert not _visible_leftovers(baselines, {name})

    _cycles(tmp_path, WRITER_KILLS, cycle)
