"""The UB each LayerNorm kernel sets up, and the parameter checks."""

from __future__ import annotations

from typing import Any

from ubscope.kernels.param_checks import check_cores, check_seed
from ubscope.probe.chip import ChipProfile
from ubscope.probe.errors import ParameterError
from ubscope.probe.memory.dtypes import F16, F32
from ubscope.probe.memory.pools import align_up
from ubscope.probe.memory.positions import TPosition

VECIN, VECOUT = TPosition.VECIN, TPosition.VECOUT
# The UB of each kernel: fp16 row queues (``buffers`` blocks each) and fp32 row TBufs.
PIPES: dict[str, tuple[tuple[tuple[str, TPosition], ...], tuple[str, ...]]] = {
    "inplace": (
        (("x_row", VECIN), ("residual_row", VECIN)),
        ("sum_fp32", "tmp_fp32", "gamma_fp32", "beta_fp32"),
    ),
    "residual_add": (
        (("x_row", VECIN), ("residual_row", VECIN), ("sum_row", VECOUT)),
        ("x_fp32", "residual_fp32"),
    ),
    "normalize": (
        (("sum_row", VECIN), ("y_row", VECOUT)),
        ("sum_fp32", "centered_fp32", "tmp_fp32", "normed_fp32", "gamma_fp32", "beta_fp32"),
    ),
}


def buffers_of(params: dict[str, Any]) -> int:
    """Blocks per row queue: 2 with double buffering."""
    return 2 if params["double_buffer"] else 1


def ub_bytes(hidden: int, inplace: bool, buffers: int) -> int:
    """Peak UB one core needs for a row: the in-place kernel, or the larger of
    the two out-of-place kernels."""
    half_row, float_row = align_up(hidden * F16.itemsize), align_up(hidden * F32.itemsize)
    kernels = ("inplace",) if inplace else ("residual_add", "normalize")
    return max(
        len(PIPES[k][0]) * buffers * half_row + len(PIPES[k][1]) * float_row for k in kernels
    )


def validate(params: dict[str, Any], chip: ChipProfile) -> None:
    rows, hidden = params["rows"], params["hidden"]
    if rows < 1 or hidden < 1:
        raise ParameterError(f"layernorm: rows={rows} and hidden={hidden} must be at least 1")
    if not params["eps"] > 0:
        raise ParameterError(f"layernorm: eps={params['eps']} must be positive")
    check_cores(params["cores"], chip)
    check_seed("layernorm", params)
    buffers = buffers_of(params)
    need, budget = ub_bytes(hidden, params["inplace"], buffers), chip.ub_safe_budget
    if need > budget:
        variant = "in-place" if params["inplace"] else "out-of-place"
        raise ParameterError(
            f"layernorm: a row of hidden={hidden} ({variant}, {buffers} buffer(s) per queue) "
            f"needs {need} B of UB per core but {chip.name} allows {budget} B (UB "
            f"{chip.capacity['UB']} B minus {chip.ub_scratch_bytes} B API scratch); lower hidden "
            "or set double_buffer=false"
        )
