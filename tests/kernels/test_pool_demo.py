"""pool_demo splits its elements over any core count without losing tails, and
refuses, before running, the values its body cannot run with."""

from __future__ import annotations

import pytest

from tests.helpers.cli import run_ubscope
from ubscope.kernels.catalog import builtin_kernels
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip


@pytest.mark.parametrize("allocator", ["tpipe", "bump", "freelist"])
def test_every_core_count_matches_the_reference(allocator):
    # 262,144 elements over 48 cores is 5461.3 each: an unrounded share ends
    # mid 32 B block, and DataCopy (whole blocks only) drops every core's tail.
    # Shares rounded up to 16 fp16 (5472 here: 47 x 5472 = 257,184, the last core taking 4,960) keep them.
    spec = builtin_kernels()["pool_demo"]
    params = spec.resolve(overrides={"cores": 48, "allocator": allocator, "tile": 2048})
    outcome = run_kernel(spec, params, load_chip("Ascend910B2"))
    assert outcome.result.matches()


# Values the kernel body cannot run with, and the line `ubscope run` prints for
# each on the default chip (Ascend910B2: 48 vector cores, InitBuffer takes 1 to
# 64 buffers). Before validation refused them, tile=0 stepped through the
# elements by 0 (ValueError), cores=0 divided by zero and a negative tile or
# seed failed in the recorder or numpy, each with a traceback and exit 1.
REFUSED = {
    "tile_zero": (["tile=0"], "pool_demo: tile=0, expected at least 1"),
    "tile_negative": (["tile=-5"], "pool_demo: tile=-5, expected at least 1"),
    "n_negative": (["n=-1"], "pool_demo: n=-1, expected at least 1"),
    "cores_zero": (["cores=0"], "cores=0: Ascend910B2 has 48 cores for a vector launch (1..48)"),
    "buffers_zero": (
        ["buffers=0"],
        "pool_demo: buffers=0, expected 1..64 (Ascend910B2's InitBuffer limit)",
    ),
    "seed_negative": (["seed=-1"], "pool_demo: seed=-1, expected at least 0"),
    # tile=16: the free list's 2/3-size rounds are 16 * 2 // 3 = 10 elements,
    # rounded down to whole 32 B blocks: none.
    "freelist_tile": (
        ["allocator=freelist", "tile=16"],
        "pool_demo: tile=16, expected at least 24 with allocator=freelist",
    ),
}


@pytest.mark.parametrize(("assignments", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_values_it_cannot_run_are_one_line_and_exit_2(tmp_path, assignments, message):
    trace = tmp_path / "pool.ubtrace"
    options = [arg for assignment in assignments for arg in ("-p", assignment)]
    result = run_ubscope("run", "pool_demo", *options, "-o", trace)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ubscope: error: {message}"), lines
    assert not trace.exists()  # refused before anything ran


@pytest.mark.parametrize(
    "overrides",
    [
        {"tile": 1},  # copies of 2 B drop everything: a finding, not a refusal
        {"tile": 3000},  # not whole 32 B blocks: the misalignment the analyzers report
        {"allocator": "freelist", "tile": 24},  # 2/3-size rounds of one 32 B block
        {"allocator": "bump", "buffers": 0},  # only TPipe queues take buffers
        {"n": 1, "tile": 1},
    ],
)
def test_the_least_values_it_can_run_are_accepted_and_run(overrides):
    spec = builtin_kernels()["pool_demo"]
    params = spec.resolve(overrides={"n": 96, "cores": 1, **overrides})
    outcome = run_kernel(spec, params, load_chip("Ascend910B2"))
    assert outcome.duration_ps > 0
