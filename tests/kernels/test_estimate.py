"""Big inputs are announced, bounded and interruptible: `ubscope run` estimates
a run's cost from its parameters, refuses one over the host-memory limit with
one line naming the flag that lets it run, shows progress against the
estimate, turns running out of memory into one line with exit 2, and checks
the float64 reference a slice at a time."""

from __future__ import annotations

import tracemalloc
from contextlib import contextmanager
from types import SimpleNamespace

import numpy as np
import pytest

from ubscope.cli import main
from ubscope.commands import common
from ubscope.commands import run as run_command
from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import estimate_run, run_kernel
from ubscope.probe.errors import ParameterError
from ubscope.probe.trace import read_trace
from ubscope.probe.units import format_count, format_duration


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize(
    "kernel,assignments,at_least",
    [
        # n = 1e9 fp16 values: x and residual on the host and in GM, y in GM
        # are 5 x 2 GB before anything else.
        ("pool_demo", ["n=1000000000"], 5 * 2 * 10**9),
        # 49152 x 49152 int4 weights, 3 bytes each at least: the int8 values,
        # the packing's padded uint8 copy, and half a byte packed on the host
        # and half in GM.
        ("int4_gemm", ["m=64", "k=49152", "n=49152"], 3 * 49152 * 49152),
    ],
)
def test_a_run_over_the_memory_limit_is_refused_before_it_starts(
    kernel, assignments, at_least, tmp_path, capsys, chip
):
    spec = get_kernel(kernel)
    assert estimate_run(spec, spec.resolve(assignments), chip).host_bytes >= at_least
    trace = tmp_path / "big.ubtrace"
    args = [arg for item in assignments for arg in ("-p", item)]
    assert main(["run", kernel, *args, "-o", str(trace)]) == 2
    line = _one_error_line(capsys)
    assert "GiB of host memory" in line and "--max-memory" in line and "events" in line
    assert not trace.exists()


def test_max_memory_sets_the_limit(tmp_path, capsys):
    trace = tmp_path / "pool.ubtrace"
    small = ["-p", "n=65536", "-o", str(trace)]
    assert main(["run", "pool_demo", *small, "--max-memory", "1MiB"]) == 2
    assert "over the 1.0 MiB host-memory limit" in _one_error_line(capsys)
    assert main(["run", "pool_demo", *small, "--max-memory", "1GiB"]) == 0
    assert read_trace(trace).complete


@pytest.mark.parametrize("limit", ["-5GiB", "-1", "0", "0 KiB"])
def test_max_memory_must_be_positive(tmp_path, capsys, limit):
    # `--max-memory=-5GiB` (with a space, argparse takes -5GiB for an option)
    trace = tmp_path / "pool.ubtrace"
    with pytest.raises(SystemExit) as stopped:
        main(["run", "pool_demo", f"--max-memory={limit}", "-o", str(trace)])
    assert stopped.value.code == 2
    assert f"--max-memory: a size must be positive, got '{limit}'" in capsys.readouterr().err
    assert not trace.exists()


def test_running_out_of_memory_is_one_line_with_exit_2(monkeypatch, tmp_path, capsys):
    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 7.45 GiB for an array with shape (1000000000,)")

    monkeypatch.setattr(np.random, "default_rng", no_memory)
    assert main(["run", "pool_demo", "-o", str(tmp_path / "pool.ubtrace")]) == 2
    line = _one_error_line(capsys)
    assert "out of host memory" in line and "7.45 GiB" in line and "Traceback" not in line


def test_memory_error_in_the_library_is_a_parameter_error(monkeypatch, chip):
    monkeypatch.setattr(np.random, "default_rng", lambda *a: (_ for _ in ()).throw(MemoryError()))
    spec = get_kernel("layernorm")
    with pytest.raises(ParameterError, match="layernorm: out of host memory"):
        run_kernel(spec, spec.resolve(), chip)


def test_the_progress_bar_counts_events_against_the_estimate(monkeypatch, tmp_path):
    seen = {}
    real = common.progress

    @contextmanager
    def spy(description, total, quiet=False, unit=""):
        with real(description, total, quiet=True, unit=unit) as bar:
            seen.update(total=total, unit=unit, bar=bar)
            yield bar

    monkeypatch.setattr(run_command, "progress", spy)
    trace = tmp_path / "norm.ubtrace"
    assert main(["run", "layernorm", "-p", "rows=64", "-o", str(trace)]) == 0
    events = len(read_trace(trace).events)
    assert seen["unit"] == "events" and seen["bar"].tasks[0].completed == events
    assert isinstance(seen["total"], int) and events / 2 <= seen["total"] <= 2 * events


def test_the_progress_count_shows_the_total_and_the_throughput():
    task = SimpleNamespace(completed=12_345, total=40_000, speed=8_100.0)
    assert str(common._CountColumn("events").render(task)) == "12.3 k/40.0 k events, 8.1 k/s"
    unknown = SimpleNamespace(completed=3, total=None, speed=None)
    assert str(common._CountColumn("runs").render(unknown)) == "3 runs"
    nothing = SimpleNamespace(completed=0, total=None, speed=None)
    assert str(common._CountColumn("").render(nothing)) == ""  # not "0/None"


def test_estimate_wording():
    assert [format_count(n) for n in (999, 1_234, 2_500_000, 3e9)] == [
        "999",
        "1.2 k",
        "2.5 M",
        "3.0 G",
    ]
    assert [format_duration(s) for s in (0.2, 40, 1500, 9000)] == [
        "< 1 s",
        "40 s",
        "25 min",
        "2.5 h",
    ]


def test_the_reference_is_checked_in_slices(chip):
    """4096 x 4096 int4 weights dequantized in float64 would be 128 MiB at once;
    the run and its check together stay well below that."""
    spec = get_kernel("int4_gemm")
    params = spec.resolve(overrides={"m": 4, "k": 4096, "n": 4096})
    tracemalloc.start()
    try:
        result = run_kernel(spec, params, chip).result
        assert result.matches()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4096 * 4096 * 8
