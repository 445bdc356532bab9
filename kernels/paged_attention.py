"""Decode attention over a paged KV cache (PagedAttention), with online softmax.

A small serving scenario: ``batch`` slots each decode one token per step;
sequences of random prompt lengths arrive, grow and finish (seeded), and a
block manager (:mod:`ubscope.kernels.kv_cache`) hands out KV pages as they grow
(``layout=paged``) or reserves ``max_seq_len`` slots per sequence up front
(``layout=contiguous``), so the trace's KV page events show reserved against
used bytes for both. At every step the kernel runs on vector cores: each block
takes (sequence, KV head) units, copies the sequence's K and V pages GM->UB
through the block table (DataCopy per full page, DataCopyPad for the partly
filled last one, so no slot past the sequence is read), computes q.K^T for the
query heads sharing that KV head (GQA), and folds each page into a running
max, running sum and rescaled fp32 accumulator of P.V. Each live K/V token is
read once per step, however many query heads share it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ubscope.kernels.kv_cache import ContiguousKVCache, KVCache, PagedKVCache
from ubscope.kernels.registry import register
from ubscope.probe.chip import ChipProfile
from ubscope.probe.device import Block, Core, Device
from ubscope.probe.errors import ParameterError
from ubscope.probe.estimate import Estimate, estimate
from ubscope.probe.kernel_spec import KernelResult, KernelSpec, Param, cores_param
from ubscope.probe.memory import vector
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.datacopy import (
    BLOCK,
    CopyExtParams,
    CopyParams,
    data_copy,
    data_copy_pad,
)
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.pools import align_up
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TBuf, TPipe, TQue

FP16 = np.dtype(np.float16)
FP32 = np.dtype(np.float32)
LAYOUTS = ("paged", "contiguous")
MAX_BLOCK_SIZE = 512  # decode PageAttention limit (npu_fused_infer_attention_score)
MAX_HEAD_DIM = 512
MAX_HEADS = 256
MAX_HIDDEN = 65535  # H = kv_heads * head_dim of the (blocknum, block_size, H) layout
MAX_SEQ_LEN = 262144
WHOLE_REDUCE_MAX = 64  # fp32 values one WholeReduceSum repeat (256 B) folds into one
BLOCK_REDUCE = BLOCK // FP32.itemsize  # fp32 values BlockReduceSum folds (one DataBlock)
# Events of a (slot, KV head) unit, of each page it reads, and of each chunk
# of rows scored for one query head (counted on recorded runs).
EVENTS_PER_UNIT, EVENTS_PER_PAGE, EVENTS_PER_CHUNK_HEAD = 8, 12, 15


# -- the serving scenario ------------------------------------------------------
@dataclass(frozen=True)
class DecodeStep:
    """One decode step: who finished and arrived before it, then the batch."""

    released: tuple[int, ...]  # sequences that finished (their pages are freed)
    admitted: tuple[tuple[int, int], ...]  # (sequence, prompt tokens) that arrived
    sequences: tuple[int, ...]  # the sequence in each batch slot
    lengths: tuple[int, ...]  # its tokens once this step's token is appended


def plan_decode(batch: int, max_seq_len: int, steps: int, seed: int) -> list[DecodeStep]:
    """The seeded arrivals, growth and departures of the scenario. A sequence
    arrives with 1..max_seq_len-1 prompt tokens, generates 1..steps tokens (up
    to max_seq_len) and is replaced in its slot by a new one when done."""
    rng = np.random.default_rng([seed, 0])
    slots: list[list[int]] = []  # [sequence, length, target length] per slot
    plan: list[DecodeStep] = []
    next_sequence = 0
    for _ in range(steps):
        released: list[int] = []
        admitted: list[tuple[int, int]] = []
        for slot in range(batch):
            if slot < len(slots) and slots[slot][1] < slots[slot][2]:
                continue
            if slot < len(slots):
                released.append(slots[slot][0])
            prompt = int(rng.integers(1, max_seq_len))
            target = min(max_seq_len, prompt + int(rng.integers(1, steps + 1)))
            state = [next_sequence, prompt, target]
            if slot < len(slots):
                slots[slot] = state
            else:
                slots.append(state)
            admitted.append((next_sequence, prompt))
            next_sequence += 1
        for state in slots:
            state[1] += 1
        plan.append(
            DecodeStep(
                tuple(released),
                tuple(admitted),
                tuple(s[0] for s in slots),
                tuple(s[1] for s in slots),
            )
        )
    return plan


# -- UB tiling -------------------------------------------------------------------
@dataclass(frozen=True)
class AttentionTiling:
    """Shapes and the UB buffers of one core. K and V pages stay whole in UB;
    the fp32 work tiles cover ``chunk`` rows of a page at a time."""

    heads: int
    kv_heads: int
    head_dim: int
    block_size: int
    buffers: int  # 2 = double buffering of the page and output queues
    chunk: int

    @property
    def group(self) -> int:
        """Query heads per KV head."""
        return self.heads // self.kv_heads

    @property
    def hidden(self) -> int:
        """H of the cache layout: one token's K (or V) row."""
        return self.kv_heads * self.head_dim

    def layout(self) -> list[tuple[str, TPosition, int, int]]:
        """(name, position, buffers, bytes per buffer) of every InitBuffer."""
        page = self.block_size * self.head_dim * FP16.itemsize
        heads_half = self.group * self.head_dim * FP16.itemsize
        rows = self.chunk * self.head_dim * FP32.itemsize
        entries = [
            ("k_page", TPosition.VECIN, self.buffers, page),
            ("v_page", TPosition.VECIN, self.buffers, page),
            ("q_tile", TPosition.VECIN, 1, heads_half),
            ("out_tile", TPosition.VECOUT, self.buffers, heads_half),
            ("q_fp32", TPosition.VECCALC, 1, 2 * heads_half),
            ("acc_fp32", TPosition.VECCALC, 1, 2 * heads_half),
            ("kv_fp32", TPosition.VECCALC, 1, rows),
            ("prod_fp32", TPosition.VECCALC, 1, rows),
            ("probs_fp32", TPosition.VECCALC, 1, self.group * self.chunk * FP32.itemsize),
            ("stat_fp32", TPosition.VECCALC, 1, self.chunk * FP32.itemsize),
        ]
        if self.head_dim > WHOLE_REDUCE_MAX:
            entries.append(("fold_fp32", TPosition.VECCALC, 1, rows // BLOCK_REDUCE))
        return entries

    @property
    def ub_bytes(self) -> int:
        return sum(num * align_up(nbytes, BLOCK) for _, _, num, nbytes in self.layout())

    @classmethod
    def fit(cls, params: dict[str, Any], chip: ChipProfile) -> AttentionTiling:
        """The largest chunk (block_size, halved while a multiple of 16) whose
        buffers fit the UB a kernel may use; ParameterError if none does."""
        budget = chip.ub_safe_budget
        chunk = params["block_size"]
        while True:
            tiling = cls(
                params["heads"],
                params["kv_heads"],
                params["head_dim"],
                params["block_size"],
                2 if params["double_buffer"] else 1,
                chunk,
            )
            if tiling.ub_bytes <= budget:
                return tiling
            if chunk % 16:
                break
            chunk //= 2
        buffering = "double-buffered" if params["double_buffer"] else "single-buffered"
        raise ParameterError(
            f"paged_attention: block_size={tiling.block_size} x head_dim={tiling.head_dim} "
            f"{buffering} K/V pages need {tiling.ub_bytes} B of UB per core but {chip.name} "
            f"allows {budget} B (UB {chip.capacity['UB']} B minus {chip.ub_scratch_bytes} B API "
            "scratch); lower block_size or head_dim, or set double_buffer=false"
        )


# -- vector building blocks ------------------------------------------------------
def _scale_columns(
    dst: LocalTensor, matrix: LocalTensor, row: LocalTensor, rows: int, cols: int
) -> None:
    """``dst[r, c] = matrix[r, c] * row[c]``: a Mul whose second operand has
    repeat stride 0; the unit rereads ``row`` for every row, and the event
    counts those reads."""
    vector.apply(
        "Mul",
        dst,
        (matrix, row),
        rows * cols,
        lambda m, v: (m.reshape(rows, cols) * v[:cols]).reshape(-1),
    )


def _scale_rows(
    dst: LocalTensor, matrix: LocalTensor, column: LocalTensor, rows: int, cols: int
) -> None:
    """``dst[r, c] = matrix[r, c] * column[r]`` (Brcb-broadcast Mul)."""
    vector.apply(
        "Mul",
        dst,
        (matrix, column),
        rows * cols,
        lambda m, v: (m.reshape(rows, cols) * v[:rows, None]).reshape(-1),
    )


def _group_sums(op: str, dst: LocalTensor, src: LocalTensor, groups: int, size: int) -> None:
    """Sum each run of ``size`` consecutive fp32 values of ``src`` into one
    value of ``dst`` (BlockReduceSum for 8, WholeReduceSum for up to 64)."""
    grouped = np.dtype((np.void, size * FP32.itemsize))
    vector.apply(
        op,
        dst,
        (src.reinterpret(grouped),),
        groups,
        lambda g: g.view(np.float32).reshape(groups, size).sum(axis=1, dtype=np.float32),
    )


def _row_sums(
    out: LocalTensor, src: LocalTensor, rows: int, cols: int, fold: LocalTensor | None
) -> None:
    """Per-row sums of a row-major ``rows x cols`` fp32 tile into ``out``;
    rows wider than one repeat are first folded by DataBlocks into ``fold``."""
    if cols > WHOLE_REDUCE_MAX:
        _group_sums("BlockReduceSum", fold, src, rows * cols // BLOCK_REDUCE, BLOCK_REDUCE)
        src, cols = fold, cols // BLOCK_REDUCE
    _group_sums("WholeReduceSum", out, src, rows, cols)


def _column_sums(tile: LocalTensor, rows: int, cols: int) -> None:
    """Sum the rows of a ``rows x cols`` tile into its first row, halving the
    rows each time (each Add reads two disjoint halves)."""
    while rows > 1:
        upper = (rows + 1) // 2
        pairs = (rows - upper) * cols
        vector.add(tile[0:pairs], tile[0:pairs], tile[upper * cols : rows * cols], pairs)
        rows = upper


# -- the kernel ------------------------------------------------------------------
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
    row_bytes = tiling.head_dim * FP16.itemsize
    gap = (tiling.hidden - tiling.head_dim) * FP16.itemsize
    bursts, burst_bytes = (rows, row_bytes) if gap else (1, rows * row_bytes)
    if rows == tiling.block_size:
        data_copy(tile, cache, params=CopyParams(bursts, burst_bytes // BLOCK, gap // BLOCK, 0))
    else:
        data_copy_pad(tile, cache, CopyExtParams(bursts, burst_bytes, gap, 0))


def _attend_chunk(
    core: Core,
    bufs: dict[str, TQue],
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
    kv32 = bufs["kv_fp32"].get(FP32, rows * dim)
    prod = bufs["prod_fp32"].get(FP32, rows * dim)
    probs = bufs["probs_fp32"].get(FP32)
    stat = bufs["stat_fp32"].get(FP32)
    fold = bufs["fold_fp32"].get(FP32) if "fold_fp32" in bufs else None
    q32, acc = bufs["q_fp32"].get(FP32), bufs["acc_fp32"].get(FP32)
    with core.site("scores"):
        vector.cast(kv32, keys[first * dim : (first + rows) * dim], rows * dim)
        for h in range(tiling.group):
            _scale_columns(prod, kv32, q32[h * dim : (h + 1) * dim], rows, dim)
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
            _scale_rows(prod, kv32, probs[h * chunk : h * chunk + rows], rows, dim)
            _column_sums(prod, rows, dim)
            head_acc = acc[h * dim : (h + 1) * dim]
            vector.muls(head_acc, head_acc, state.rescale, dim)
            vector.add(head_acc, head_acc, prod[0:dim], dim)


def _attend_unit(
    core: Core,
    bufs: dict[str, TQue],
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
    q_que, k_que, v_que, out_que = bufs["q_tile"], bufs["k_page"], bufs["v_page"], bufs["out_tile"]
    q32, acc = bufs["q_fp32"].get(FP32, width), bufs["acc_fp32"].get(FP32, width)
    with core.site("load_q"):
        q16 = q_que.alloc_tensor(FP16)
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
                tile = que.alloc_tensor(FP16)
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
        out16 = out_que.alloc_tensor(FP16)
        vector.cast(out16, acc, width)
        out_que.enque(out16)
        out16 = out_que.deque()
        data_copy(gout[q_offset:], out16, width)
        out_que.free_tensor(out16)


def _decode_kernel(
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
    bufs: dict[str, TQue] = {}
    with core.site("init"):
        for name, position, num, nbytes in tiling.layout():
            que = TBuf(position, name) if position == TPosition.VECCALC else TQue(position, 1, name)
            pipe.init_buffer(que, num, nbytes)
            bufs[name] = que
    for unit in units:
        _attend_unit(core, bufs, tiling, unit, gq, gk, gv, gout)


# -- host side -------------------------------------------------------------------
def _attention_reference(
    q: np.ndarray, keys: list[np.ndarray], values: list[np.ndarray], kv_heads: int
) -> np.ndarray:
    """float64 softmax(q.K^T / sqrt(D)).V of one sequence from its own token
    history (not the cache): q (heads, D), K/V rows (tokens, H) in order."""
    heads, dim = q.shape
    group = heads // kv_heads

    def per_head(rows: list[np.ndarray]) -> np.ndarray:
        merged = np.concatenate(rows).astype(np.float64).reshape(-1, kv_heads, dim)
        return np.repeat(merged, group, axis=1)

    k, v = per_head(keys), per_head(values)
    scores = np.einsum("lhd,hd->hl", k, q.astype(np.float64)) / math.sqrt(dim)
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return np.einsum("hl,lhd->hd", weights, v)


def _make_cache(
    device: Device, params: dict[str, Any], plan: list[DecodeStep], hidden: int
) -> KVCache:
    block_size = params["block_size"]
    token_bytes = 2 * hidden * FP16.itemsize  # one K and one V row

    def clock() -> int:
        return device.clock_ps

    if params["layout"] == "contiguous":
        return ContiguousKVCache(
            device.recorder,
            "kv_cache",
            params["batch"],
            params["max_seq_len"],
            block_size,
            token_bytes,
            clock,
        )
    # A pool of exactly the pages the scenario needs at its peak.
    peak = max(sum(-(-n // block_size) for n in step.lengths) for step in plan)
    return PagedKVCache(device.recorder, "kv_cache", peak, block_size, token_bytes, clock)


def run(device: Device, params: dict[str, Any]) -> KernelResult:
    validate(params, device.chip)
    tiling = AttentionTiling.fit(params, device.chip)
    batch, heads, dim = params["batch"], params["heads"], tiling.head_dim
    plan = plan_decode(batch, params["max_seq_len"], params["steps"], params["seed"])
    cache = _make_cache(device, params, plan, tiling.hidden)
    shape = (cache.num_pages, tiling.block_size, tiling.hidden)
    gk, gv = device.gm.empty("k_cache", shape, FP16), device.gm.empty("v_cache", shape, FP16)
    k_cache, v_cache = gk.numpy(), gv.numpy()
    rng = np.random.default_rng([params["seed"], 1])
    history: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}

    def store(sequence: int, where: tuple[np.ndarray, np.ndarray]) -> None:
        """New tokens' K/V rows: into the cache (the cache-write op) and the history."""
        keys, values = (
            rng.standard_normal((where[0].size, tiling.hidden)).astype(FP16) for _ in range(2)
        )
        k_cache[where], v_cache[where] = keys, values
        history[sequence][0].append(keys)
        history[sequence][1].append(values)

    width = -(-params["max_seq_len"] // tiling.block_size)
    outputs, references = [], []
    for step_index, step in enumerate(plan):
        for sequence in step.released:
            cache.release(sequence)
            del history[sequence]
        for sequence, prompt in step.admitted:
            history[sequence] = ([], [])
            store(sequence, cache.admit(sequence, prompt))
        for sequence in step.sequences:
            store(sequence, cache.append(sequence))
        q = rng.standard_normal((batch, heads, dim)).astype(FP16)
        gq = device.gm.tensor("q", q)
        gtable = device.gm.tensor("block_table", cache.block_table(step.sequences, width))
        gout = device.gm.empty("attn_out", (batch, heads, dim), FP16)
        device.recorder.mark("decode_step", device.clock_ps, value=step_index)
        device.launch(
            "paged_attention",
            _decode_kernel,
            params["cores"],
            gq=gq,
            gk=gk,
            gv=gv,
            gtable=gtable,
            gout=gout,
            lengths=step.lengths,
            tiling=tiling,
        )
        outputs.append(gout.numpy().copy())
        slots = enumerate(step.sequences)
        references.append(
            np.stack(
                [_attention_reference(q[i], *history[seq], tiling.kv_heads) for i, seq in slots]
            )
        )
    for sequence in plan[-1].sequences:
        cache.release(sequence)
    # The last step as npu_incre_flash_attention takes it: BSH query, the
    # (blocks, block_size, H) caches (not written after the last launch).
    inputs = {
        "query": q.reshape(batch, 1, heads * dim),
        "key_cache": k_cache,
        "value_cache": v_cache,
        "block_table": gtable.numpy(),
        "seq_lens": np.array(plan[-1].lengths, dtype=np.int64),
    }
    notes = [
        f"{params['layout']} KV cache: peak {cache.peak_reserved_bytes} B reserved "
        f"({cache.num_pages} pages of {tiling.block_size} tokens)",
        f"fp32 work tiles of {tiling.chunk} rows; {tiling.ub_bytes} B of UB per core",
    ]
    return KernelResult(outputs={"out": np.stack(outputs)}, references={"out": np.stack(references)},
                        notes=notes, inputs=inputs)  # fmt: skip


def minimal_traffic(params: dict[str, Any]) -> dict[str, int]:
    """Per step: q read once, each live K/V token read once, the output written once."""
    plan = plan_decode(params["batch"], params["max_seq_len"], params["steps"], params["seed"])
    head_bytes = params["batch"] * params["heads"] * params["head_dim"] * FP16.itemsize
    token_bytes = 2 * params["kv_heads"] * params["head_dim"] * FP16.itemsize
    live_tokens = sum(sum(step.lengths) for step in plan)
    return {
        "read": len(plan) * head_bytes + live_tokens * token_bytes,
        "write": len(plan) * head_bytes,
    }


def estimate_cost(params: dict[str, Any], chip: ChipProfile) -> Estimate:
    """Events per (slot, KV head) unit, per page it reads and per chunk and
    query head it scores; host memory: the K/V caches (all pages of the
    contiguous layout, the peak live pages of the paged one) and the token
    history kept for the reference."""
    tiling = AttentionTiling.fit(params, chip)
    plan = plan_decode(params["batch"], params["max_seq_len"], params["steps"], params["seed"])
    bs = tiling.block_size
    units = pages = chunks = 0
    for step in plan:
        units += len(step.lengths) * tiling.kv_heads
        for length in step.lengths:
            pages += -(-length // bs) * tiling.kv_heads
            chunks += sum(-(-min(bs, length - first) // tiling.chunk)
                          for first in range(0, length, bs)) * tiling.kv_heads  # fmt: skip
    token_bytes = 2 * tiling.hidden * FP16.itemsize
    if params["layout"] == "contiguous":
        cache_pages = params["batch"] * -(-params["max_seq_len"] // bs)
    else:
        cache_pages = max(sum(-(-n // bs) for n in step.lengths) for step in plan)
    history = max(sum(step.lengths) for step in plan) * token_bytes
    events = EVENTS_PER_UNIT * units + EVENTS_PER_PAGE * pages
    events += EVENTS_PER_CHUNK_HEAD * chunks * tiling.group
    work = chunks * tiling.chunk * tiling.head_dim * tiling.group * 8
    return estimate(events, cache_pages * bs * token_bytes + 2 * history, work)


def validate(params: dict[str, Any], chip: ChipProfile) -> None:
    """The PageAttention decode limits (ascend_hardware.md section 6) and the UB fit."""
    block_size, dim = params["block_size"], params["head_dim"]
    heads, kv_heads = params["heads"], params["kv_heads"]
    if block_size < 16 or block_size % 16 or block_size > MAX_BLOCK_SIZE:
        raise ParameterError(
            f"paged_attention: block_size={block_size} must be a multiple of 16 (fp16 KV) "
            f"and at most {MAX_BLOCK_SIZE}"
        )
    if dim < 16 or dim % 16 or dim > MAX_HEAD_DIM:
        raise ParameterError(
            f"paged_attention: head_dim={dim} must be a multiple of 16 (32 B fp16 rows) "
            f"and at most {MAX_HEAD_DIM}"
        )
    if kv_heads < 1 or heads < 1 or heads % kv_heads or heads > MAX_HEADS:
        raise ParameterError(
            f"paged_attention: heads={heads} must be a positive multiple of kv_heads={kv_heads} "
            f"(query heads per KV head) and at most {MAX_HEADS}"
        )
    if kv_heads * dim > MAX_HIDDEN:
        raise ParameterError(
            f"paged_attention: kv_heads*head_dim={kv_heads * dim} exceeds {MAX_HIDDEN}, the "
            "limit of the (blocknum, block_size, H) cache layout"
        )
    if not 2 <= params["max_seq_len"] <= MAX_SEQ_LEN:
        raise ParameterError(
            f"paged_attention: max_seq_len={params['max_seq_len']} must be in 2..{MAX_SEQ_LEN}"
        )
    if params["batch"] < 1 or params["steps"] < 1:
        raise ParameterError("paged_attention: batch and steps must be at least 1")
    if params["layout"] not in LAYOUTS:
        raise ParameterError(
            f"paged_attention: layout={params['layout']!r} must be one of {', '.join(LAYOUTS)}"
        )
    AttentionTiling.fit(params, chip)


SPEC = register(
    KernelSpec(
        name="paged_attention",
        summary="decode attention over a paged (or contiguous) KV cache with online softmax, "
        "sequences arriving, growing and finishing",
        params=(
            Param("batch", int, 8, "decode batch slots (concurrent sequences)"),
            Param("heads", int, 4, "query heads"),
            Param("kv_heads", int, 1, "KV heads (heads/kv_heads query heads share one: GQA)"),
            Param("head_dim", int, 128, "head dimension (multiple of 16, at most 512)"),
            Param("block_size", int, 128, "tokens per KV page (multiple of 16, at most 512)"),
            Param("max_seq_len", int, 512, "longest sequence (prompt + generated tokens)"),
            Param("steps", int, 4, "decode steps simulated (the kernel runs at each)"),
            Param("layout", str, "paged", "KV cache policy", LAYOUTS),
            cores_param(4),
            Param("double_buffer", bool, True, "two buffers per page/output queue"),
            Param("seed", int, 0, "random seed of the scenario and the data"),
        ),
        run=run,
        minimal_traffic=minimal_traffic,
        presets={
            "contiguous": (
                "each sequence reserves max_seq_len KV slots on arrival: most of the "
                "reservation is never used",
                {"layout": "contiguous"},
            ),
            "single_buffer": (
                "one buffer per page and output queue: the next page's copy waits until "
                "the compute is done with the current one",
                {"double_buffer": False},
            ),
        },
        validate=validate,
        estimate=estimate_cost,
    )
)
