"""The kernel body: per block, chunks of tiles accumulated over K in UB."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ubscope.kernels import sparse24
from ubscope.kernels.sparse_matmul.plan import (
    FIELD_SHIFTS,
    TILE_N_UNIT,
    WORD_BITS,
    MatmulPlan,
    build_tables,
)
from ubscope.probe.device import Block, Core
from ubscope.probe.errors import EmulationError
from ubscope.probe.memory import vector
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.buffers import Carved, FreeListBuffers, QueueBuffers, UBBuffers
from ubscope.probe.memory.datacopy import copy_rows
from ubscope.probe.memory.dtypes import F16, F32, U16
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.reduce import multiply_reduce
from ubscope.probe.memory.tpipe import TPipe


@dataclass(frozen=True)
class HostWeight:
    """A weight as uploaded: its GM tensors and the dense matrix it stands for."""

    values: GlobalTensor | None
    metadata: GlobalTensor | None
    weight: GlobalTensor | None
    effective: np.ndarray  # the [N, K] weight the kernel multiplies by (pruned if sparse)


@dataclass(frozen=True)
class Operands:
    """GM tensors of one matmul: x, y and the weight."""

    x: GlobalTensor
    y: GlobalTensor
    weight: HostWeight


@dataclass(frozen=True)
class Step:
    """What the rounds of one K step of a chunk share: the fp32 activations,
    the chunk's weight rows (values or dense), its metadata rows and its
    accumulators."""

    k0: int
    cols: int
    x32: LocalTensor
    weights: LocalTensor
    meta: LocalTensor | None
    acc: LocalTensor
    acc_pitch: int


@dataclass(frozen=True)
class Round:
    """One tile of a K step: weight rows ``n0..n0+rows``, which are rows
    ``chunk_row..`` of the chunk (and of its accumulators)."""

    n0: int
    rows: int
    chunk_row: int


def _load_step(
    core: Core,
    plan: MatmulPlan,
    ops: Operands,
    bufs: UBBuffers,
    n0: int,
    rows: int,
    k0: int,
    cols: int,
) -> dict[str, Carved]:
    """The chunk's weight rows for one K step, one copy each (the metadata is
    an eighth of the values; a copy per tile would pay the GM latency again)."""
    k, t, weight = plan.k, plan.tile_k, ops.weight
    taken: dict[str, Carved] = {}
    with core.site("copy_weights"):
        if plan.sparse:
            assert weight.values is not None and weight.metadata is not None  # sparse upload
            values = taken["values_chunk"] = _take(core, bufs, "values_chunk", plan)
            copy_rows(values["f16"], weight.values[(n0 * k + k0) // 2 :], rows, cols, k, t)
            meta = taken["meta_chunk"] = _take(core, bufs, "meta_chunk", plan)
            row_bytes = sparse24.meta_row_bytes(k, plan.meta_format)
            start = n0 * row_bytes + sparse24.meta_row_bytes(k0, plan.meta_format)
            copy_rows(
                meta["u8"],
                weight.metadata[start:],
                rows,
                sparse24.meta_row_bytes(cols, plan.meta_format),
                row_bytes,
                plan.meta_pitch,
            )
        else:
            assert weight.weight is not None  # dense upload
            dense = taken["weight_chunk"] = _take(core, bufs, "weight_chunk", plan)
            copy_rows(dense["f16"], weight.weight[n0 * k + k0 :], rows, cols * 2, k * 2, t * 2)
    for carved in taken.values():
        bufs.ready(carved)
    return taken


def _decode_offsets(
    core: Core,
    plan: MatmulPlan,
    meta: LocalTensor,
    decode: Carved,
    tables: Carved,
    count: int,
    scale: int,
) -> LocalTensor:
    """Byte offsets ``position * scale + base`` of ``count`` kept slots from
    the tile's metadata rows ``meta``."""
    words = meta.reinterpret(U16)
    fields, wn = decode["fields"], plan.meta_words
    offsets = decode["offsets"]
    with core.site("decode_meta"):
        for index, shift in enumerate(FIELD_SHIFTS[plan.meta_format]):
            field = fields[index * wn : (index + 1) * wn]
            up = np.uint16(WORD_BITS - 2 - shift)
            vector.apply("ShiftLeft", field, (words,), wn, lambda w, up=up: w << up)
            vector.apply("ShiftRight", field, (field,), wn, lambda w: w >> np.uint16(WORD_BITS - 2))
        vector.gather(decode["slot_field"], fields, tables["slot_field"], count)
        vector.cast(offsets, decode["slot_field"], count)
        vector.muls(offsets, offsets, scale, count)
        vector.add(offsets, offsets, tables["base"], count)
    return offsets


def _prepare_operand(
    core: Core, plan: MatmulPlan, step: Step, job: Round, tables: Carved, taken: dict[str, Carved]
) -> tuple[LocalTensor, LocalTensor | None, int]:
    """Turn the tile's weight rows into the fp32 K-major operand; returns
    (operand, gather index of the activations or None to broadcast them, rows
    summed)."""
    tn, t = plan.tile_n, plan.tile_k
    if plan.variant == "dense":
        tile = step.weights[job.chunk_row * t : (job.chunk_row + tn) * t]
        wt = taken["weight_t"]
        count = step.cols * tn
        with core.site("transpose_weight"):
            vector.gather(wt["f16"], tile, tables["transpose"], count)
            vector.cast(wt["f32"], wt["f16"], count)
        return wt["f32"], None, step.cols
    tile = step.weights[job.chunk_row * t // 2 : (job.chunk_row + tn) * t // 2]
    pitch = plan.meta_pitch
    assert step.meta is not None  # a sparse step carries its metadata rows
    meta = step.meta[job.chunk_row * pitch : (job.chunk_row + tn) * pitch]
    if plan.variant == "gather":
        rows = step.cols // 2
        count = rows * tn
        offsets = _decode_offsets(
            core, plan, meta, taken["meta_decode"], tables, count, F32.itemsize
        )
        vt = taken["values_t"]
        with core.site("transpose_values"):
            vector.gather(vt["f16"], tile, tables["transpose"], count)
            vector.cast(vt["f32"], vt["f16"], count)
        return vt["f32"], offsets, rows
    offsets = _decode_offsets(
        core, plan, meta, taken["meta_decode"], tables, plan.slots, tn * F16.itemsize
    )
    dense = taken["dense_tile"]
    with core.site("rebuild_dense"):
        vector.duplicate(dense["f16"], 0.0, t * tn)
        vector.scatter(dense["f16"], tile, offsets, plan.slots)
        vector.cast(dense["f32"], dense["f16"], step.cols * tn)
    return dense["f32"], None, step.cols


def _run_round(
    core: Core, plan: MatmulPlan, step: Step, job: Round, bufs: UBBuffers, tables: Carved | None
) -> None:
    """Decode one tile and multiply-accumulate every activation row. With
    the free-list allocator the round's buffers (and its index tables) are
    allocated here; when first fit fails the round is redone as row tiles half
    as tall."""
    names = plan.lifetime("round") + (("index_tables",) if tables is None else ())
    with core.site("alloc_round"):
        taken: dict[str, Carved] = {}
        for name in names:
            carved = bufs.take(plan.group(name))
            if carved is None:
                for buffer in reversed(taken.values()):
                    bufs.give(buffer)
                _split_round(core, plan, step, job, bufs)
                return
            taken[name] = carved
    if tables is None:
        tables = taken["index_tables"]
        with core.site("index_tables"):
            build_tables(plan, tables)
    operand, index, rows = _prepare_operand(core, plan, step, job, tables, taken)
    work, tn, t = taken["work"]["f32"], plan.tile_n, plan.tile_k
    with core.site("multiply_accumulate"):
        for row in range(plan.m):
            first = row * step.acc_pitch + job.chunk_row
            out = step.acc[first : first + tn]
            total = multiply_reduce(
                step.x32[row * t : (row + 1) * t], operand, work, rows, tn, index
            )
            vector.add(out, out, total, tn)
    with core.site("free_round"):
        for carved in reversed(taken.values()):
            bufs.give(carved)


def _split_round(core: Core, plan: MatmulPlan, step: Step, job: Round, bufs: UBBuffers) -> None:
    # Sub-tiles must partition the tile: their padding rows would otherwise
    # accumulate into the next tile's columns.
    half = plan.tile_n // 2
    smaller = half if half % TILE_N_UNIT == 0 else TILE_N_UNIT
    if smaller >= plan.tile_n:
        raise EmulationError(
            f"{core.label}: free-list allocation failed even for a {plan.tile_n}-row tile "
            f"(UB too fragmented for tile_k={plan.tile_k})"
        )
    sub_plan = plan.with_tile_n(smaller)
    for offset in range(0, job.rows, smaller):
        sub_job = Round(job.n0 + offset, min(smaller, job.rows - offset), job.chunk_row + offset)
        _run_round(core, sub_plan, step, sub_job, bufs, None)


def _take(core: Core, bufs: UBBuffers, name: str, plan: MatmulPlan) -> Carved:
    carved = bufs.take(plan.group(name))
    if carved is None:
        raise EmulationError(
            f"{core.label}: free-list allocation of '{name}' ({plan.group(name).nbytes} B) failed"
        )
    return carved


def _run_chunk(
    core: Core,
    plan: MatmulPlan,
    ops: Operands,
    chunk: range,
    bufs: UBBuffers,
    tables: Carved | None,
) -> None:
    """The K loop of one chunk: per K step the activations and the chunk's
    weight rows come in once, then every tile of the chunk is a round."""
    m, k, n, t, tn = plan.m, plan.k, plan.n, plan.tile_k, plan.tile_n
    n0 = chunk.start * tn
    valid_n = min(n, chunk.stop * tn) - n0
    with core.site("zero_acc"):
        acc_buf = _take(core, bufs, "acc", plan)
        vector.duplicate(acc_buf["f32"], 0.0, m * plan.chunk_n)
    for k0 in range(0, k, t):
        cols = min(t, k - k0)
        with core.site("copy_x"):
            x_buf = _take(core, bufs, "x_tile", plan)
            copy_rows(x_buf["f16"], ops.x[k0:], m, cols * 2, k * 2, t * 2)
            bufs.ready(x_buf)
            x32_buf = _take(core, bufs, "x_f32", plan)
            vector.cast(x32_buf["f32"], x_buf["f16"], m * t)
            bufs.give(x_buf)
        loaded = _load_step(core, plan, ops, bufs, n0, valid_n, k0, cols)
        weights = loaded["values_chunk" if plan.sparse else "weight_chunk"]["f16"]
        meta = loaded["meta_chunk"]["u8"] if plan.sparse else None
        step = Step(k0, cols, x32_buf["f32"], weights, meta, acc_buf["f32"], plan.chunk_n)
        for tile in chunk:
            job = Round(tile * tn, min(tn, n - tile * tn), (tile - chunk.start) * tn)
            _run_round(core, plan, step, job, bufs, tables)
        for carved in reversed(loaded.values()):
            bufs.give(carved)
        bufs.give(x32_buf)
    with core.site("copy_y"):
        y_buf = _take(core, bufs, "y_tile", plan)
        vector.cast(y_buf["f16"], acc_buf["f32"], m * plan.chunk_n)
        bufs.ready(y_buf)
        copy_rows(ops.y[n0:], y_buf["f16"], m, valid_n * 2, plan.chunk_n * 2, n * 2)
        bufs.give(y_buf)
        bufs.give(acc_buf)


def matmul_kernel(block: Block, plan: MatmulPlan, ops: Operands, heap_bytes: int) -> None:
    """One block: its n tiles in chunks whose fp32 accumulators stay in UB
    over the whole K loop."""
    tiles = plan.block_tiles(block.idx)
    core = block.aiv
    bufs: UBBuffers
    tables: Carved | None = None
    if plan.allocator == "tpipe":
        queues = QueueBuffers(
            TPipe(core), plan.groups(), plan.buffers_per_queue, plan.single_buffered
        )
        tables = queues.take(plan.group("index_tables"))
        bufs = queues
        with core.site("index_tables"):
            build_tables(plan, tables)
    else:
        bufs = FreeListBuffers(core, heap_bytes)
    for first in range(tiles.start, tiles.stop, plan.chunk_tiles):
        chunk = range(first, min(tiles.stop, first + plan.chunk_tiles))
        _run_chunk(core, plan, ops, chunk, bufs, tables)
