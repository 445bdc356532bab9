"""The host side of LayerNorm: inputs, upload to GM, the launches, and the
result with its float64 reference."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.kernels.layernorm.body import inplace_kernel, normalize_kernel, residual_add_kernel
from ubscope.kernels.layernorm.plan import buffers_of, ub_bytes, validate
from ubscope.kernels.layernorm.reference import layernorm_reference
from ubscope.probe.device import Device
from ubscope.probe.kernel_spec import ChunkedReference, KernelResult
from ubscope.probe.memory.dtypes import F16


def run(device: Device, params: dict[str, Any]) -> KernelResult:
    validate(params, device.chip)
    rows, hidden, eps, cores = params["rows"], params["hidden"], params["eps"], params["cores"]
    buffers = buffers_of(params)
    rng = np.random.default_rng(params["seed"])
    x = rng.standard_normal((rows, hidden)).astype(F16)
    residual = rng.standard_normal((rows, hidden)).astype(F16)
    gamma = (1.0 + 0.1 * rng.standard_normal(hidden)).astype(F16)
    beta = (0.1 * rng.standard_normal(hidden)).astype(F16)
    gx, gres = device.gm.tensor("x", x), device.gm.tensor("residual", residual)
    ggamma, gbeta = device.gm.tensor("gamma", gamma), device.gm.tensor("beta", beta)
    shared = {"rows": rows, "hidden": hidden, "buffers": buffers}
    affine = {"ggamma": ggamma, "gbeta": gbeta, "eps": eps}
    if params["inplace"]:
        device.launch(
            "layernorm_inplace", inplace_kernel, cores, gx=gx, gres=gres, **affine, **shared
        )
        output = gx
    else:
        gsum = device.gm.empty("residual_sum", (rows, hidden), F16)
        output = device.gm.empty("y", (rows, hidden), F16)
        device.launch(
            "residual_add", residual_add_kernel, cores, gx=gx, gres=gres, gsum=gsum, **shared
        )
        device.launch(
            "layernorm", normalize_kernel, cores, gsum=gsum, gy=output, **affine, **shared
        )

    def reference(part: slice) -> np.ndarray:
        return layernorm_reference(x[part], residual[part], gamma, beta, eps)

    ub = ub_bytes(hidden, params["inplace"], buffers)
    notes = [f"{cores} vector cores, {ub} B of UB per core"]
    return KernelResult(
        outputs={"y": output.numpy()},
        references={"y": ChunkedReference(reference, 4 * 8 * hidden)},
        notes=notes,
        inputs={"x": x, "residual": residual, "gamma": gamma, "beta": beta},
    )
