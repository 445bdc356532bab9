"""The attention core kernel: softmax(Q K^T / sqrt(d)) V per (sequence, head) pair on an AIV."""

from __future__ import annotations

import math

from ubscope.kernels.sparse_attention.plan import AttentionShape
from ubscope.probe.device import Block
from ubscope.probe.memory import vector
from ubscope.probe.memory.buffers import QueueBuffers
from ubscope.probe.memory.datacopy import copy_rows
from ubscope.probe.memory.dtypes import F16
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.index_tables import fill_index_table, transpose_table
from ubscope.probe.memory.reduce import multiply_reduce
from ubscope.probe.memory.tpipe import TPipe


def attention_core_kernel(
    block: Block,
    shape: AttentionShape,
    q: GlobalTensor,
    k: GlobalTensor,
    v: GlobalTensor,
    ctx: GlobalTensor,
    buffers: int,
    single_buffered: frozenset[str],
    causal: bool,
) -> None:
    """softmax(Q K^T / sqrt(d)) V for the (sequence, head) pairs of this block,
    ``buffers`` blocks per queue but those ``single_buffered``; ``causal``:
    query row i sees keys 0..i only, so its softmax and weighted sum run over
    the first i + 1 scores (the masked ones are never read)."""
    core = block.aiv
    s, d, sp, hidden = shape.seq_len, shape.head_dim, shape.padded_seq, shape.hidden
    groups = {group.name: group for group in shape.core_groups()}
    ub = QueueBuffers(TPipe(core), tuple(groups.values()), buffers, single_buffered)
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
            visible = i + 1 if causal else s
            with core.site("scores"):
                logits = multiply_reduce(calc["q"][i * d : (i + 1) * d], calc["k_t"], work, d, sp)
                vector.muls(row, logits, scale, sp)
            with core.site("softmax"):
                vector.reduce_max(stat, row, visible)
                vector.adds(row, row, -float(stat.array[0]), visible)
                vector.exp(row, row, visible)
                vector.reduce_sum(stat, row, visible)
                total = float(stat.array[0])
            with core.site("weighted_values"):
                mixed = multiply_reduce(row, calc["v"], work, visible, d)
                vector.muls(ctx32[i * d : (i + 1) * d], mixed, 1.0 / total, d)
        with core.site("copy_ctx"):
            out = ub.take(groups["ctx_tile"])
            vector.cast(out["f16"], ctx32, s * d)
            ub.ready(out)
            copy_rows(ctx[first:], out["f16"], s, d * 2, d * 2, hidden * 2)
            ub.give(out)
