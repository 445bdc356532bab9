"""pool_demo splits its elements over any core count without losing tails."""

from __future__ import annotations

import pytest

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
