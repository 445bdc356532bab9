"""The ``sparse_attention`` kernel: four projection launches and the attention core;
parameters, presets, cost estimate, run."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.kernels import sparse24
from ubscope.kernels.param_checks import check_seed
from ubscope.kernels.registry import register
from ubscope.kernels.sparse_attention.body import attention_core_kernel
from ubscope.kernels.sparse_attention.plan import (
    EVENTS_PER_PAIR,
    EVENTS_PER_QUERY_ROW,
    PROJECTIONS,
    SPARSE_VARIANTS,
    AttentionShape,
    check_shape,
    single_buffered_inputs,
)
from ubscope.kernels.sparse_attention.reference import reference_attention
from ubscope.kernels.sparse_matmul.body import HostWeight
from ubscope.kernels.sparse_matmul.host import (
    launch_matmul,
    random_weight,
    upload_weight,
    weight_bytes,
)
from ubscope.kernels.sparse_matmul.plan import MatmulPlan, auto_plan, matmul_events
from ubscope.probe.chip import ChipProfile
from ubscope.probe.device import Device
from ubscope.probe.errors import ParameterError
from ubscope.probe.estimate import Estimate, estimate
from ubscope.probe.kernel_spec import KernelResult, KernelSpec, Param, cores_param, vector_blocks
from ubscope.probe.units import plural


def _shape(params: dict[str, Any]) -> AttentionShape:
    return AttentionShape(params["batch"], params["seq_len"], params["hidden"], params["heads"])


def _projection_variant(params: dict[str, Any]) -> str:
    return params["variant"] if params["sparse"] else "dense"


def _projection_plan(
    params: dict[str, Any], shape: AttentionShape, chip: ChipProfile
) -> MatmulPlan:
    """The tiling of each projection (all four share the shape)."""
    return auto_plan(
        shape.tokens,
        shape.hidden,
        shape.hidden,
        params["cores"],
        _projection_variant(params),
        params["meta_format"],
        chip,
        params["double_buffer"],
    )


def validate(params: dict[str, Any], chip: ChipProfile) -> None:
    if params["variant"] not in SPARSE_VARIANTS:
        raise ParameterError(
            f"variant={params['variant']!r}: expected one of {', '.join(SPARSE_VARIANTS)}"
        )
    shape = _shape(params)
    check_shape(shape, params["cores"], params["double_buffer"], chip)
    _projection_plan(params, shape, chip)
    check_seed("sparse_attention", params)


def run(device: Device, params: dict[str, Any]) -> KernelResult:
    shape = _shape(params)
    variant = _projection_variant(params)
    chip, cores = device.chip, params["cores"]
    plan = auto_plan(
        shape.tokens,
        shape.hidden,
        shape.hidden,
        cores,
        variant,
        params["meta_format"],
        chip,
        params["double_buffer"],
    )
    rng = np.random.default_rng(params["seed"])
    x = rng.standard_normal((shape.tokens, shape.hidden)).astype(np.float16)
    uploaded: dict[str, HostWeight] = {
        name: upload_weight(
            device,
            f"w{name}",
            random_weight(rng, shape.hidden, shape.hidden),
            variant,
            params["meta_format"],
        )
        for name in PROJECTIONS
    }
    gm = device.gm
    gx = gm.tensor("x", x)
    acts = {
        name: gm.empty(name, (shape.tokens, shape.hidden), np.float16)
        for name in ("q", "k", "v", "ctx", "out")
    }
    for name in ("q", "k", "v"):
        launch_matmul(device, f"{name}_proj", plan, gx, acts[name], uploaded[name])
    pairs = shape.batch * shape.heads
    buffers = 2 if params["double_buffer"] else 1
    device.launch(
        "attention_core",
        attention_core_kernel,
        min(cores, pairs),
        "vector",
        shape=shape,
        q=acts["q"],
        k=acts["k"],
        v=acts["v"],
        ctx=acts["ctx"],
        buffers=buffers,
        single_buffered=single_buffered_inputs(buffers, chip),
        causal=params["causal"],
    )
    launch_matmul(device, "o_proj", plan, acts["ctx"], acts["out"], uploaded["o"])
    effective = {name: weight.effective for name, weight in uploaded.items()}
    note = (
        f"projections: {variant}, tile {plan.tile_n}x{plan.tile_k} on {plural(plan.blocks, 'block')}; "
        f"attention core on {plural(min(cores, pairs), 'block')}"
    )
    return KernelResult(
        outputs={"out": acts["out"].numpy()},
        references={"out": reference_attention(x, effective, shape, causal=params["causal"])},
        notes=[note],
    )


def estimate_cost(params: dict[str, Any], chip: ChipProfile) -> Estimate:
    """Four projection launches and the attention core; host memory: per
    weight its float64 draw, fp16, compressed, GM and float64 reference
    copies, and the activations in GM and in float64 for the reference."""
    shape = _shape(params)
    plan = _projection_plan(params, shape, chip)
    events, work = matmul_events(plan)
    pairs = shape.batch * shape.heads
    events = len(PROJECTIONS) * events + pairs * (
        EVENTS_PER_PAIR + EVENTS_PER_QUERY_ROW * shape.seq_len
    )
    attention = 2 * pairs * shape.seq_len * shape.padded_seq * shape.head_dim
    weights = len(PROJECTIONS) * shape.hidden**2 * (8 + 3 * 2 + 8)
    activations = shape.tokens * shape.hidden * (6 * 2 + 6 * 8)
    values = len(PROJECTIONS) * shape.hidden**2 + 6 * shape.tokens * shape.hidden
    return estimate(events, weights + activations, len(PROJECTIONS) * work + attention, values)


def minimal_traffic(params: dict[str, Any]) -> dict[str, int]:
    """Each of the five launches reads its inputs once and writes its output once:
    the Q, K and V projections read x and their weight and write q, k and v; the
    attention core reads q, k and v and writes ctx; the O projection reads ctx and
    its weight and writes the layer output. (Only a fully fused layer could keep
    q, k, v and ctx on chip.)"""
    shape = _shape(params)
    activation = shape.tokens * shape.hidden * 2
    variant = _projection_variant(params)
    weight = weight_bytes(shape.hidden, shape.hidden, variant, params["meta_format"])
    launches = len(PROJECTIONS) + 1
    # every projection reads one activation; the attention core reads three
    reads = len(PROJECTIONS) * (activation + weight) + 3 * activation
    return {"read": reads, "write": launches * activation}


LLAMA2_13B = {"hidden": 5120, "heads": 40, "seq_len": 8, "batch": 1, "cores": vector_blocks()}

SPEC = register(
    KernelSpec(
        name="sparse_attention",
        summary="one attention layer whose Q/K/V/O projections are 2:4-sparse matmuls "
        "(sparse=false: the dense layer)",
        params=(
            Param("hidden", int, 256, "model width (multiple of heads and of 4)"),
            Param("heads", int, 4, "attention heads (head_dim = hidden/heads, multiple of 16)"),
            Param("seq_len", int, 16, "tokens per sequence in this step"),
            Param("batch", int, 1, "sequences"),
            Param("causal", bool, True, "causal mask: a token attends to the tokens up to itself"),
            Param("sparse", bool, True, "2:4-sparse projections (false: dense fp16)"),
            Param("variant", str, "gather", "sparse matmul algorithm", SPARSE_VARIANTS),
            Param("meta_format", str, "nibble", "2:4 metadata layout", sparse24.META_FORMATS),
            cores_param(8),
            Param(
                "double_buffer",
                bool,
                True,
                "two buffers per copy queue (fewer if the chip's queue limit needs it)",
            ),
            Param("seed", int, 0, "random seed of the inputs"),
        ),
        run=run,
        minimal_traffic=minimal_traffic,
        validate=validate,
        estimate=estimate_cost,
        presets={
            "llama2_13b": (
                "LLaMA-2-13B attention shapes (hidden 5120, 40 heads of 128) on every vector core "
                "(48 AIVs on 910B2), "
                "one 8-token sequence; takes minutes to emulate: used by bench/bench_sparse.py",
                LLAMA2_13B,
            ),
        },
    )
)
