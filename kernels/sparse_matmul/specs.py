"""The ``sparse_matmul`` kernel: parameters, presets, cost estimate, run."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.kernels import sparse24
from ubscope.kernels.param_checks import check_seed
from ubscope.kernels.registry import register
from ubscope.kernels.sparse_matmul.host import (
    launch_matmul,
    plan_from_params,
    random_weight,
    upload_weight,
    weight_bytes,
)
from ubscope.kernels.sparse_matmul.plan import (
    ALLOCATORS,
    VARIANTS,
    matmul_events,
)
from ubscope.probe.chip import ChipProfile
from ubscope.probe.device import Device
from ubscope.probe.estimate import CHECK_CHUNK_BYTES, Estimate, estimate
from ubscope.probe.kernel_spec import (
    ChunkedReference,
    KernelResult,
    KernelSpec,
    Param,
    cores_param,
    vector_blocks,
)
from ubscope.probe.units import plural


def run(device: Device, params: dict[str, Any]) -> KernelResult:
    plan = plan_from_params(params, device.chip)
    rng = np.random.default_rng(params["seed"])
    x = rng.standard_normal((plan.m, plan.k)).astype(np.float16)
    weight = upload_weight(
        device, "w", random_weight(rng, plan.n, plan.k), plan.variant, plan.meta_format
    )
    gx = device.gm.tensor("x", x)
    gy = device.gm.empty("y", (plan.m, plan.n), np.float16)
    launch_matmul(device, f"sparse_matmul_{plan.variant}", plan, gx, gy, weight)
    x64 = x.astype(np.float64)
    reference = ChunkedReference(
        lambda cols: x64 @ weight.effective[cols].astype(np.float64).T,
        8 * (plan.k + plan.m),
        axis=1,
    )
    notes = [
        f"{plural(plan.blocks, 'block')}, tile {plan.tile_n}x{plan.tile_k}, {plan.chunk_tiles} tiles per "
        f"chunk, UB footprint {plan.ub_footprint} B"
    ]
    return KernelResult(outputs={"y": gy.numpy()}, references={"y": reference}, notes=notes)


def minimal_traffic(params: dict[str, Any]) -> dict[str, int]:
    """x read once, the weight (values + metadata, or dense) read once, y written once."""
    m, k, n = params["m"], params["k"], params["n"]
    read = m * k * 2 + weight_bytes(n, k, params["variant"], params["meta_format"])
    return {"read": read, "write": m * n * 2}


def estimate_cost(params: dict[str, Any], chip: ChipProfile) -> Estimate:
    """Host memory: x on the host and in GM, the float64 draw of W, W as fp16,
    compressed and in GM, y, and a checked slice."""
    plan = plan_from_params(params, chip)
    events, work = matmul_events(plan)
    weights = plan.n * plan.k
    host = 2 * plan.m * plan.k * 2 + weights * (8 + 3 * 2) + plan.m * plan.n * 2
    values = plan.m * plan.k + weights + plan.m * plan.n
    return estimate(events, host + CHECK_CHUNK_BYTES, work, values)


def validate(params: dict[str, Any], chip: ChipProfile) -> None:
    plan_from_params(params, chip)
    check_seed("sparse_matmul", params)


SPEC = register(
    KernelSpec(
        name="sparse_matmul",
        summary="y = x @ W.T with W 2:4-sparse on the vector core: rebuild the dense tile or "
        "gather the activations (dense baseline: variant=dense)",
        params=(
            Param("m", int, 16, "activation rows (tokens)"),
            Param("k", int, 1024, "reduction length (multiple of 4)"),
            Param("n", int, 1024, "output features (weight rows)"),
            Param("tile_n", int, 16, "weight rows per tile (multiple of 16)"),
            Param("tile_k", int, 256, "K columns per step (multiple of 32)"),
            cores_param(8),
            Param("variant", str, "gather", "sparse algorithm or the dense baseline", VARIANTS),
            Param("meta_format", str, "nibble", "2:4 metadata layout", sparse24.META_FORMATS),
            Param(
                "double_buffer",
                bool,
                True,
                "tpipe: two buffers per copy queue (x, metadata: one if the queue limit needs it)",
            ),
            Param("allocator", str, "tpipe", "UB allocator model", ALLOCATORS),
            Param("seed", int, 0, "random seed of the inputs"),
        ),
        run=run,
        minimal_traffic=minimal_traffic,
        validate=validate,
        estimate=estimate_cost,
        presets={
            "fragmentation": (
                "free-list allocator: the fp16 activation tile is freed after its fp32 cast and "
                "leaves a hole below the fp32 copy; small buffers fill part of it, and the "
                "round's index tables fit neither the rest of the hole nor the space above, so "
                "first fit fails although enough bytes are free; the round is redone with tiles "
                "half as tall",
                {
                    "allocator": "freelist",
                    "m": 48,
                    "k": 1024,
                    "n": 200,
                    "tile_n": 32,
                    "tile_k": 256,
                    "cores": vector_blocks(4),
                },
            ),
        },
    )
)
