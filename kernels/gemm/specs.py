"""The registered ``int4_gemm`` and ``fp16_gemm`` kernels, their parameters and
planted-problem presets, and the helpers that compare the two."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ubscope.kernels.gemm import cost, int4_pack
from ubscope.kernels.gemm.host import run_fp16, run_int4
from ubscope.kernels.gemm.plan import POOLS, TAIL_COPIES, plan_fp16, plan_int4
from ubscope.kernels.registry import register, run_kernel
from ubscope.probe.chip import ChipProfile, load_chip
from ubscope.probe.kernel_spec import KernelSpec, Param

_COMMON = (
    Param("m", int, 16, "rows of x (tokens); m padded to 16 x tile_n fp32 must fit L0C"),
    Param("k", int, 4096, "reduction size (1..65535)"),
    Param("n", int, 4096, "output columns (1..65535)"),
    Param("tile_n", int, 0, "weight columns per tile (multiple of 64); 0 = the model's fastest"),
    Param(
        "tile_k",
        int,
        0,
        "weight rows per tile (multiple of 16); L0 takes it in chunks; 0 = the model's fastest",
    ),
    Param("cores", int, 0, "blocks; 0 = the fewest the cost model finishes soonest with"),
    Param("double_buffer", bool, True, "two buffers per queue (BUFFER_NUM 2) instead of one"),
    Param("x_resident", bool, True, "keep x in L1 for the whole kernel when it fits"),
    Param("check_capacity", bool, True, "check buffer footprints against UB/L1 (as CPU debug)"),
    Param("gm_misalign", int, 0, "bytes added to every GM tensor address (multiple of 32)"),
    Param("seed", int, 0, "random seed of the inputs"),
)
_INT4_ONLY = (
    Param("group_size", int, 0, "antiquant group size (multiple of 32, < k); 0 = per channel"),
    Param("layout", str, "block16", "packed weight layout", int4_pack.LAYOUTS),
    Param(
        "pool",
        str,
        "tpipe",
        "UB buffers: TPipe queues or the article's bump pool",
        POOLS,
    ),
    Param(
        "tail_copy",
        str,
        "pad",
        "ragged rows: DataCopyPad, or plain DataCopy (drops each row's tail)",
        TAIL_COPIES,
    ),
)


def _shape(params: Mapping[str, Any]) -> tuple[int, int, int]:
    return int(params["m"]), int(params["k"]), int(params["n"])


def _int4_minimal_traffic(params: dict[str, Any]) -> dict[str, int]:
    m, k, n = _shape(params)
    return cost.minimal_traffic(m, k, n, weight_bytes(params))


def _fp16_minimal_traffic(params: dict[str, Any]) -> dict[str, int]:
    m, k, n = _shape(params)
    return cost.minimal_traffic(m, k, n, weight_bytes(params, dense=True))


def _validate_int4(params: dict[str, Any], chip: ChipProfile) -> None:
    plan_int4(params, chip)


def _validate_fp16(params: dict[str, Any], chip: ChipProfile) -> None:
    plan_fp16(params, chip)


INT4_GEMM = register(
    KernelSpec(
        name="int4_gemm",
        summary="W4A16 GEMM y = x @ ((w + offset) * scale): AIV dequantizes int4 tiles into a "
        "GM workspace, AIC multiplies (910B mix launch)",
        params=_COMMON[:5] + _INT4_ONLY + _COMMON[5:],
        run=run_int4,
        minimal_traffic=_int4_minimal_traffic,
        presets={
            "ub_overflow": (
                "the article's bump pool with no capacity check and 256x256 double-buffered "
                "tiles: 320 KB of UB per AIV, the second round lands in the red zone",
                {"pool": "bump", "check_capacity": False, "tile_k": 256, "tile_n": 256},
            ),
            "nd_tail_truncation": (
                "ND int4 weights whose last column tile has 36 B rows, moved with plain "
                "DataCopy: each row's tail is dropped (TRUNCATED, off 512 B) and y is wrong",
                {
                    "layout": "nd",
                    "tail_copy": "datacopy",
                    "m": 4,
                    "k": 256,
                    "n": 200,
                    "tile_n": 128,
                },
            ),
            "gm_misaligned": (
                "every GM tensor starts 32 B past a 512 B boundary: copies run at the "
                "misaligned bandwidth",
                {"gm_misalign": 32},
            ),
        },
        validate=_validate_int4,
        estimate=cost.estimate_int4,
    )
)

FP16_GEMM = register(
    KernelSpec(
        name="fp16_gemm",
        summary="dense fp16 GEMM y = x @ w on the cube cores: the baseline int4_gemm is compared "
        "with",
        params=_COMMON,
        run=run_fp16,
        minimal_traffic=_fp16_minimal_traffic,
        validate=_validate_fp16,
        estimate=cost.estimate_fp16,
    )
)


def _spec(dense: bool) -> KernelSpec:
    return FP16_GEMM if dense else INT4_GEMM


def weight_bytes(params: Mapping[str, Any], dense: bool = False) -> int:
    """Weight memory in GM of ``fp16_gemm`` (``dense``) or ``int4_gemm`` with
    ``params`` over the kernel's defaults: fp16 K x N, or int4 K x N / 2 plus
    fp16 scale and offset rows (the article's "4x less weight memory" compares these)."""
    resolved = _spec(dense).resolve(overrides=params)
    _, k, n = _shape(resolved)
    if dense:
        return cost.fp16_weight_bytes(k, n)
    return cost.int4_weight_bytes(k, n, int(resolved["group_size"]))


def modelled_time_ps(
    params: Mapping[str, Any], dense: bool = False, chip: ChipProfile | None = None
) -> int:
    """Modelled kernel time of ``int4_gemm`` (or ``fp16_gemm``) with ``params``
    over the kernel's defaults, run without recording."""
    spec = _spec(dense)
    return run_kernel(spec, spec.resolve(overrides=params), chip or load_chip()).duration_ps
