"""The registered ``paged_attention`` kernel: parameters, presets, minimal
traffic and the cost of a run."""

from __future__ import annotations

from typing import Any

from ubscope.kernels.paged_attention.host import run
from ubscope.kernels.paged_attention.scenario import decode_plan
from ubscope.kernels.paged_attention.tiling import LAYOUTS, AttentionTiling, validate
from ubscope.kernels.registry import register
from ubscope.probe.chip import ChipProfile
from ubscope.probe.estimate import Estimate, estimate
from ubscope.probe.kernel_spec import KernelSpec, Param, cores_param
from ubscope.probe.memory.dtypes import F16

# Events of a (slot, KV head) unit, of each page it reads, and of each chunk
# of rows scored for one query head (counted on recorded runs).
EVENTS_PER_UNIT, EVENTS_PER_PAGE, EVENTS_PER_CHUNK_HEAD = 8, 12, 15


def minimal_traffic(params: dict[str, Any]) -> dict[str, int]:
    """Per step: q read once, each live K/V token read once, the output written once."""
    plan = decode_plan(params)
    head_bytes = params["batch"] * params["heads"] * params["head_dim"] * F16.itemsize
    token_bytes = 2 * params["kv_heads"] * params["head_dim"] * F16.itemsize
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
    plan = decode_plan(params)
    bs = tiling.block_size
    units = pages = chunks = 0
    for step in plan:
        units += len(step.lengths) * tiling.kv_heads
        for length in step.lengths:
            pages += -(-length // bs) * tiling.kv_heads
            page_chunks = sum(
                -(-min(bs, length - first) // tiling.chunk) for first in range(0, length, bs)
            )
            chunks += page_chunks * tiling.kv_heads
    token_bytes = 2 * tiling.hidden * F16.itemsize
    if params["layout"] == "contiguous":
        cache_pages = params["batch"] * -(-params["max_seq_len"] // bs)
    else:
        cache_pages = max(sum(-(-n // bs) for n in step.lengths) for step in plan)
    history = max(sum(step.lengths) for step in plan) * token_bytes
    events = EVENTS_PER_UNIT * units + EVENTS_PER_PAGE * pages
    events += EVENTS_PER_CHUNK_HEAD * chunks * tiling.group
    work = chunks * tiling.chunk * tiling.head_dim * tiling.group * 8
    return estimate(events, cache_pages * bs * token_bytes + 2 * history, work)


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
            Param(
                "double_buffer",
                bool,
                True,
                "two buffers per page/output queue (V: one if the chip's queue limit needs it)",
            ),
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
