"""The host side of the GEMM kernels: inputs, upload to GM, launch, and the
result with its float64 reference."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ubscope.kernels.gemm import int4_pack
from ubscope.kernels.gemm.fp16 import fp16_block
from ubscope.kernels.gemm.int4 import int4_block, workspace_elements
from ubscope.kernels.gemm.plan import GemmPlan, Int4Plan, plan_fp16, plan_int4
from ubscope.kernels.gemm.reference import fp16_gemm_reference, int4_gemm_reference
from ubscope.probe.device import Device
from ubscope.probe.kernel_spec import ChunkedReference, KernelResult
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.units import plural


def _draw_x(rng: np.random.Generator, plan: GemmPlan) -> np.ndarray:
    """x ~ N(0, 1)."""
    return rng.standard_normal((plan.m, plan.k)).astype(np.float16)


def _notes(plan: GemmPlan, params: dict[str, Any]) -> list[str]:
    notes = [
        f"{plural(plan.blocks, 'block')}{' (auto)' if not params['cores'] else ''}, tiles "
        f"{plan.tile_rows}x{plan.tile_cols}, L0 K chunk {plan.l0_k}, x "
        f"{'resident in L1' if plan.x_resident else 're-read per tile'}"
    ]
    if params["x_resident"] and not plan.x_resident:
        notes.append("x does not fit L1 beside the weight tiles: it is re-read for every tile")
    return notes


def _column_reference(compute: Callable[[slice], np.ndarray], plan: GemmPlan) -> ChunkedReference:
    """The reference of y computed a slice of columns at a time."""
    return ChunkedReference(compute, 8 * (plan.k + plan.m), 1)


def run_fp16(device: Device, params: dict[str, Any]) -> KernelResult:
    """``fp16_gemm``: weights ~ N(0, 1/K), so y is about unit size."""
    plan = plan_fp16(params, device.chip)
    rng = np.random.default_rng(int(params["seed"]))
    x = _draw_x(rng, plan)
    w = (rng.standard_normal((plan.k, plan.n)) / math.sqrt(plan.k)).astype(np.float16)
    gm = {"x": device.gm.tensor("x", x), "w": device.gm.tensor("w_fp16", w)}
    gm["y"] = device.gm.empty("y", (plan.m, plan.n), np.float16)
    device.launch(plan.kernel, fp16_block, plan.blocks, "cube", plan=plan, gm=gm)
    x64 = x.astype(np.float64)
    reference = _column_reference(lambda cols: fp16_gemm_reference(x64, w[:, cols]), plan)
    return KernelResult(
        outputs={"y": gm["y"].numpy()},
        references={"y": reference},
        notes=_notes(plan, params),
        inputs={"x": x, "w": w},
    )


def _int4_inputs(plan: Int4Plan, seed: int) -> dict[str, np.ndarray]:
    """x ~ N(0, 1); int4 weights uniform; scales chosen so y is about unit size."""
    rng = np.random.default_rng(seed)
    k, n = plan.k, plan.n
    data = {"x": _draw_x(rng, plan)}
    data["w"] = rng.integers(int4_pack.INT4_MIN, int4_pack.INT4_MAX + 1, (k, n), dtype=np.int8)
    data["scale"] = (rng.uniform(0.5, 1.5, (plan.groups, n)) / (5 * math.sqrt(k))).astype(
        np.float16
    )
    data["offset"] = rng.uniform(-2.0, 2.0, (plan.groups, n)).astype(np.float16)
    return data


def _upload_int4(device: Device, plan: Int4Plan, data: dict[str, np.ndarray]) -> dict[str, Any]:
    """GM tensors in the order the kernel's inputs are allocated: x, the packed
    weights, scale, offset, the workspace, then y."""
    packed = int4_pack.pack(data["w"], plan.layout)
    gm: dict[str, GlobalTensor] = {
        "x": device.gm.tensor("x", data["x"]),
        "w": device.gm.tensor("w_int4", packed.reshape(-1).view(np.uint8)),
        "scale": device.gm.tensor("antiquant_scale", data["scale"]),
        "offset": device.gm.tensor("antiquant_offset", data["offset"]),
    }
    workspace = np.zeros(workspace_elements(plan), np.float16)
    gm["workspace"] = device.gm.tensor("dequant_workspace", workspace, workspace=True, misalign=0)
    gm["y"] = device.gm.empty("y", (plan.m, plan.n), np.float16)
    return gm


def run_int4(device: Device, params: dict[str, Any]) -> KernelResult:
    """``int4_gemm``."""
    plan = plan_int4(params, device.chip)
    data = _int4_inputs(plan, int(params["seed"]))
    gm = _upload_int4(device, plan, data)
    device.launch(plan.kernel, int4_block, plan.blocks, "mix", plan=plan, gm=gm)
    x64 = data["x"].astype(np.float64)
    w, scale, offset = data["w"], data["scale"], data["offset"]

    def reference(cols: slice) -> np.ndarray:
        return int4_gemm_reference(
            x64, w[:, cols], scale[:, cols], offset[:, cols], plan.group_size
        )

    # What npu_weight_quant_batchmatmul takes: x, the int4 values (before
    # npu_convert_weight_to_int4pack), scale and offset.
    inputs = {"x": data["x"], "w_int": w, "scale": scale, "offset": offset}
    return KernelResult(
        outputs={"y": gm["y"].numpy()},
        references={"y": _column_reference(reference, plan)},
        notes=_notes(plan, params),
        inputs=inputs,
    )
