"""LayerNorm of a residual sum: numerics, and what keeping the sum in UB saves."""

from __future__ import annotations

import numpy as np
import pytest

from ubscope.kernels.layernorm.specs import SPEC
from ubscope.kernels.registry import run_kernel
from ubscope.probe.errors import ParameterError
from ubscope.probe.events import Flag
from ubscope.probe.recorder import Recorder


def traced(chip, **overrides):
    params = SPEC.resolve(overrides=overrides)
    recorder = Recorder()
    result = run_kernel(SPEC, params, chip, recorder=recorder).result
    return params, result, recorder.table().to_pandas()


@pytest.mark.parametrize(
    ("rows", "hidden", "inplace", "cores", "double_buffer"),
    [
        (5, 64, True, 2, True),
        (7, 100, True, 3, False),
        (4, 33, False, 2, True),
        (6, 1000, False, 4, False),
        (3, 8, True, 1, True),
        (9, 257, True, 4, True),
    ],
)
def test_matches_float64_layernorm(chip, rows, hidden, inplace, cores, double_buffer):
    params = SPEC.resolve(
        overrides={
            "rows": rows,
            "hidden": hidden,
            "inplace": inplace,
            "cores": cores,
            "double_buffer": double_buffer,
        }
    )
    result = run_kernel(SPEC, params, chip).result
    out, ref = result.outputs["y"], result.reference("y")
    assert out.shape == (rows, hidden) and out.dtype == np.float16
    np.testing.assert_allclose(out.astype(np.float64), ref, rtol=1e-2, atol=1e-2)


def peak_ub_per_core(ev) -> int:
    """Largest UB a core allocated in one launch (TPipe memory lives for the launch)."""
    launch = (ev.kind == "kernel_begin").cumsum()
    allocs = ev[(ev.kind == "alloc") & (ev.space == "UB")]
    return int(allocs.groupby([launch[allocs.index], allocs.core]).aligned_size.sum().max())


def gm_bytes(ev, tensor: str | None = None, direction: str | None = None) -> int:
    copies = ev[ev.kind == "copy"]
    if tensor is not None:
        copies = copies[copies.tensor == tensor]
    reads, writes = copies.src_space == "GM", copies.space == "GM"
    mask = {"read": reads, "write": writes, None: reads | writes}[direction]
    return int(copies[mask].aligned_size.sum())


@pytest.mark.parametrize("double_buffer", [True, False])
def test_inplace_needs_less_ub_and_gm_traffic_than_out_of_place(chip, double_buffer):
    shape = {"rows": 12, "hidden": 256, "cores": 3, "double_buffer": double_buffer}
    _, _, inplace = traced(chip, inplace=True, **shape)
    _, _, out_of_place = traced(chip, inplace=False, **shape)
    buffers = 2 if double_buffer else 1
    # A row of 256 values is 512 B in fp16 and 1024 B in fp32 (both whole 32 B
    # blocks). In place: 2 fp16 row queues (x, residual) of `buffers` blocks and
    # 4 fp32 rows (sum, scratch, gamma, beta). Out of place, the larger of the
    # residual add (3 fp16 queues: x, residual, sum; 2 fp32 rows: x, residual)
    # and the normalisation (2 fp16 queues: sum, y; 6 fp32 rows: sum, centred,
    # scratch, normed, gamma, beta), which is the normalisation.
    assert peak_ub_per_core(inplace) == 2 * buffers * 512 + 4 * 1024
    assert peak_ub_per_core(out_of_place) == 2 * buffers * 512 + 6 * 1024
    assert peak_ub_per_core(inplace) < peak_ub_per_core(out_of_place)
    assert gm_bytes(inplace) < gm_bytes(out_of_place)
    # In place: x, residual and y once; gamma and beta once per core.
    row_bytes = 256 * 2
    assert gm_bytes(inplace, direction="read") == (2 * 12 + 2 * 3) * row_bytes
    assert gm_bytes(inplace, direction="write") == 12 * row_bytes


def test_residual_sum_stays_in_ub_only_in_place(chip):
    shape = {"rows": 6, "hidden": 96, "cores": 2}
    _, _, inplace = traced(chip, inplace=True, **shape)
    _, _, out_of_place = traced(chip, inplace=False, **shape)
    assert gm_bytes(inplace, "residual_sum") == 0
    assert gm_bytes(inplace, "x", "write") == 6 * 96 * 2  # y overwrites x
    assert gm_bytes(out_of_place, "residual_sum", "write") == 6 * 96 * 2
    assert gm_bytes(out_of_place, "residual_sum", "read") == 6 * 96 * 2
    assert gm_bytes(out_of_place, "x", "write") == 0


@pytest.mark.parametrize(("hidden", "padded"), [(33, True), (1000, True), (64, False)])
def test_ragged_rows_move_with_datacopypad(chip, hidden, padded):
    _, result, ev = traced(chip, rows=4, hidden=hidden, cores=2)
    copies = ev[ev.kind == "copy"]
    assert ((copies["flags"] & int(Flag.PADDED)) != 0).all() == padded
    assert not (copies["flags"] & int(Flag.TRUNCATED)).any()
    assert result.matches()


def test_row_too_big_for_ub_names_the_limit(chip):
    params = SPEC.resolve(overrides={"hidden": 8500})
    with pytest.raises(ParameterError, match=r"hidden=8500 .* allows 188416 B"):
        run_kernel(SPEC, params, chip)
    single = SPEC.resolve(overrides={"hidden": 8500, "double_buffer": False, "rows": 2})
    assert run_kernel(SPEC, single, chip).result.matches()  # one buffer per queue fits
    with pytest.raises(ParameterError, match="out-of-place"):
        run_kernel(SPEC, SPEC.resolve(overrides={**single, "inplace": False}), chip)


@pytest.mark.parametrize(("key", "value"), [("rows", 0), ("hidden", 0), ("eps", 0.0)])
def test_bad_parameters_are_parameter_errors(chip, key, value):
    params = SPEC.resolve(overrides={key: value})
    with pytest.raises(ParameterError, match=f"{key}="):
        run_kernel(SPEC, params, chip)
