"""The 2:4 sparse matmul kernel: numerics, traffic, UB footprint, free-list recovery, limits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ubscope.analyzers.context import TraceContext
from ubscope.kernels import sparse24
from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import RunOutcome, run_kernel
from ubscope.kernels.sparse_matmul.host import plan_from_params
from ubscope.kernels.sparse_matmul.plan import VARIANTS, auto_plan
from ubscope.kernels.sparse_matmul.specs import SPEC
from ubscope.probe.errors import ParameterError
from ubscope.probe.events import Flag
from ubscope.probe.trace import Trace, read_trace

UNHEALTHY = (
    Flag.TRUNCATED
    | Flag.MISALIGNED
    | Flag.REDZONE
    | Flag.OUT_OF_BOUNDS
    | Flag.PARTIAL_OVERLAP
    | Flag.QUEUE_LIMIT
    | Flag.PIPE_LIMIT
)
SMALL = {"m": 3, "k": 100, "n": 37, "tile_n": 16, "tile_k": 64, "cores": 2}


def run_traced(
    tmp_path: Path, chip, preset: str | None = None, **overrides
) -> tuple[RunOutcome, Trace]:
    params = SPEC.resolve(preset=preset, overrides=overrides)
    path = tmp_path / f"{'_'.join(f'{k}{v}' for k, v in overrides.items()) or preset}.ubtrace"
    outcome = run_kernel(SPEC, params, chip, path, preset=preset)
    return outcome, read_trace(path)


def copied_bytes(trace: Trace, tensor: str, to_gm: bool = False) -> int:
    events = trace.events
    copies = events[(events["kind"] == "copy") & (events["tensor"] == tensor)]
    side = copies["space"] if to_gm else copies["src_space"]
    return int(copies.loc[side == "GM", "aligned_size"].sum())


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("meta_format", sparse24.META_FORMATS)
@pytest.mark.parametrize(
    "shape",
    [
        {"m": 4, "k": 256, "n": 64, "tile_n": 16, "tile_k": 128},  # whole tiles, 2 K steps
        {"m": 3, "k": 100, "n": 37, "tile_n": 16, "tile_k": 64},  # ragged N and K
        {"m": 2, "k": 36, "n": 50, "tile_n": 32, "tile_k": 32},  # odd groups per K step
    ],
)
def test_matches_float64_reference(chip, variant: str, meta_format: str, shape: dict) -> None:
    params = SPEC.resolve(
        overrides={**shape, "variant": variant, "meta_format": meta_format, "cores": 3}
    )
    outcome = run_kernel(SPEC, params, chip)
    assert outcome.result.matches(), outcome.result.max_errors()


@pytest.mark.parametrize(("double_buffer", "allocator"), [(False, "tpipe"), (True, "freelist")])
def test_single_buffering_and_the_free_list_compute_the_same(
    chip, double_buffer, allocator
) -> None:
    params = SPEC.resolve(
        overrides={**SMALL, "double_buffer": double_buffer, "allocator": allocator}
    )
    assert run_kernel(SPEC, params, chip).result.matches()


def test_reference_uses_the_pruned_weight(chip) -> None:
    """The sparse result differs from the unpruned product: pruning is real."""
    result = run_kernel(SPEC, SPEC.resolve(overrides=SMALL), chip).result
    dense = run_kernel(SPEC, SPEC.resolve(overrides={**SMALL, "variant": "dense"}), chip).result
    assert not np.allclose(result.outputs["y"], dense.outputs["y"], atol=0.05)


def test_chunks_smaller_than_a_block_still_match(chip) -> None:
    params = SPEC.resolve(
        overrides={"m": 40, "k": 64, "n": 640, "tile_n": 16, "tile_k": 64, "cores": 1}
    )
    plan = plan_from_params(params, chip)
    assert plan.chunk_tiles < plan.tiles_per_block
    assert run_kernel(SPEC, params, chip).result.matches()


@pytest.mark.parametrize("variant", ["gather", "rebuild"])
def test_healthy_ragged_run_reads_each_operand_once_without_truncation(
    tmp_path, chip, variant
) -> None:
    outcome, trace = run_traced(tmp_path, chip, **SMALL, variant=variant)
    flags = trace.events["flags"].to_numpy()
    assert not np.any(flags & int(UNHEALTHY))
    assert np.any(flags & int(Flag.PADDED))  # ragged rows went through DataCopyPad
    m, k, n = SMALL["m"], SMALL["k"], SMALL["n"]
    assert copied_bytes(trace, "w_values") == n * k // 2 * 2
    assert copied_bytes(trace, "w_meta") == n * sparse24.meta_row_bytes(k, "nibble")
    assert copied_bytes(trace, "y", to_gm=True) == m * n * 2
    blocks = outcome.result.notes[0].split()[0]
    assert copied_bytes(trace, "x") == int(blocks) * m * k * 2  # once per block
    assert trace.meta["minimal_traffic"] == {
        "read": m * k * 2 + n * k + n * sparse24.meta_row_bytes(k, "nibble"),
        "write": m * n * 2,
    }


def test_rebuild_needs_more_ub_than_gather_and_multiplies_twice_the_elements(
    tmp_path, chip
) -> None:
    shape = {"m": 4, "k": 512, "n": 64, "tile_n": 16, "tile_k": 256, "cores": 4}
    peaks, products, gm_reads = {}, {}, {}
    for variant in ("gather", "rebuild"):
        outcome, trace = run_traced(tmp_path, chip, **shape, variant=variant)
        assert outcome.result.matches()
        peak = TraceContext(trace).peaks
        peaks[variant] = int(peak.loc[peak["space"] == "UB", "peak_live_bytes"].max())
        plan = plan_from_params(SPEC.resolve(overrides={**shape, "variant": variant}), chip)
        assert peaks[variant] == plan.ub_footprint
        events = trace.events
        compute = events[events["kind"] == "compute"]
        per_row = compute[compute["tag"] == "multiply_accumulate"]
        products[variant] = int(per_row.loc[per_row["name"] == "Mul", "arg"].sum())
        activations_gathered = (per_row["name"] == "Gather").any()
        dense_written = int(compute.loc[compute["name"] == "Scatter", "aligned_size"].sum())
        if variant == "gather":
            assert activations_gathered and dense_written == 0
        else:
            assert not activations_gathered and dense_written > 0
        copies = events[(events["kind"] == "copy") & (events["src_space"] == "GM")]
        gm_reads[variant] = int(copies["aligned_size"].sum())
    assert peaks["rebuild"] > peaks["gather"]
    assert products["rebuild"] == 2 * products["gather"]  # dense tile vs kept values
    assert gm_reads["rebuild"] == gm_reads["gather"]  # same GM traffic


def test_fragmentation_preset_recovers_from_failed_first_fit(tmp_path, chip) -> None:
    outcome, trace = run_traced(tmp_path, chip, preset="fragmentation")
    assert trace.complete and trace.meta["preset"] == "fragmentation"
    assert outcome.result.matches()
    events = trace.events
    fails = events[events["kind"] == "alloc_fail"]
    assert len(fails)
    assert (fails["arg"] >= fails["aligned_size"]).all()  # enough bytes were free in total
    assert (fails["arg2"] < fails["aligned_size"]).all()  # but no block was large enough
    allocs = events[(events["kind"] == "alloc") & (events["space"] == "UB")]
    failed = fails["name"].astype(str).unique().tolist()
    assert failed == ["index_tables"]
    retried = allocs.loc[allocs["name"] == "index_tables", "size"]
    assert (retried < fails["aligned_size"].min()).all()  # redone with half-height tiles
    assert len(retried) >= len(fails)


def test_validate_names_the_limit(chip) -> None:
    def check(message: str, **overrides) -> None:
        params = SPEC.resolve(overrides={**SMALL, **overrides})
        with pytest.raises(ParameterError, match=message):
            SPEC.check(params, chip)

    check("k=102: 2:4 sparsity needs a positive multiple of 4", k=102)
    check("tile_n=24: must be a positive multiple of 16", tile_n=24)
    check("tile_k=48: must be a positive multiple of 32", tile_k=48)
    check("cores=49: Ascend910B2 has 48 cores for a vector launch", cores=49)
    check("variant='vscatter'", variant="vscatter")
    check("allocator='bump'", allocator="bump")
    check("meta_format='crumb'", meta_format="crumb")
    check("m=0: must be at least 1", m=0)
    check(
        f"exceeds the {chip.ub_safe_budget} B UB budget of {chip.name}", m=256, k=4096, tile_k=2048
    )


def test_registered_with_defaults_that_fit_the_default_chip(chip) -> None:
    spec = get_kernel("sparse_matmul")
    params = spec.defaults()
    spec.check(params, chip)
    assert params["variant"] == "gather" and params["allocator"] == "tpipe"
    spec.check(spec.resolve(preset="fragmentation"), chip)
    assert SPEC.minimal_traffic({**params, "variant": "dense"})["read"] == (
        params["m"] * params["k"] * 2 + params["n"] * params["k"] * 2
    )


def test_auto_plan_fits_the_budget_and_uses_the_cores(chip) -> None:
    plan = auto_plan(16, 5120, 5120, 48, "gather", "nibble", chip)
    assert plan.ub_footprint <= chip.ub_safe_budget
    assert plan.blocks >= 40
    with pytest.raises(ParameterError, match="no tiling fits"):
        auto_plan(4096, 4096, 64, 8, "rebuild", "nibble", chip)
