"""A run that writes past on-chip capacity "would fault on the device": `run` says
so and exits 1 although its output matches the reference, `analyze` opens with it
(text and JSON), and the demo's numerics column does not call it ok; a healthy run
is not marked."""

from __future__ import annotations

import json
import re

import pytest

from ubscope.cli import main
from ubscope.commands import demo
from ubscope.kernels.demo_set import DemoRun

# Small planted runs whose output matches the reference although they overrun UB.
PLANTED = {
    "pool_no_reset": ("pool_demo", {"cores": 2, "n": 81920, "tile": 8192}),
    "ub_overflow": ("int4_gemm", {"m": 2, "k": 1024, "n": 256}),
}
FAULT = re.compile(
    r"would fault on the device: aiv\d+ wrote [\d.]+ KiB at UB 0x[0-9a-f]+ at call site "
    r"'\w+', [\d.]+ KiB of it past the UB capacity"
)


def _params(values: dict[str, int]) -> list[str]:
    return [option for key, value in values.items() for option in ("-p", f"{key}={value}")]


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> dict[str, str]:
    """preset -> its trace, recorded by `ubscope run` (exit 1: it would fault)."""
    folder = tmp_path_factory.mktemp("planted")
    traces = {}
    for preset, (kernel, values) in PLANTED.items():
        trace = str(folder / f"{preset}.ubtrace")
        assert main(["run", kernel, "--preset", preset, *_params(values), "-o", trace]) == 1
        traces[preset] = trace
    return traces


@pytest.mark.parametrize("preset", sorted(PLANTED))
def test_run_says_the_numerics_mean_nothing_and_exits_1(tmp_path, capsys, preset):
    kernel, values = PLANTED[preset]
    trace = str(tmp_path / "run.ubtrace")
    assert main(["run", kernel, "--preset", preset, *_params(values), "-o", trace]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "output not meaningful: would fault on the device (compared all the same, it " in out
    assert "matches the float64 reference" in out and FAULT.search(out)
    assert main(["run", kernel, *_params(values), "-o", trace]) == 0
    healthy = " ".join(capsys.readouterr().out.split())
    assert "output matches the float64 reference" in healthy
    assert "would fault" not in healthy


@pytest.mark.parametrize("preset", sorted(PLANTED))
def test_analyze_opens_with_the_fault_in_text_and_json(planted, capsys, preset):
    assert main(["analyze", planted[preset]]) == 1
    lines = capsys.readouterr().out.splitlines()
    # The headline, the trace, then the fault (wrapped at the terminal's width).
    first = next(i for i, line in enumerate(lines) if line.startswith("  trace: ")) + 1
    fault = " ".join(line.strip() for line in lines[first : first + 4])
    assert lines[first].startswith("would fault on the device: ") and FAULT.search(fault)
    assert "(its output is not meaningful, even where it matches the reference)" in fault
    assert main(["analyze", planted[preset], "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    fault = document["device_fault"]
    assert fault["space"] == "UB" and 0 < fault["past_capacity"] <= fault["nbytes"]
    assert fault["writes"] >= 1 and FAULT.match(fault["message"])


def test_a_healthy_run_is_not_marked_in_analyze(tmp_path, capsys):
    trace = str(tmp_path / "healthy.ubtrace")
    assert main(["run", "pool_demo", "-p", "n=16384", "-o", trace]) == 0
    main(["analyze", trace])
    assert "would fault" not in capsys.readouterr().out
    main(["analyze", trace, "--format", "json"])
    assert json.loads(capsys.readouterr().out)["device_fault"] is None


def test_the_demo_does_not_call_a_faulting_run_ok(monkeypatch, tmp_path, capsys):
    kernel, values = PLANTED["pool_no_reset"]
    runs = (DemoRun(kernel, params=values), DemoRun(kernel, "pool_no_reset", params=values))
    monkeypatch.setattr(demo, "DEMO_RUNS", runs)
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines() if "pool_demo_" in line}
    assert rows["pool_demo_healthy"] == "ok"
    assert rows["pool_demo_pool_no_reset"] == demo.FAULT_CELL
    assert "FAULT: not meaningful: would fault on the device" in " ".join(out.split())
    assert FAULT.search(" ".join(out.split()))
    # the fault's line wraps in the 80 columns of a pipe: at a word, indented
    assert [line for line in out.splitlines() if line.endswith(" ")] == []
