"""The decode kernel: each block's (sequence, KV head) units, their K/V pages
copied through the block table and folded into an online softmax."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ubscope.kernels.paged_attention.tiling import (
    BLOCK_REDUCE,
    WHOLE_REDUCE_MAX,
    AttentionTiling,
)
from ubscope.probe.device import Block, Core
from ubscope.probe.memory import vector
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.broadcast import broadcast_columns, broadcast_rows
from ubscope.probe.memory.datacopy import (
    BLOCK,
    CopyExtParams,
    CopyParams,
    data_copy,
    data_copy_pad,
)
from ubscope.probe.memory.dtypes import F16, F32
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.reduce import sum_groups, tree_sum_rows
from ubscope.probe.memory.tpipe import TBuf, TPipe, TQue


def _row_sums(
    out: LocalTensor, src: LocalTensor, rows: int, cols: int, fold: LocalTensor | None
) -> None:
    """Per-row sums of a row-major ``rows x cols`` fp32 tile into ``out``;
    rows wider than one repeat are first folded by DataBlocks into ``fold``."""
    if cols > WHOLE_REDUCE_MAX:
        if fold is None:
            raise ValueError(f"rows of {cols} values need a fold buffer")
        sum_groups("BlockReduceSum", fold, src, rows * cols // BLOCK_REDUCE, BLOCK_REDUCE)
        src, cols = fold, cols // BLOCK_REDUCE
    sum_groups("WholeReduceSum", out, src, rows, cols)


@dataclass(frozen=True)
class _UnitBuffers:
    """One core's UB by name: the K/V page, q and output queues, and the fp32
    work TBufs."""

    queues: dict[str, TQue]
    calc: dict[str, TBuf]

    def f32(self, name: str, count: int | None = None) -> LocalTensor:
        """The first ``count`` fp32 values (all when None) of TBuf ``name``."""
        return self.calc[name].get(F32, count)


@dataclass
class _HeadState:
    """Online-softmax state of one query head (scalar registers)."""

    running_max: float = -math.inf
    running_sum: float = 0.0
    rescale: float = 0.0  # exp(old max - new max) of the latest chunk


@dataclass
class _Unit:
    """One (sequence slot, KV head) unit and where its data lives."""

    slot: int
    kv_head: int
    length: int
    pages: list[int]
    heads: list[_HeadState] = field(default_factory=list)


def _copy_page(tile: LocalTensor, cache: GlobalTensor, rows: int, tiling: AttentionTiling) -> None:
    """One KV head's rows of a page: DataCopy of a full page, DataCopyPad of the
    partly filled last one (its rows only). One burst per row when other heads
    sit between the rows, one burst for all of them when none do."""
    row_bytes = tiling.head_dim * F16.itemsize
    gap = (tiling.hidden - tiling.head_dim) * F16.itemsize
    bursts, burst_bytes = (rows, row_bytes) if gap else (1, rows * row_bytes)
    if rows == tiling.block_size:
        data_copy(tile, cache, params=CopyParams(bursts, burst_bytes // BLOCK, gap // BLOCK, 0))
    else:
        data_copy_pad(tile, cache, CopyExtParams(bursts, burst_bytes, gap, 0))


def _attend_chunk(
    core: Core,
    bufs: _UnitBuffers,
    tiling: AttentionTiling,
    unit: _Unit,
    keys: LocalTensor,
    values: LocalTensor,
    first: int,
    rows: int,
) -> None:
    """Fold ``rows`` K/V rows starting at ``first`` into every head's running
    softmax and accumulator."""
    dim, chunk = tiling.head_dim, tiling.chunk
    kv32 = bufs.f32("kv_fp32", rows * dim)
    prod = bufs.f32("prod_fp32", rows * dim)
    probs = bufs.f32("probs_fp32")
    stat = bufs.f32("stat_fp32")
    fold = bufs.f32("fold_fp32") if "fold_fp32" in bufs.calc else None
    q32, acc = bufs.f32("q_fp32"), bufs.f32("acc_fp32")
    with core.site("scores"):
        vector.cast(kv32, keys[first * dim : (first + rows) * dim], rows * dim)
        for h in range(tiling.group):
            broadcast_rows("Mul", np.multiply, prod, kv32, q32[h * dim : (h + 1) * dim], rows, dim)
            _row_sums(probs[h * chunk : h * chunk + rows], prod, rows, dim, fold)
    with core.site("softmax"):
        for h, state in enumerate(unit.heads):
            scores = probs[h * chunk : h * chunk + rows]
            vector.reduce_max(stat, scores, rows)
            new_max = max(state.running_max, float(stat.array[0]))
            state.rescale = math.exp(state.running_max - new_max)
            vector.adds(scores, scores, -new_max, rows)
            vector.exp(scores, scores, rows)
            vector.reduce_sum(stat, scores, rows)
            state.running_sum = state.running_sum * state.rescale + float(stat.array[0])
            state.running_max = new_max
    with core.site("pv"):
        vector.cast(kv32, values[first * dim : (first + rows) * dim], rows * dim)
        for h, state in enumerate(unit.heads):
            weights = probs[h * chunk : h * chunk + rows]
            broadcast_columns("Mul", np.multiply, prod, kv32, weights, rows, dim)
            tree_sum_rows(prod, rows, dim)
            head_acc = acc[h * dim : (h + 1) * dim]
            vector.muls(head_acc, head_acc, state.rescale, dim)
            vector.add(head_acc, head_acc, prod[0:dim], dim)


def _attend_unit(
    core: Core,
    bufs: _UnitBuffers,
    tiling: AttentionTiling,
    unit: _Unit,
    gq: GlobalTensor,
    gk: GlobalTensor,
    gv: GlobalTensor,
    gout: GlobalTensor,
) -> None:
    dim, group = tiling.head_dim, tiling.group
    width = group * dim
    q_offset = (unit.slot * tiling.heads + unit.kv_head * group) * dim
    queues = bufs.queues
    q_que, k_que, v_que, out_que = (
        queues[name] for name in ("q_tile", "k_page", "v_page", "out_tile")
    )
    q32, acc = bufs.f32("q_fp32", width), bufs.f32("acc_fp32", width)
    with core.site("load_q"):
        q16 = q_que.alloc_tensor(F16)
        data_copy(q16, gq[q_offset:], width)
        q_que.enque(q16)
        q16 = q_que.deque()
        vector.cast(q32, q16, width)
        vector.muls(q32, q32, 1.0 / math.sqrt(dim), width)
        q_que.free_tensor(q16)
        vector.duplicate(acc, 0.0, width)
    unit.heads = [_HeadState() for _ in range(group)]
    for index, page in enumerate(unit.pages):
        rows = min(tiling.block_size, unit.length - index * tiling.block_size)
        offset = page * tiling.block_size * tiling.hidden + unit.kv_head * dim
        with core.site("load_kv"):
            for que, cache in ((k_que, gk), (v_que, gv)):
                tile = que.alloc_tensor(F16)
                _copy_page(tile, cache[offset:], rows, tiling)
                que.enque(tile)
            keys, values = k_que.deque(), v_que.deque()
        for first in range(0, rows, tiling.chunk):
            _attend_chunk(
                core, bufs, tiling, unit, keys, values, first, min(tiling.chunk, rows - first)
            )
        k_que.free_tensor(keys)
        v_que.free_tensor(values)
    with core.site("store"):
        for h, state in enumerate(unit.heads):
            head_acc = acc[h * dim : (h + 1) * dim]
            vector.muls(head_acc, head_acc, 1.0 / state.running_sum, dim)
        out16 = out_que.alloc_tensor(F16)
        vector.cast(out16, acc, width)
        out_que.enque(out16)
        out16 = out_que.deque()
        data_copy(gout[q_offset:], out16, width)
        out_que.free_tensor(out16)


def decode_kernel(
    block: Block,
    gq: GlobalTensor,
    gk: GlobalTensor,
    gv: GlobalTensor,
    gtable: GlobalTensor,
    gout: GlobalTensor,
    lengths: tuple[int, ...],
    tiling: AttentionTiling,
) -> None:
    core = block.aiv
    table = gtable.numpy()  # read by the scalar unit (GetValue), not DataCopy
    units = [
        _Unit(
            slot, kv_head, length, [int(p) for p in table[slot, : -(-length // tiling.block_size)]]
        )
        for slot, length in enumerate(lengths)
        for kv_head in range(tiling.kv_heads)
    ][block.idx :: block.dim]
    if not units:
        return
    pipe = TPipe(core)
    bufs = _UnitBuffers({}, {})
    with core.site("init"):
        for name, position, num, nbytes in tiling.layout():
            que = TBuf(position, name) if position == TPosition.VECCALC else TQue(position, 1, name)
            pipe.init_buffer(que, num, nbytes)
            if isinstance(que, TBuf):
                bufs.calc[name] = que
            else:
                bufs.queues[name] = que
    for unit in units:
        _attend_unit(core, bufs, tiling, unit, gq, gk, gv, gout)
