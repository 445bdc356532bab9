"""The host side of paged decode attention: the KV cache and its block
manager, the scenario's K/V rows and queries, one launch per decode step, and
the float64 reference of every step."""

from __future__ import annotations

from typing import Any

import numpy as np

from ubscope.kernels.kv_cache import ContiguousKVCache, KVCache, PagedKVCache
from ubscope.kernels.paged_attention.body import decode_kernel
from ubscope.kernels.paged_attention.reference import attention_reference
from ubscope.kernels.paged_attention.scenario import DecodeStep, decode_plan
from ubscope.kernels.paged_attention.tiling import AttentionTiling, validate
from ubscope.probe.device import Device
from ubscope.probe.kernel_spec import KernelResult
from ubscope.probe.memory.dtypes import F16


def _make_cache(
    device: Device, params: dict[str, Any], plan: list[DecodeStep], hidden: int
) -> KVCache:
    block_size = params["block_size"]
    token_bytes = 2 * hidden * F16.itemsize  # one K and one V row

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
    plan = decode_plan(params)
    cache = _make_cache(device, params, plan, tiling.hidden)
    shape = (cache.num_pages, tiling.block_size, tiling.hidden)
    gk, gv = device.gm.empty("k_cache", shape, F16), device.gm.empty("v_cache", shape, F16)
    k_cache, v_cache = gk.numpy(), gv.numpy()
    rng = np.random.default_rng([params["seed"], 1])
    history: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}

    def store(sequence: int, where: tuple[np.ndarray, np.ndarray]) -> None:
        """New tokens' K/V rows: into the cache (the cache-write op) and the history."""
        keys, values = (
            rng.standard_normal((where[0].size, tiling.hidden)).astype(F16) for _ in range(2)
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
        q = rng.standard_normal((batch, heads, dim)).astype(F16)
        gq = device.gm.tensor("q", q)
        gtable = device.gm.tensor("block_table", cache.block_table(step.sequences, width))
        gout = device.gm.empty("attn_out", (batch, heads, dim), F16)
        device.recorder.mark("decode_step", device.clock_ps, value=step_index)
        device.launch(
            "paged_attention",
            decode_kernel,
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
                [attention_reference(q[i], *history[seq], tiling.kv_heads) for i, seq in slots]
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
    return KernelResult(
        outputs={"out": np.stack(outputs)},
        references={"out": np.stack(references)},
        notes=notes,
        inputs=inputs,
    )
