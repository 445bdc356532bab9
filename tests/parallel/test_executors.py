"""map_tasks: outcomes equal the serial results, and a task's exception, a
dead worker and a timeout are each one outcome with an error while the other
tasks still finish. Local worker processes always; Ray on a local cluster of
2 CPUs where the extra is installed."""

from __future__ import annotations

import functools
import math
import sys
import time

import psutil
import pytest

from tests.helpers.executor_tasks import fail_with_lines, lock_of, square_or_fail
from ubscope.executors import RAY_MISSING, TaskOutcome, map_tasks
from ubscope.probe.errors import ParameterError, UbscopeError


def _by_index(outcomes) -> list[TaskOutcome]:
    return sorted(outcomes, key=lambda outcome: outcome.index)


def test_local_outcomes_equal_the_serial_results():
    tasks = list(range(12))
    outcomes = _by_index(map_tasks(math.factorial, tasks, jobs=2))
    assert outcomes == [TaskOutcome(i, math.factorial(t), None) for i, t in enumerate(tasks)]


def test_local_partial_function():
    # pow(2, 3) = 8, pow(2, 10) = 1024.
    outcomes = _by_index(map_tasks(functools.partial(pow, 2), [3, 10], jobs=2))
    assert outcomes == [TaskOutcome(0, 8, None), TaskOutcome(1, 1024, None)]


def test_local_raise_and_dead_worker_are_outcomes_and_the_others_finish():
    # jobs=1: the task after the dead worker's can only run on a worker started
    # in its place. 2**2 = 4, 4**2 = 16.
    outcomes = _by_index(map_tasks(square_or_fail, [2, 3, -9, 4], jobs=1))
    assert outcomes == [
        TaskOutcome(0, 4, None),
        TaskOutcome(1, None, "crashed: ValueError: odd number 3"),
        TaskOutcome(2, None, "crashed: worker exited with code 9"),
        TaskOutcome(3, 16, None),
    ]


def test_an_error_of_several_lines_is_one_line_for_the_sweep_table():
    (outcome,) = map_tasks(fail_with_lines, [["first problem", "", "  second problem"]], jobs=1)
    assert outcome.error == "crashed: ValueError: first problem; second problem"


def test_local_value_that_cannot_be_sent_back_is_an_outcome():
    (outcome,) = map_tasks(lock_of, [0], jobs=1)
    assert outcome.index == 0 and outcome.value is None
    assert outcome.error is not None
    assert outcome.error.startswith("crashed: the value could not be sent back")


def test_local_timeout_is_an_outcome_and_kills_the_late_worker(tmp_path):
    pid_file = tmp_path / "pid"
    outcomes = _by_index(map_tasks(square_or_fail, [2, str(pid_file), 4], jobs=2, timeout_s=1.5))
    assert outcomes == [
        TaskOutcome(0, 4, None),
        TaskOutcome(1, None, "timeout after 1.5 s"),
        TaskOutcome(2, 16, None),
    ]
    assert not psutil.pid_exists(int(pid_file.read_text()))


def test_closing_the_map_early_stops_its_workers(tmp_path):
    pid_file = tmp_path / "pid"
    outcomes = map_tasks(square_or_fail, [str(pid_file), 2], jobs=2)
    assert next(outcomes) == TaskOutcome(1, 4, None)
    # Task 1 can finish before the other worker has even started task 0: wait
    # until that worker is inside its long task, so closing has a worker to stop.
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    outcomes.close()
    assert not psutil.pid_exists(int(pid_file.read_text()))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"executor": "dask"}, "unknown executor 'dask'"),
        ({"jobs": 0}, "jobs must be at least 1"),
        ({"timeout_s": 0}, "the timeout must be more than 0 s"),
        ({"address": "auto"}, "an address goes with --executor ray"),
    ],
)
def test_bad_options_are_one_line_errors(options, message):
    with pytest.raises(ParameterError, match=message):
        list(map_tasks(math.factorial, [1], **options))


def test_ray_missing_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(UbscopeError) as raised:
        list(map_tasks(math.factorial, [1], executor="ray"))
    assert str(raised.value) == RAY_MISSING
    assert "ubscope[ray]" in RAY_MISSING


def test_ray_outcomes_crash_and_timeout(ray_cluster, tmp_path):
    # 2**2 = 4, 4**2 = 16; the first map also starts the cluster's workers.
    outcomes = _by_index(map_tasks(square_or_fail, [2, 3, 4], executor="ray"))
    assert outcomes == [
        TaskOutcome(0, 4, None),
        TaskOutcome(1, None, "crashed: ValueError: odd number 3"),
        TaskOutcome(2, 16, None),
    ]
    pid_file = tmp_path / "pid"
    late = _by_index(map_tasks(square_or_fail, [str(pid_file), 2], executor="ray", timeout_s=3))
    assert late == [TaskOutcome(0, None, "timeout after 3 s"), TaskOutcome(1, 4, None)]
    # ray.cancel(force=True) kills the worker; it need not be gone the instant the map ends.
    try:
        psutil.Process(int(pid_file.read_text())).wait(timeout=30)
    except psutil.NoSuchProcess:
        pass
    # The cluster the test started stays up: map_tasks shuts down only what it started.
    assert ray_cluster.is_initialized()
