"""The UB of one core (K/V pages whole, fp32 work tiles in chunks) and the
PageAttention decode limits."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ubscope.kernels.param_checks import check_cores, check_range, check_seed
from ubscope.probe.chip import ChipProfile
from ubscope.probe.errors import ParameterError
from ubscope.probe.memory.datacopy import BLOCK
from ubscope.probe.memory.dtypes import F16, F32
from ubscope.probe.memory.pools import align_up
from ubscope.probe.memory.positions import TPosition

LAYOUTS = ("paged", "contiguous")
MAX_BLOCK_SIZE = 512  # decode PageAttention limit (npu_fused_infer_attention_score)
MAX_HEAD_DIM = 512
MAX_HEADS = 256
MAX_HIDDEN = 65535  # H = kv_heads * head_dim of the (blocknum, block_size, H) layout
MAX_SEQ_LEN = 262144
WHOLE_REDUCE_MAX = 64  # fp32 values one WholeReduceSum repeat (256 B) folds into one
BLOCK_REDUCE = BLOCK // F32.itemsize  # fp32 values BlockReduceSum folds (one DataBlock)


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
    v_buffers: int  # the V page queue's: ``buffers``, or 1 where the chip's queue limit needs it

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
        page = self.block_size * self.head_dim * F16.itemsize
        heads_half = self.group * self.head_dim * F16.itemsize
        rows = self.chunk * self.head_dim * F32.itemsize
        entries = [
            ("k_page", TPosition.VECIN, self.buffers, page),
            ("v_page", TPosition.VECIN, self.v_buffers, page),
            ("q_tile", TPosition.VECIN, 1, heads_half),
            ("out_tile", TPosition.VECOUT, self.buffers, heads_half),
            ("q_fp32", TPosition.VECCALC, 1, 2 * heads_half),
            ("acc_fp32", TPosition.VECCALC, 1, 2 * heads_half),
            ("kv_fp32", TPosition.VECCALC, 1, rows),
            ("prod_fp32", TPosition.VECCALC, 1, rows),
            ("probs_fp32", TPosition.VECCALC, 1, self.group * self.chunk * F32.itemsize),
            ("stat_fp32", TPosition.VECCALC, 1, self.chunk * F32.itemsize),
        ]
        if self.head_dim > WHOLE_REDUCE_MAX:
            entries.append(("fold_fp32", TPosition.VECCALC, 1, rows // BLOCK_REDUCE))
        return entries

    def queue_buffers(self, position: TPosition) -> int:
        """Queue buffers on ``position`` (the VECCALC TBufs take no event ID)."""
        return sum(num for _, where, num, _ in self.layout() if where == position)

    @property
    def ub_bytes(self) -> int:
        return sum(num * align_up(nbytes, BLOCK) for _, _, num, nbytes in self.layout())

    @classmethod
    def fit(cls, params: dict[str, Any], chip: ChipProfile) -> AttentionTiling:
        """The largest chunk (block_size, halved while a multiple of 16) whose
        buffers fit the UB a kernel may use; ParameterError if none does.

        Double-buffered K and V pages and the q tile take 5 VECIN buffers, one
        more than the 910A has event IDs for (QUE_MAX_EVENT 4; a queue past it
        hangs the device). There the V page goes single-buffered: the next V
        copy starts once the page's P.V is done and lands while the next K,
        still double-buffered and already in UB, is scored."""
        budget = chip.ub_safe_budget
        buffers = 2 if params["double_buffer"] else 1
        tiling = cls(
            params["heads"],
            params["kv_heads"],
            params["head_dim"],
            params["block_size"],
            buffers,
            params["block_size"],
            v_buffers=buffers,
        )
        if tiling.queue_buffers(TPosition.VECIN) > chip.que_max_event:
            tiling = replace(tiling, v_buffers=1)
        while tiling.ub_bytes > budget and tiling.chunk % 16 == 0:
            tiling = replace(tiling, chunk=tiling.chunk // 2)
        if tiling.ub_bytes <= budget:
            return tiling
        buffering = "double-buffered" if params["double_buffer"] else "single-buffered"
        raise ParameterError(
            f"paged_attention: block_size={tiling.block_size} x head_dim={tiling.head_dim} "
            f"{buffering} K/V pages need {tiling.ub_bytes} B of UB per core but {chip.name} "
            f"allows {budget} B (UB {chip.capacity['UB']} B minus {chip.ub_scratch_bytes} B API "
            "scratch); lower block_size or head_dim, or set double_buffer=false"
        )


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
    check_range("paged_attention", "batch", params["batch"], 1)
    check_range("paged_attention", "steps", params["steps"], 1)
    if params["layout"] not in LAYOUTS:
        raise ParameterError(
            f"paged_attention: layout={params['layout']!r} must be one of {', '.join(LAYOUTS)}"
        )
    check_cores(params["cores"], chip)
    check_seed("paged_attention", params)
    AttentionTiling.fit(params, chip)
