"""Vector kernels' core counts chosen by the cost model (issue 15, section 1):
many cores where splitting helps, few where a core's share is tiny, and an
explicit ``cores`` always wins."""

from __future__ import annotations

import pytest

from ubscope.kernels.catalog import builtin_kernels
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip
from ubscope.probe.core_count import CoreWork, vector_launch_ps
from ubscope.probe.trace import read_trace


@pytest.fixture(scope="module")
def chip():
    return load_chip("Ascend910B2")


def _auto(kernel: str, chip, **params) -> int:
    spec = builtin_kernels()[kernel]
    return spec.check(spec.resolve(overrides=params), chip)["cores"]


def test_one_unit_is_its_chain_after_the_launch(chip):
    # One row on one core: 74 ns issue + 16384 B at 64 B/cycle (1.8 GHz) in,
    # 220 ns until it lands, 1000 vector cycles, 74 ns + 8192 B out, 220 ns
    # until that lands; the launch: 890 ns + 123 ns for its block.
    work = CoreWork(1, 16384, 8192, 1, 1, 1000, 2, 24576)
    cycle_ns = 1 / 1.8
    chain_ns = 74 + 256 * cycle_ns + 220 + 1000 * cycle_ns + 74 + 128 * cycle_ns + 220
    assert vector_launch_ps(chip, 1, work) == pytest.approx((890 + 123 + chain_ns) * 1000, abs=2)


def test_a_large_layernorm_takes_many_cores(chip):
    # 16384 rows of 4096: 384 MiB, 251.7 µs at 1.6 TB/s. A row is 11 fp32
    # vector ops of 4096 / 64 lanes = 704 cycles (0.39 µs): only 25.5 cores or
    # more keep the vector work under the HBM roof, while 48 blocks cost just
    # 48 x 123 ns = 5.9 µs of launch.
    assert _auto("layernorm", chip, rows=16384, hidden=4096) >= 26


def test_a_large_pool_demo_takes_enough_cores_to_fill_the_hbm(chip):
    # 2^24 fp16 elements copy-bound: one core moves at most 64 B/cycle =
    # 115.2 GB/s, so 1.6 TB/s needs 14 cores.
    assert _auto("pool_demo", chip, n=1 << 24) >= 14


def test_a_tiny_shape_takes_few_cores(chip):
    # A core without rows adds 123 ns of launch and nothing else.
    assert _auto("layernorm", chip, rows=4, hidden=4096) <= 4
    assert _auto("layernorm", chip, rows=1, hidden=256) == 1
    # 4096 elements are one tile: splitting it saves less than a block costs.
    assert _auto("pool_demo", chip, n=4096) == 1


def test_an_explicit_core_count_wins(chip):
    assert _auto("layernorm", chip, rows=16384, cores=5) == 5
    assert _auto("pool_demo", chip, n=1 << 24, cores=3) == 3


def test_auto_picks_within_a_few_percent_of_the_best_modelled_time(chip):
    spec = builtin_kernels()["layernorm"]
    shape = {"rows": 512, "hidden": 4096}
    auto = _auto("layernorm", chip, **shape)

    def modelled(cores: int) -> int:
        params = spec.resolve(overrides={**shape, "cores": cores})
        return run_kernel(spec, params, chip).duration_ps

    best = min(modelled(cores) for cores in (8, 16, 32, 48))
    assert modelled(auto) <= best * 1.05
    assert modelled(auto) < modelled(8)  # the old default of 8 cores


def test_the_trace_records_the_chosen_count_and_numerics_hold(chip, tmp_path):
    spec = builtin_kernels()["layernorm"]
    params = spec.resolve(overrides={"rows": 64, "hidden": 256})
    outcome = run_kernel(spec, params, chip, tmp_path / "ln.ubtrace")
    assert outcome.result.matches()
    chosen = read_trace(tmp_path / "ln.ubtrace").meta["params"]["cores"]
    assert chosen == outcome.params["cores"] == _auto("layernorm", chip, rows=64, hidden=256)
    assert f"{chosen} vector cores" in outcome.result.notes[0]
