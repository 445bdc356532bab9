"""Every kernel and preset runs on every built-in chip (small shapes), and the
event estimate ``ubscope run`` shows as the progress total is close to what
the run records."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.small_shapes import SMALL
from ubscope.kernels.catalog import builtin_kernels
from ubscope.kernels.registry import estimate_run, run_kernel
from ubscope.probe.chip import builtin_chips, load_chip
from ubscope.probe.events import EventKind
from ubscope.probe.recorder import Recorder

# Presets planted to give wrong numerics (DataCopy drops each row's tail).
WRONG_BY_DESIGN = {("int4_gemm", "nd_tail_truncation")}
# Presets sized to take minutes (bench/bench_sparse.py): only their parameters
# are checked against every chip.
BENCH_ONLY = {("sparse_attention", "llama2_13b")}


def _runs() -> list[tuple[str, str | None]]:
    specs = builtin_kernels()
    return [(name, preset) for name in sorted(specs) for preset in (None, *specs[name].presets)]


def _params(kernel: str, preset: str | None) -> dict:
    spec = builtin_kernels()[kernel]
    planted = spec.presets[preset][1] if preset else {}
    small = {key: value for key, value in SMALL[kernel].items() if key not in planted}
    return spec.resolve(preset=preset, overrides=small)


def test_every_kernel_has_small_shapes():
    assert set(SMALL) == set(builtin_kernels())


@pytest.mark.parametrize("chip_name", builtin_chips())
@pytest.mark.parametrize("kernel,preset", _runs(), ids=lambda v: str(v))
def test_runs_on_every_chip(chip_name, kernel, preset):
    chip = load_chip(chip_name)
    spec = builtin_kernels()[kernel]
    if (kernel, preset) in BENCH_ONLY:
        params = spec.check(spec.resolve(preset=preset), chip)
        assert params["cores"] >= 1
        return
    params = _params(kernel, preset)
    estimate = estimate_run(spec, params, chip)
    batches = []
    outcome = run_kernel(spec, params, chip, recorder=Recorder(sink=batches.append))
    assert outcome.events > 0
    assert outcome.result.matches() == ((kernel, preset) not in WRONG_BY_DESIGN)
    # The progress bar's total: within a factor of 2 of the events recorded.
    assert outcome.events / 2 <= estimate.events <= outcome.events * 2
    if preset == "pool_no_reset":  # the planted overflow happens on every chip
        kinds = np.concatenate([b.column("kind").to_numpy(zero_copy_only=False) for b in batches])
        assert (kinds == EventKind.REDZONE_WRITE.name.lower()).any()
        assert outcome.device_fault is not None
    if preset is None:  # a healthy run stays inside every capacity: it would not fault
        assert outcome.device_fault is None


@pytest.mark.parametrize("chip_name", builtin_chips())
def test_default_cores_follow_the_chip(chip_name):
    """Vector kernels with a fixed default take 8 blocks, or every core a
    vector launch has when the chip has fewer: 910A's 32 coupled AI Cores,
    310P3's 8 AI Cores (its 7 separate Vector Cores are not modelled), 310B1's
    single core; a core count the model chooses stays inside the chip too."""
    expected = {"Ascend910A": 8, "Ascend310P3": 8, "Ascend310B1": 1}.get(chip_name, 8)
    chip = load_chip(chip_name)
    sparse = builtin_kernels()["sparse_matmul"]
    assert sparse.for_chip(sparse.defaults(), chip)["cores"] == expected
    spec = builtin_kernels()["layernorm"]
    chosen = spec.for_chip(spec.resolve(overrides={"rows": 1 << 16}), chip)["cores"]
    assert 1 <= chosen <= {"Ascend310P3": 8, "Ascend310B1": 1}.get(chip_name, 48)
    llama = builtin_kernels()["sparse_attention"].resolve(preset="llama2_13b")
    all_cores = {
        "Ascend910A": 32,
        "Ascend310P3": 8,
        "Ascend310B1": 1,
        "Ascend910B3": 40,
        "Ascend910B4": 40,
    }.get(chip_name, 48)
    assert spec.for_chip(llama, chip)["cores"] == all_cores
