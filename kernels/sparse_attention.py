"""One attention layer with 2:4-sparse Q/K/V/O projections, against the dense layer.

The step: ``Q, K, V = X Wq^T, X Wk^T, X Wv^T``; per sequence and head
``softmax(Q K^T / sqrt(d)) V`` over the step's own ``seq_len`` tokens (a
prefill step without KV cache and without a causal mask: the formula as the
article states it); ``out = ctx Wo^T``. Each projection is one launch of the ``sparse_matmul``
kernel (``variant=gather|rebuild``, or ``dense`` with the unpruned weights
when ``sparse=false``), the attention core one vector launch, so the trace
holds five launches and the projections' share of the layer time can be read
from it.

The attention core runs one (sequence, head) pair per round on an AIV:
Q, K and V tiles come in by DataCopy, K is transposed by a Gather, every score
row is a broadcast-multiply-sum against K^T, the softmax is fp32 (the
normalisation is applied after P V), and the context row goes back as fp16.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ubscope.kernels import sparse24
from ubscope.kernels.registry import register
from ubscope.kernels.sparse_matmul.body import HostWeight
from ubscope.kernels.sparse_matmul.host import (
    launch_matmul,
    random_weight,
    upload_weight,
    weight_bytes,
)
from ubscope.kernels.sparse_matmul.plan import MatmulPlan, auto_plan, check_cores, matmul_events
from ubscope.probe.chip import ChipProfile
from ubscope.probe.device import Block, Device
from ubscope.probe.errors import ParameterError
from ubscope.probe.estimate import Estimate, estimate
from ubscope.probe.kernel_spec import KernelResult, KernelSpec, Param, cores_param, vector_blocks
from ubscope.probe.memory import vector
from ubscope.probe.memory.buffers import Group, QueueBuffers
from ubscope.probe.memory.datacopy import copy_rows
from ubscope.probe.memory.dtypes import F16, F32, I32
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.index_tables import fill_index_table, transpose_table
from ubscope.probe.memory.reduce import multiply_reduce
from ubscope.probe.units import plural

PROJECTIONS = ("q", "k", "v", "o")
SPARSE_VARIANTS = ("gather", "rebuild")
ROW_UNIT = 8  # fp32 elements in a 32 B block: score rows are padded to it
# Events of one (sequence, head) pair of the attention core and of each of its
# query rows (counted on recorded runs).
EVENTS_PER_PAIR, EVENTS_PER_QUERY_ROW = 20, 24


@dataclass(frozen=True)
class AttentionShape:
    batch: int
    seq_len: int
    hidden: int
    heads: int

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def tokens(self) -> int:
        return self.batch * self.seq_len

    @property
    def padded_seq(self) -> int:
        return -(-self.seq_len // ROW_UNIT) * ROW_UNIT

    def core_groups(self) -> tuple[Group, ...]:
        """The attention core's UB buffers for one (sequence, head) pair."""
        s, d, sp = self.seq_len, self.head_dim, self.padded_seq
        tile = (("f16", F16, s * d),)
        return (
            Group("q_tile", "in", tile),
            Group("k_tile", "in", tile),
            Group("v_tile", "in", tile),
            Group("ctx_tile", "out", tile),
            Group(
                "qkv_f32",
                "calc",
                (
                    ("q", F32, s * d),
                    ("k_t16", F16, d * sp),
                    ("k_t", F32, d * sp),
                    ("v", F32, s * d),
                ),
            ),
            Group("scores", "calc", (("row", F32, sp), ("stat", F32, sp))),
            Group("work", "calc", (("f32", F32, max(d * sp, s * d)),)),
            Group("ctx_f32", "calc", (("f32", F32, s * d),)),
            Group("index_tables", "calc", (("k_transpose", I32, d * sp),)),
        )

    def core_footprint(self, buffers_per_queue: int) -> int:
        return sum(
            g.nbytes * (1 if g.kind == "calc" else buffers_per_queue) for g in self.core_groups()
        )


def check_shape(shape: AttentionShape, cores: int, double_buffer: bool, chip: ChipProfile) -> None:
    """ParameterError naming the limit a shape breaks."""
    for name in ("batch", "seq_len", "hidden", "heads"):
        if getattr(shape, name) < 1:
            raise ParameterError(f"{name}={getattr(shape, name)}: must be at least 1")
    if shape.hidden % shape.heads:
        raise ParameterError(f"hidden={shape.hidden}: must be a multiple of heads={shape.heads}")
    if shape.head_dim % 16:
        raise ParameterError(
            f"head_dim={shape.head_dim} (hidden/heads): must be a multiple of 16 "
            "(whole 32 B rows of fp16)"
        )
    sparse24.check_k(shape.hidden, "hidden")
    check_cores(cores, chip)
    footprint = shape.core_footprint(2 if double_buffer else 1)
    if footprint > chip.ub_safe_budget:
        raise ParameterError(
            f"seq_len={shape.seq_len}: the attention core needs {footprint} B of UB per head "
            f"(head_dim {shape.head_dim}), over the {chip.ub_safe_budget} B budget of {chip.name}; "
            "lower seq_len"
        )


def attention_core_kernel(
    block: Block,
    shape: AttentionShape,
    q: GlobalTensor,
    k: GlobalTensor,
    v: GlobalTensor,
    ctx: GlobalTensor,
    buffers: int,
) -> None:
    """softmax(Q K^T / sqrt(d)) V for the (sequence, head) pairs of this block."""
    core = block.aiv
    s, d, sp, hidden = shape.seq_len, shape.head_dim, shape.padded_seq, shape.hidden
    groups = {group.name: group for group in shape.core_groups()}
    ub = QueueBuffers(core, tuple(groups.values()), buffers)
    calc, scores = ub.take(groups["qkv_f32"]), ub.take(groups["scores"])
    work, ctx32 = ub.take(groups["work"])["f32"], ub.take(groups["ctx_f32"])["f32"]
    k_transpose = ub.take(groups["index_tables"])["k_transpose"]
    with core.site("index_tables"):
        fill_index_table(k_transpose, transpose_table(s, d, d, F16.itemsize, sp))
    scale = 1.0 / math.sqrt(d)
    for pair in range(block.idx, shape.batch * shape.heads, block.dim):
        sequence, head = divmod(pair, shape.heads)
        first = sequence * s * hidden + head * d
        tiles = {}
        with core.site("copy_qkv"):
            for name, source in (("q_tile", q), ("k_tile", k), ("v_tile", v)):
                tiles[name] = ub.take(groups[name])
                copy_rows(tiles[name]["f16"], source[first:], s, d * 2, hidden * 2, d * 2)
                ub.ready(tiles[name])
        with core.site("prepare_qkv"):
            vector.cast(calc["q"], tiles["q_tile"]["f16"], s * d)
            vector.gather(calc["k_t16"], tiles["k_tile"]["f16"], k_transpose, d * sp)
            vector.cast(calc["k_t"], calc["k_t16"], d * sp)
            vector.cast(calc["v"], tiles["v_tile"]["f16"], s * d)
            for tile in tiles.values():
                ub.give(tile)
        row, stat = scores["row"], scores["stat"]
        for i in range(s):
            with core.site("scores"):
                logits = multiply_reduce(calc["q"][i * d : (i + 1) * d], calc["k_t"], work, d, sp)
                vector.muls(row, logits, scale, sp)
            with core.site("softmax"):
                vector.reduce_max(stat, row, s)
                vector.adds(row, row, -float(stat.array[0]), s)
                vector.exp(row, row, s)
                vector.reduce_sum(stat, row, s)
                total = float(stat.array[0])
            with core.site("weighted_values"):
                mixed = multiply_reduce(row, calc["v"], work, s, d)
                vector.muls(ctx32[i * d : (i + 1) * d], mixed, 1.0 / total, d)
        with core.site("copy_ctx"):
            out = ub.take(groups["ctx_tile"])
            vector.cast(out["f16"], ctx32, s * d)
            ub.ready(out)
            copy_rows(ctx[first:], out["f16"], s, d * 2, d * 2, hidden * 2)
            ub.give(out)


def reference_attention(
    x: np.ndarray, weights: dict[str, np.ndarray], shape: AttentionShape
) -> np.ndarray:
    """The layer in float64 with the weights the kernels use."""
    x = x.astype(np.float64)
    q, k, v = (x @ weights[name].astype(np.float64).T for name in ("q", "k", "v"))
    b, s, h, d = shape.batch, shape.seq_len, shape.heads, shape.head_dim

    def heads(t: np.ndarray) -> np.ndarray:
        return t.reshape(b, s, h, d).transpose(0, 2, 1, 3)

    logits = heads(q) @ heads(k).transpose(0, 1, 3, 2) / math.sqrt(d)
    logits -= logits.max(axis=-1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=-1, keepdims=True)
    ctx = (probs @ heads(v)).transpose(0, 2, 1, 3).reshape(b * s, h * d)
    return ctx @ weights["o"].astype(np.float64).T


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
        buffers=2 if params["double_buffer"] else 1,
    )
    launch_matmul(device, "o_proj", plan, acts["ctx"], acts["out"], uploaded["o"])
    effective = {name: weight.effective for name, weight in uploaded.items()}
    note = (
        f"projections: {variant}, tile {plan.tile_n}x{plan.tile_k} on {plural(plan.blocks, 'block')}; "
        f"attention core on {plural(min(cores, pairs), 'block')}"
    )
    return KernelResult(
        outputs={"out": acts["out"].numpy()},
        references={"out": reference_attention(x, effective, shape)},
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
    """x and the four weights read once, the layer output written once."""
    shape = _shape(params)
    activation = shape.tokens * shape.hidden * 2
    variant = _projection_variant(params)
    weight = weight_bytes(shape.hidden, shape.hidden, variant, params["meta_format"])
    return {"read": activation + len(PROJECTIONS) * weight, "write": activation}


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
            Param("sparse", bool, True, "2:4-sparse projections (false: dense fp16)"),
            Param("variant", str, "gather", "sparse matmul algorithm", SPARSE_VARIANTS),
            Param("meta_format", str, "nibble", "2:4 metadata layout", sparse24.META_FORMATS),
            cores_param(8),
            Param("double_buffer", bool, True, "two buffers per copy queue"),
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
