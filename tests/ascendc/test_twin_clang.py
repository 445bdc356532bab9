"""The CPU twin built with clang++ (14 or newer): a small kernel and a shared
sample compile unchanged, run, and record the user's call sites; the build
cache keeps one build per compiler."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ubscope.analyzers import Severity, analyze_trace
from ubscope.probe.ascendc.build import build
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
CLANG = shutil.which("clang++")


@pytest.fixture(autouse=True)
def clang(monkeypatch: pytest.MonkeyPatch) -> str:
    if CLANG is None:
        pytest.skip("no clang++ on this machine (apt install clang): the clang++ build is untested")
    monkeypatch.setenv("CXX", CLANG)
    return CLANG


def test_small_kernel_records_its_lines(scale_kernel: Path, tmp_path: Path) -> None:
    x = np.arange(128, dtype=np.float32)
    trace = tmp_path / "scale.ubtrace"
    run = run_ascendc(scale_kernel, "scale", 2, {"x": x}, {"z": np.zeros_like(x)}, CHIP, trace)
    np.testing.assert_array_equal(run.outputs["z"], x * 2)
    events = read_trace(trace).events
    muls = events[(events.kind == "compute") & (events["name"] == "Muls")]
    # One Muls per block, at the line of SCALE_KERNEL that calls it.
    assert muls["tag"].astype(str).tolist() == ["scale.cpp:12", "scale.cpp:12"]


def test_shared_add_custom_runs_unchanged(samples: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x, y = (rng.uniform(1, 100, (8, 2048)).astype(np.float16) for _ in range(2))
    trace = tmp_path / "add.ubtrace"
    source = samples / "01_add_custom_neo" / "add_custom.cpp"
    run = run_ascendc(
        source, "add_custom", 8, {"x": x, "y": y}, {"z": np.zeros_like(x)}, CHIP, trace
    )
    # half + half rounded to nearest even, as numpy's float16 addition.
    np.testing.assert_array_equal(run.outputs["z"], x + y)
    recorded = read_trace(trace)
    findings = analyze_trace(recorded).findings
    assert [f.code for f in findings if f.severity >= Severity.ERROR] == []
    events = recorded.events
    calls = events[events.kind.isin(["copy", "compute"])]["tag"].astype(str)
    assert calls.size and calls.str.fullmatch(r"add_custom\.cpp:\d+").all()


def test_each_compiler_has_its_own_build(
    scale_kernel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clang: str
) -> None:
    # The same clang++ under another name: same version line, another compiler path.
    alias = tmp_path / "bin" / "clang++"
    alias.parent.mkdir()
    alias.symlink_to(clang)
    parameters = (("x", "GM_ADDR"), ("z", "GM_ADDR"))
    first = build(scale_kernel, "scale", parameters)
    assert build(scale_kernel, "scale", parameters) == first  # cached
    monkeypatch.setenv("CXX", str(alias))
    assert build(scale_kernel, "scale", parameters) != first
