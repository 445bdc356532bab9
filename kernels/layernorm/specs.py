"""The registered ``layernorm`` kernel: parameters, presets, minimal traffic
and the cost of a run."""

from __future__ import annotations

from typing import Any

from ubscope.kernels.layernorm.host import run
from ubscope.kernels.layernorm.plan import buffers_of, validate
from ubscope.kernels.registry import register
from ubscope.probe.chip import ChipProfile
from ubscope.probe.core_count import CoreWork, auto_cores_param
from ubscope.probe.costmodel import vector_lanes
from ubscope.probe.estimate import CHECK_CHUNK_BYTES, Estimate, estimate
from ubscope.probe.kernel_spec import KernelSpec, Param
from ubscope.probe.memory.dtypes import F16, F32

# Per row of each launch: fp16 rows copied in and out, and fp32 vector ops
# (casts, the residual add, two reductions and the four normalisation steps).
ROW_WORK = {
    "inplace": (2, 1, 11),
    "residual_add": (2, 1, 4),
    "normalize": (1, 1, 9),
}


def minimal_traffic(params: dict[str, Any]) -> dict[str, int]:
    """x, residual, gamma and beta read once; y written once."""
    rows, hidden = params["rows"], params["hidden"]
    return {"read": (2 * rows + 2) * hidden * F16.itemsize, "write": rows * hidden * F16.itemsize}


def core_work(params: dict[str, Any], chip: ChipProfile, cores: int) -> list[CoreWork]:
    """What the busiest core of each launch does on ``cores`` blocks: its share
    of the rows, each copied in, normalised in fp32 and copied out."""
    rows, hidden = params["rows"], params["hidden"]
    row_bytes = hidden * F16.itemsize
    cycles = -(-hidden // vector_lanes(chip, F32.itemsize))
    kernels = ("inplace",) if params["inplace"] else ("residual_add", "normalize")
    return [
        CoreWork(
            units=-(-rows // cores),
            read_bytes=copies_in * row_bytes,
            write_bytes=copies_out * row_bytes,
            copies_in=copies_in,
            copies_out=copies_out,
            vector_cycles=ops * cycles,
            buffers=buffers_of(params),
            launch_hbm_bytes=rows * (copies_in + copies_out) * row_bytes,
        )
        for copies_in, copies_out, ops in (ROW_WORK[kernel] for kernel in kernels)
    ]


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
            auto_cores_param(core_work),
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
