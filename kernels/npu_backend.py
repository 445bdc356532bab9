"""The guarded real-NPU path: cross-check emulated kernels against torch_npu.

Where torch_npu imports, CANN's libraries load and an NPU is visible,
``ubscope run KERNEL --backend npu`` also runs the matching torch_npu operator
on the same inputs (``npu_weight_quant_batchmatmul`` for the INT4 GEMM,
``npu_incre_flash_attention`` with ``block_table`` for paged attention),
compares the numerics and records a torch_npu profiler run (profile_memory)
next to the trace. The kernels keep the operator's inputs in
``KernelResult.inputs`` (paged attention: its last decode step). Nobody on
this project has an NPU: the path is tested against a fake torch/torch_npu
that computes the operators in numpy and writes a torch_npu profiler folder
(tests/kernels/fake_torch_npu.py), so only the device itself is untested.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ubscope.probe.errors import UbscopeError
from ubscope.probe.kernel_spec import ATOL, RTOL, KernelResult


class NpuUnavailable(UbscopeError):
    """The NPU backend was asked for but cannot run here (the message says why)."""


@dataclass(frozen=True)
class NpuRuntime:
    torch: ModuleType
    torch_npu: ModuleType


def probe_npu() -> NpuRuntime:
    """Import torch and torch_npu and find an NPU, or say exactly what is missing."""
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        raise NpuUnavailable(
            "--backend npu needs torch and torch_npu (pip install 'ubscope[npu]'); torch is not installed"
        ) from None
    try:
        torch_npu = importlib.import_module("torch_npu")
    except ImportError as exc:
        if "torch_npu" in str(exc) and "No module" in str(exc):
            raise NpuUnavailable("--backend npu: torch_npu is not installed") from None
        raise NpuUnavailable(
            f"--backend npu: torch_npu is installed but does not import ({exc}); CANN's libraries "
            "are probably absent (source set_env.sh of the CANN toolkit)"
        ) from None
    except OSError as exc:
        raise NpuUnavailable(
            f"--backend npu: torch_npu imports but CANN's libraries are absent ({exc})"
        ) from None
    npu = getattr(torch, "npu", None)
    if npu is None or not npu.is_available():
        raise NpuUnavailable("--backend npu: torch_npu imports but no NPU device is visible")
    return NpuRuntime(torch, torch_npu)


def _int4_gemm(rt: NpuRuntime, inputs: dict[str, np.ndarray], params: dict[str, Any]) -> np.ndarray:
    torch, npu = rt.torch, rt.torch_npu
    device = "npu"
    x = torch.from_numpy(inputs["x"]).to(device)
    weight = npu.npu_convert_weight_to_int4pack(
        torch.from_numpy(inputs["w_int"]).to(torch.int32).to(device)
    )
    scale = torch.from_numpy(inputs["scale"]).to(device)
    offset = torch.from_numpy(inputs["offset"]).to(device)
    y = npu.npu_weight_quant_batchmatmul(
        x,
        weight,
        scale,
        antiquant_offset=offset,
        antiquant_group_size=int(params.get("group_size", 0)),
    )
    return y.cpu().numpy()


def _paged_attention(
    rt: NpuRuntime, inputs: dict[str, np.ndarray], params: dict[str, Any]
) -> np.ndarray:
    """The last decode step; BSH query (batch, 1, heads*head_dim) in and out."""
    torch, npu = rt.torch, rt.torch_npu
    q = torch.from_numpy(inputs["query"]).to("npu")
    k = torch.from_numpy(inputs["key_cache"]).to("npu")
    v = torch.from_numpy(inputs["value_cache"]).to("npu")
    out = npu.npu_incre_flash_attention(
        q,
        k,
        v,
        num_heads=int(params["heads"]),
        num_key_value_heads=int(params.get("kv_heads", params["heads"])),
        block_table=torch.from_numpy(inputs["block_table"]).to(torch.int32).to("npu"),
        actual_seq_lengths=inputs["seq_lens"].astype(int).tolist(),
        block_size=int(params["block_size"]),
        input_layout="BSH",
        scale_value=float(1.0 / np.sqrt(params["head_dim"])),
    )
    return out.cpu().numpy().reshape(len(inputs["seq_lens"]), params["heads"], params["head_dim"])


# Kernel name -> (torch_npu operator call, the emulated output it must match).
OPERATORS: dict[str, tuple[Callable[..., np.ndarray], Callable[[KernelResult], np.ndarray]]] = {
    "int4_gemm": (_int4_gemm, lambda result: result.outputs["y"]),
    "paged_attention": (_paged_attention, lambda result: result.outputs["out"][-1]),
}


@dataclass
class CrossCheck:
    operator_output: np.ndarray
    max_abs_error: float
    matches: bool
    profile_dir: Path | None


def cross_check(
    kernel: str,
    params: dict[str, Any],
    result: KernelResult,
    profile_dir: Path | None = None,
    runtime: NpuRuntime | None = None,
) -> CrossCheck:
    """Run the torch_npu operator matching ``kernel`` on the run's inputs and
    compare it with the emulated output; profile it with memory when asked."""
    if kernel not in OPERATORS:
        known = ", ".join(sorted(OPERATORS))
        raise NpuUnavailable(f"--backend npu has no torch_npu operator for {kernel} (only {known})")
    if not result.inputs:
        raise NpuUnavailable(f"{kernel} did not keep its inputs for an NPU cross-check")
    rt = runtime or probe_npu()
    call, emulated_output = OPERATORS[kernel]
    if profile_dir is None:
        actual = call(rt, result.inputs, params)
    else:
        profiler = rt.torch_npu.profiler
        with profiler.profile(
            activities=[profiler.ProfilerActivity.CPU, profiler.ProfilerActivity.NPU],
            profile_memory=True,
            on_trace_ready=profiler.tensorboard_trace_handler(str(profile_dir)),
        ):
            actual = call(rt, result.inputs, params)
    emulated = emulated_output(result).astype(np.float64)
    error = float(np.max(np.abs(actual.astype(np.float64) - emulated))) if emulated.size else 0.0
    matches = bool(np.allclose(actual.astype(np.float64), emulated, rtol=RTOL, atol=ATOL))
    return CrossCheck(actual, error, matches, profile_dir)
