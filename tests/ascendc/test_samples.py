"""The shared public Ascend C samples compiled unchanged on the twin, matched
against numpy references computed here (their case files' expressions are
never evaluated), analyzed without error-level findings; and a mutated copy
flagged at the mutated line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import call_site, line_of
from ubscope.analyzers.api import analyze_trace
from ubscope.analyzers.findings import Severity
from ubscope.cli import main
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")


def within(actual: np.ndarray, expected: np.ndarray, loss: float, share: float) -> bool:
    """The samples' verify_result.py criterion: at most ``share`` of the elements
    may exceed both the absolute and the relative error ``loss``."""
    actual, expected = actual.astype(np.float64), expected.astype(np.float64)
    error = np.abs(actual - expected)
    bad = (error > loss) & (error > loss * np.abs(expected))
    return bad.mean() <= share


def no_errors(trace: Path) -> list[str]:
    analysis = analyze_trace(read_trace(trace))
    return [f"{f.code} {f.message}" for f in analysis.findings if f.severity >= Severity.ERROR]


def uniform(rng: np.random.Generator, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    return rng.uniform(1, 100, shape).astype(dtype)


def test_add_custom_runs_unchanged(samples: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x, y = uniform(rng, (8, 2048), np.float16), uniform(rng, (8, 2048), np.float16)
    trace = tmp_path / "add.ubtrace"
    run = run_ascendc(
        samples / "01_add_custom_neo" / "add_custom.cpp",
        "add_custom",
        8,
        {"x": x, "y": y},
        {"z": np.zeros_like(x)},
        CHIP,
        trace,
    )
    assert within(run.outputs["z"], x.astype(np.float32) + y, 1e-3, 1e-3)
    assert no_errors(trace) == []


def test_addcdiv_runs_unchanged(samples: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x, y, z = (uniform(rng, (8, 2048), np.float16) for _ in range(3))
    trace = tmp_path / "addcdiv.ubtrace"
    run = run_ascendc(
        samples / "04_addcdiv" / "addcdiv_custom.cpp",
        "addcdiv_custom",
        8,
        {"x": x, "y": y, "z": z},
        {"out": np.zeros_like(x)},
        CHIP,
        trace,
    )
    reference = x.astype(np.float64) + y.astype(np.float64) / z.astype(np.float64)
    assert within(run.outputs["out"], reference, 1e-3, 1e-3)
    assert no_errors(trace) == []


def test_leakyrelu_runs_unchanged(samples: Path, tmp_path: Path) -> None:
    x = np.random.default_rng(2).uniform(-100, 100, (8, 200, 1024)).astype(np.float32)
    trace = tmp_path / "leaky.ubtrace"
    run = run_ascendc(
        samples / "05_leakyrelu" / "leakyrelu.cpp",
        "leaky_relu_custom",
        8,
        {"x": x},
        {"y": np.zeros_like(x)},
        CHIP,
        trace,
    )
    assert within(run.outputs["y"], np.where(x > 0, x, 0.0), 1e-4, 1e-4)
    assert no_errors(trace) == []


@pytest.mark.slow
def test_layer_norm_runs_unchanged_at_its_own_shape(samples: Path, tmp_path: Path) -> None:
    # The shape is baked into the kernel: 16384 x 1024 fp32 over 48 blocks.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16384, 1024)).astype(np.float32)
    gamma, beta = (rng.standard_normal(1024).astype(np.float32) for _ in range(2))
    trace = tmp_path / "ln.ubtrace"
    run = run_ascendc(
        samples / "08_layer_norm" / "layer_norm_custom.cpp",
        "layer_norm_custom",
        48,
        {"x": x, "gamma": gamma, "beta": beta},
        {"res_out": np.zeros_like(x)},
        CHIP,
        trace,
    )
    x64 = x.astype(np.float64)
    mean = x64.mean(-1, keepdims=True)
    var = ((x64 - mean) ** 2).mean(-1, keepdims=True)
    reference = (x64 - mean) / np.sqrt(var + 1e-5) * gamma + beta
    assert within(run.outputs["res_out"], reference, 1e-4, 1e-4)
    assert no_errors(trace) == []


def test_mutated_copy_length_is_flagged_at_the_mutated_line(samples: Path, tmp_path: Path) -> None:
    text = (samples / "01_add_custom_neo" / "add_custom.cpp").read_text()
    original = "DataCopy(yLocal, yGm[progress * TILE_LENGTH], TILE_LENGTH);"
    line = line_of(text, original)
    mutated = tmp_path / "add_custom.cpp"
    mutated.write_text(
        text.replace(original, original.replace("TILE_LENGTH);", "TILE_LENGTH - 1);"))
    )
    trace = tmp_path / "mutated.ubtrace"
    tensors = [f"--input={name}=float16:8x2048:uniform(1,100)" for name in ("x", "y")]
    tensors.append("--output=z=float16:8x2048")
    rc = main(["run", str(mutated), "--block-dim", "8", *tensors, "-o", str(trace)])
    assert rc == 0
    analysis = analyze_trace(read_trace(trace))
    found = [f for f in analysis.findings if f.code == "ALN002"]
    assert [f.location.tag for f in found] == [f"add_custom.cpp:{line}"]


MUTATIONS = {
    # a ninth VECIN buffer (2 for x + 7 for y > the 8 queue events of 910B): UB007 at y's InitBuffer
    "queue_limit": (
        "01_add_custom_neo/add_custom.cpp",
        "add_custom",
        "pipe.InitBuffer(inQueueY, BUFFER_NUM,",
        "pipe.InitBuffer(inQueueY, 7,",
        "UB007",
        "pipe.InitBuffer(inQueueY, 7,",
    ),
    # tiles twice as long (12800 floats = 50 KiB): inQueueX ends at 100 KiB, outQueueY at
    # 200 KiB > 192 KiB of UB, so UB001 points at outQueueY's InitBuffer
    "ub_overflow": (
        "05_leakyrelu/leakyrelu.cpp",
        "leaky_relu_custom",
        "constexpr int32_t TILE_NUM = 16;",
        "constexpr int32_t TILE_NUM = 8;",
        "UB001",
        "pipe.InitBuffer(outQueueY,",
    ),
}


def _inputs(entry: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    if entry == "add_custom":
        x = np.ones((8, 2048), np.float16)
        return {"x": x, "y": x}, {"z": np.zeros_like(x)}
    x = np.ones((8, 200, 1024), np.float32)
    return {"x": x}, {"y": np.zeros_like(x)}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_mutated_sample_is_flagged_with_its_rule(
    samples: Path, tmp_path: Path, mutation: str
) -> None:
    relative, entry, original, replacement, code, flagged = MUTATIONS[mutation]
    text = (samples / relative).read_text()
    assert text.count(original) == 1
    mutated = tmp_path / Path(relative).name
    mutated.write_text(text.replace(original, replacement))
    trace = tmp_path / f"{mutation}.ubtrace"
    inputs, outputs = _inputs(entry)
    run_ascendc(mutated, entry, 8, inputs, outputs, CHIP, trace)
    found = [f for f in analyze_trace(read_trace(trace)).findings if f.code == code]
    assert {f.location.tag for f in found} == {call_site(mutated, flagged)}


def test_misaligned_local_offset_is_flagged_at_its_line(samples: Path, tmp_path: Path) -> None:
    # Adding into zLocal[8] (16 B past the 32 B-aligned block start) misaligns the operand.
    text = (samples / "01_add_custom_neo" / "add_custom.cpp").read_text()
    original = "Add(zLocal, xLocal, yLocal, TILE_LENGTH);"
    mutated = tmp_path / "add_custom.cpp"
    mutated.write_text(text.replace(original, "Add(zLocal[8], xLocal, yLocal, TILE_LENGTH - 8);"))
    line = line_of(text, original)
    trace = tmp_path / "misaligned.ubtrace"
    x = np.ones((8, 2048), np.float16)
    run_ascendc(mutated, "add_custom", 8, {"x": x, "y": x}, {"z": np.zeros_like(x)}, CHIP, trace)
    found = [f for f in analyze_trace(read_trace(trace)).findings if f.code == "ALN001"]
    assert {f.location.tag for f in found} == {f"add_custom.cpp:{line}"}
