"""The registered ``layernorm`` kernel: parameters, presets, minimal traffic
and the cost of a run."""

from __future__ import annotations

from typing import Any

from ubscope.kernels.layernorm.host import run
from ubscope.kernels.layernorm.plan import validate
from ubscope.kernels.registry import register
from ubscope.probe.chip import ChipProfile
from ubscope.probe.estimate import CHECK_CHUNK_BYTES, Estimate, estimate
from ubscope.probe.kernel_spec import KernelSpec, Param, cores_param
from ubscope.probe.memory.dtypes import F16


def minimal_traffic(params: dict[str, Any]) -> dict[str, int]:
    """x, residual, gamma and beta read once; y written once."""
    rows, hidden = params["rows"], params["hidden"]
    return {"read": (2 * rows + 2) * hidden * F16.itemsize, "write": rows * hidden * F16.itemsize}


def estimate_cost(params: dict[str, Any], chip: ChipProfile) -> Estimate:
    """Events per row and per core of each variant; host memory: x and residual
    on the host and in GM, the out-of-place sum and y in GM (fp16), the float64
    draw of one input and a checked slice; about 20 vector element ops per value."""
    rows, hidden, cores = params["rows"], params["hidden"], params["cores"]
    per_row, per_core, arrays = (14, 27, 4) if params["inplace"] else (18, 56, 6)
    values = rows * hidden
    return estimate(
        rows * per_row + cores * per_core,
        values * (arrays * F16.itemsize + 8) + CHECK_CHUNK_BYTES,
        work=20 * values,
        values=3 * values,
    )


SPEC = register(
    KernelSpec(
        name="layernorm",
        summary="LayerNorm(x + residual) * gamma + beta: in place with the sum kept in UB, or "
        "the unfused out-of-place pair",
        params=(
            Param("rows", int, 512, "rows (tokens)"),
            Param("hidden", int, 4096, "hidden size (any; ragged rows use DataCopyPad)"),
            Param("inplace", bool, True, "keep the residual sum in UB and normalise in place"),
            cores_param(8),
            Param("double_buffer", bool, True, "two buffers per row queue"),
            Param("eps", float, 1e-5, "added to the variance"),
            Param("seed", int, 0, "random seed of the inputs"),
        ),
        run=run,
        minimal_traffic=minimal_traffic,
        presets={
            "out_of_place": (
                "unfused: the residual sum goes to GM and is read back, and the normalisation "
                "uses separate centred and output buffers",
                {"inplace": False},
            ),
            "ragged_hidden": (
                "hidden=1000: 2000 B rows are not whole 32 B blocks, so they move with "
                "DataCopyPad and start off 512 B boundaries in GM",
                {"hidden": 1000},
            ),
        },
        validate=validate,
        estimate=estimate_cost,
    )
)
