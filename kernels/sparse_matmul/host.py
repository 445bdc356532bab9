"""Host side: weights into GM (2:4-compressed or dense) and the launch."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ubscope.kernels import sparse24
from ubscope.kernels.sparse_matmul.body import HostWeight, Operands, matmul_kernel
from ubscope.kernels.sparse_matmul.plan import MatmulPlan, plan_matmul
from ubscope.probe.chip import ChipProfile
from ubscope.probe.device import Device
from ubscope.probe.memory.gm import GlobalTensor


def upload_weight(
    device: Device, name: str, weight: np.ndarray, variant: str, meta_format: str
) -> HostWeight:
    """Put ``weight`` (fp16 [N, K]) in GM: 2:4-compressed for the sparse variants."""
    weight = np.ascontiguousarray(weight, dtype=np.float16)
    if variant == "dense":
        return HostWeight(None, None, device.gm.tensor(name, weight), weight)
    compressed = sparse24.Sparse24Weight.compress(weight, meta_format)
    return HostWeight(
        device.gm.tensor(f"{name}_values", compressed.values),
        device.gm.tensor(f"{name}_meta", compressed.metadata),
        None,
        compressed.dense(),
    )


def launch_matmul(
    device: Device,
    name: str,
    plan: MatmulPlan,
    x: GlobalTensor,
    y: GlobalTensor,
    weight: HostWeight,
) -> int:
    """One device launch of the matmul; returns its modelled duration (ps)."""
    ops = Operands(x, y, weight)
    return device.launch(
        name,
        matmul_kernel,
        plan.blocks,
        "vector",
        plan=plan,
        ops=ops,
        heap_bytes=device.chip.ub_safe_budget,
    )


def random_weight(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """fp16 ``[n, k]`` weights scaled so that outputs stay near unit size."""
    return (rng.standard_normal((n, k)) / math.sqrt(k)).astype(np.float16)


def weight_bytes(n: int, k: int, variant: str, meta_format: str) -> int:
    """GM bytes of an ``[n, k]`` fp16 weight as the variant stores it."""
    if variant == "dense":
        return n * k * 2
    return n * k + n * sparse24.meta_row_bytes(k, meta_format)


def plan_from_params(params: dict[str, Any], chip: ChipProfile) -> MatmulPlan:
    """The plan of a resolved ``sparse_matmul`` parameter set."""
    return plan_matmul(
        params["m"],
        params["k"],
        params["n"],
        params["tile_n"],
        params["tile_k"],
        params["cores"],
        params["variant"],
        params["meta_format"],
        params["double_buffer"],
        params["allocator"],
        chip,
    )
