"""The analysis with a second thread (``engine._check_trace`` starting
``TraceContext.background_part``) concludes exactly what it concludes on one
thread, and the model data threads share is computed once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ubscope.analyzers import engine
from ubscope.analyzers.api import analyze_trace
from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.model.cached import cached_property
from ubscope.analyzers.output import dumps
from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip
from ubscope.probe.trace import read_trace

_BACKGROUND_PART = TraceContext.background_part


def _analysis_json(
    path, cpus: int, monkeypatch: pytest.MonkeyPatch, idle: float | None = None
) -> tuple[str, list[str]]:
    """Findings and metrics as ``ubscope analyze --format json`` writes them, of a
    freshly read trace (no model data cached by an earlier analysis) analyzed as
    on ``cpus`` CPUs of which ``idle`` were idle (all by default), and the threads
    ``background_part`` ran in."""
    monkeypatch.setattr(engine, "usable_cpus", lambda: cpus)
    monkeypatch.setattr(engine, "idle_cpus", lambda: float(cpus) if idle is None else idle)
    ran_in: list[str] = []

    def recorded(self: TraceContext) -> None:
        ran_in.append(threading.current_thread().name)
        _BACKGROUND_PART(self)

    monkeypatch.setattr(TraceContext, "background_part", recorded)
    analysis = analyze_trace(read_trace(path))
    document = {"findings": [f.to_dict() for f in analysis.findings], "metrics": analysis.metrics}
    return dumps(document), ran_in


@pytest.mark.parametrize(
    ("kernel", "preset"),
    [
        ("pool_demo", "freelist_fragmentation"),
        ("layernorm", "out_of_place"),
        ("pool_demo", None),
        # UB013: the other thread computes the accesses inside its blocks
        ("paged_attention", "single_buffer"),
    ],
)
def test_two_threads_conclude_what_one_does(tmp_path, monkeypatch, kernel, preset):
    spec = get_kernel(kernel)
    path = tmp_path / f"{kernel}.ubtrace"
    run_kernel(spec, spec.resolve(preset=preset), load_chip(), path, preset=preset)

    serial, serial_threads = _analysis_json(path, 1, monkeypatch)
    threaded, threaded_threads = _analysis_json(path, 2, monkeypatch)

    assert serial_threads == []  # one CPU: everything on first use, in this thread
    assert len(threaded_threads) == 1
    assert threaded_threads[0] != threading.current_thread().name
    assert threaded == serial  # byte for byte: findings, evidence and metrics
    # the comparison covers what both threads computed: GM traffic, fragmentation
    assert '"read_bytes"' in serial and '"max_external"' in serial


def test_a_busy_machine_analyzes_in_one_thread(tmp_path, monkeypatch):
    spec = get_kernel("pool_demo")
    path = tmp_path / "pool_demo.ubtrace"
    run_kernel(
        spec, spec.resolve(preset="pool_no_reset"), load_chip(), path, preset="pool_no_reset"
    )
    idle, idle_threads = _analysis_json(path, 2, monkeypatch)
    busy, busy_threads = _analysis_json(path, 2, monkeypatch, idle=0.8)
    assert len(idle_threads) == 1
    assert busy_threads == []  # under one idle CPU: this thread takes it
    assert busy == idle


def test_idle_cpus_are_the_usable_ones_less_what_other_tasks_run_now(monkeypatch, tmp_path):
    """The load average lags a minute behind (1.25 here, left by earlier work);
    the tasks runnable now are what counts: of 3 runnable, one is this thread,
    so 2 other tasks keep 2 of 4 CPUs."""
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("1.25 3.00 3.00 3/120 4242\n")
    monkeypatch.setattr(engine, "LOADAVG", str(loadavg))
    monkeypatch.setattr(engine, "usable_cpus", lambda: 4)
    monkeypatch.setattr(engine.os, "getloadavg", lambda: (1.25, 3.0, 3.0))
    assert engine.idle_cpus() == 2


def test_a_task_runnable_for_one_look_only_does_not_make_a_cpu_busy(monkeypatch, tmp_path):
    """Three looks: 2, 1 and 2 tasks runnable; the fewest (1: this thread) counts."""
    loadavg = tmp_path / "loadavg"
    looks = iter(["0.9 0.9 0.9 1/80 7", "0.9 0.9 0.9 2/80 7"])
    loadavg.write_text("0.9 0.9 0.9 2/80 7")
    monkeypatch.setattr(engine, "LOADAVG", str(loadavg))
    monkeypatch.setattr(engine.time, "sleep", lambda _: loadavg.write_text(next(looks)))
    monkeypatch.setattr(engine, "usable_cpus", lambda: 2)
    assert engine.idle_cpus() == 2


def test_without_a_runnable_count_the_load_average_decides(monkeypatch, tmp_path):
    monkeypatch.setattr(engine, "LOADAVG", str(tmp_path / "no-such-file"))
    monkeypatch.setattr(engine, "usable_cpus", lambda: 2)
    monkeypatch.setattr(engine.os, "getloadavg", lambda: (1.25, 3.0, 3.0))
    assert engine.idle_cpus() == 0.75  # 2 CPUs, 1.25 busy over the last minute

    def no_load_average() -> tuple[float, float, float]:
        raise OSError("no load average here")

    monkeypatch.setattr(engine.os, "getloadavg", no_load_average)
    assert engine.idle_cpus() == 2.0


class _Slow:
    """Two cached properties that count their computations; each computation
    waits ``delay`` seconds so that readers arriving together overlap in it."""

    def __init__(self, delay: float = 0.05, meet: threading.Barrier | None = None):
        self.delay = delay
        self.meet = meet
        self.calls: list[str] = []

    @cached_property
    def first(self) -> list[int]:
        self.calls.append("first")
        if self.meet is not None:
            self.meet.wait()
        time.sleep(self.delay)
        return [1]

    @cached_property
    def second(self) -> list[int]:
        self.calls.append("second")
        if self.meet is not None:
            self.meet.wait()
        return [2]


def test_threads_reading_a_cached_property_at_once_compute_it_once():
    slow = _Slow()
    start = threading.Barrier(8)

    def read(_: int) -> list[int]:
        start.wait()
        return slow.first

    with ThreadPoolExecutor(8) as pool:
        values = list(pool.map(read, range(8)))
    assert slow.calls == ["first"]
    assert all(value is values[0] for value in values)  # the one computed value
    assert slow.first is values[0]


def test_two_cached_properties_compute_at_the_same_time():
    # each computation waits until the other one has started: were the two
    # properties computed one after the other, the barrier would break (timeout)
    slow = _Slow(delay=0.0, meet=threading.Barrier(2, timeout=30))
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(lambda: slow.first)
        second = pool.submit(lambda: slow.second)
        assert (first.result(), second.result()) == ([1], [2])
    assert sorted(slow.calls) == ["first", "second"]


def test_a_cached_property_that_raises_is_computed_again():
    class Flaky:
        attempts = 0

        @cached_property
        def value(self) -> int:
            Flaky.attempts += 1
            if Flaky.attempts == 1:
                raise RuntimeError("first attempt")
            return 7

    flaky = Flaky()
    with pytest.raises(RuntimeError):
        flaky.value  # noqa: B018
    assert flaky.value == 7
    assert flaky.value == 7
    assert Flaky.attempts == 2


def test_threads_replaying_a_group_at_once_replay_it_once(kit, monkeypatch):
    syn = kit.Synthetic()
    syn.alloc(0, 1024)
    syn.alloc(1024, 1024)
    syn.free(0, 1024)
    context = TraceContext(syn.trace())
    model = context.fragmentation_model
    replayed: list[int] = []
    replay = model._replay

    def counted(gid: int):
        replayed.append(gid)
        time.sleep(0.05)
        return replay(gid)

    monkeypatch.setattr(model, "_replay", counted)
    gid = int(context.group_ids[0])
    with ThreadPoolExecutor(4) as pool:
        covers = list(pool.map(lambda _: context.coverage(gid), range(4)))
    assert replayed == [gid]
    assert all(cover is covers[0] for cover in covers)
    # after ALLOC 0-1K, ALLOC 1K-2K, FREE 0-1K the group's free bytes are its
    # capacity minus 1 KiB, minus 2 KiB, minus 1 KiB again
    capacity = context.capacity_of("UB")
    assert covers[0].free_bytes.tolist() == [capacity - 1024, capacity - 2048, capacity - 1024]


@pytest.mark.parametrize(
    ("kernel", "preset", "attribute", "model", "flag", "readers"),
    [
        # the block touches: UB009-UB011 run after the other rules
        (
            "layernorm",
            "out_of_place",
            "block_usage",
            "touch_model",
            "reads_block_usage",
            ["UB009", "UB010", "UB011"],
        ),
        # the single-buffered queues' accesses and busy time, the part's last
        # step: UB013 runs after UB009-UB011, which the part has served by then
        (
            "paged_attention",
            "single_buffer",
            "single_buffered",
            "single_buffer_model",
            "reads_single_buffered",
            ["UB013"],
        ),
    ],
)
def test_the_rules_that_read_the_background_part_say_so(
    tmp_path, monkeypatch, kernel, preset, attribute, model, flag, readers
):
    """With a second thread, the rules that read what that thread computes last
    run after the others; a rule that reads it without saying so would wait for
    it in the middle of the rules."""
    spec = get_kernel(kernel)
    path = tmp_path / f"{kernel}.ubtrace"
    run_kernel(spec, spec.resolve(preset=preset), load_chip(), path, preset=preset)
    trace = read_trace(path)
    read_by: list[str] = []
    checking = [""]  # the code of the rule being checked

    def recorded(self: TraceContext):
        read_by.append(checking[0])
        return getattr(getattr(self, model), attribute)

    monkeypatch.setattr(TraceContext, attribute, property(recorded))
    declared = []
    for rule in engine.build_rules():
        if rule.input_kind != "trace":
            continue
        checking[0] = rule.code
        list(rule.check(TraceContext(trace)))
        if getattr(rule, flag):
            declared.append(rule.code)
    assert sorted(set(read_by)) == declared == readers
