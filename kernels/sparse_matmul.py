"""2:4 structured-sparse matmul ``y = x @ W_pruned.T`` on the vector core.

``x`` is fp16 ``[M, K]``, ``W`` fp16 ``[N, K]`` stored 2:4-compressed (values
``[N, K/2]`` plus metadata, see :mod:`ubscope.kernels.sparse24`), ``y`` fp16
``[M, N]``. Ascend's sparse cube path is int8-only (``MmadWithSparse``), so an
fp16 2:4 matmul runs on the AIV, as the article's kernel does.

N is split over the blocks in tiles of ``tile_n`` rows; a block's tiles form
chunks whose fp32 accumulators stay in UB over the whole K loop. Per chunk and
K step of ``tile_k`` columns there is one copy each of the activations, the
chunk's values (or dense weight rows) and its metadata, so the weight is read
once and the activations once per chunk and K step (each GM copy pays the
latency; the chunk is as tall as UB allows). Each tile of the step is a
*round*: decode, then every activation row is multiplied and summed into the
accumulators in fp32; the result is cast to fp16 on the way out. Variants:

* ``rebuild`` (the article's kernel): scatter the values into a zeroed dense
  tile in UB (transposed, ``[tile_k, tile_n]``), then multiply it by each
  activation row (broadcast) and sum over K. The dense tile in fp16 and fp32
  makes its UB footprint the larger.
* ``gather`` (the article's "vscatter" tip, done as a gather): decode the
  metadata into byte offsets, Gather the activations the kept weights meet
  and multiply them with the values: half the products and no dense tile,
  but every product needs a gathered element.
* ``dense``: the same algorithm with the unpruned fp16 weight, the baseline.

Metadata decoding on the vector core: the 16-bit metadata words are split
into one 2-bit field per bit position (a ShiftLeft/ShiftRight pair per
position), gathered into slot order and scaled into byte offsets. The index
tables the gathers use depend only on the tiling and are built once per block
(per round with the free-list allocator, whose buffers live only as long as
they are needed; a round that first fit cannot place is redone in tiles half
as tall).

Sums over K use a halving tree of vector Adds on K-major tiles, so every
operation is one contiguous vector instruction.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ubscope.kernels import sparse24
from ubscope.kernels.registry import register
from ubscope.probe.chip import ChipProfile
from ubscope.probe.device import Block, Core, Device, max_blocks
from ubscope.probe.errors import EmulationError, ParameterError
from ubscope.probe.estimate import CHECK_CHUNK_BYTES, Estimate, estimate
from ubscope.probe.kernel_spec import (
    ChunkedReference,
    KernelResult,
    KernelSpec,
    Param,
    cores_param,
    vector_blocks,
)
from ubscope.probe.memory import vector
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.buffers import Carved, FreeListBuffers, Group, QueueBuffers, UBBuffers
from ubscope.probe.memory.datacopy import BLOCK, copy_rows
from ubscope.probe.memory.dtypes import F16, F32, I32, U8, U16
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.index_tables import fill_index_table, transpose_table
from ubscope.probe.memory.pools import align_up
from ubscope.probe.memory.reduce import multiply_reduce
from ubscope.probe.units import plural

VARIANTS = ("gather", "rebuild", "dense")
ALLOCATORS = ("tpipe", "freelist")
TILE_N_UNIT = 16  # fp16 output rows of 32 B; fp32 work rows of 64 B
TILE_K_UNIT = 32  # a values row of tile_k/2 fp16 is a whole number of 32 B blocks
FIELD_SHIFTS = {  # bit positions of the 2-bit fields in a little-endian 16-bit metadata word
    "nibble": (0, 2, 4, 6, 8, 10, 12, 14),
    "byte": (0, 2, 8, 10),
}
WORD_BITS = 16
# Events of a block, of a chunk's K step, of a round and of one activation row
# of a round (counted on recorded runs).
EVENTS_PER_BLOCK, EVENTS_PER_CHUNK_STEP, EVENTS_PER_ROUND, EVENTS_PER_ROW = 30, 10, 20, 10


# -- tiling plan ------------------------------------------------------------------
@dataclass(frozen=True)
class MatmulPlan:
    """Tiling of one ``[M, K] x [N, K]^T`` matmul on ``blocks`` vector cores."""

    variant: str
    meta_format: str
    m: int
    k: int
    n: int
    tile_n: int
    tile_k: int
    blocks: int
    tiles_per_block: int
    chunk_tiles: int  # n tiles whose fp32 accumulators stay in UB across the K loop
    double_buffer: bool
    allocator: str

    @property
    def sparse(self) -> bool:
        return self.variant != "dense"

    @property
    def n_tiles(self) -> int:
        return -(-self.n // self.tile_n)

    @property
    def slots(self) -> int:
        """Kept weights of one full tile."""
        return self.tile_n * self.tile_k // 2

    @property
    def meta_pitch(self) -> int:
        return align_up(sparse24.meta_row_bytes(self.tile_k, self.meta_format), BLOCK)

    @property
    def meta_words(self) -> int:
        return self.tile_n * self.meta_pitch // 2

    @property
    def chunk_n(self) -> int:
        return self.chunk_tiles * self.tile_n

    @property
    def buffers_per_queue(self) -> int:
        return 2 if self.double_buffer and self.allocator == "tpipe" else 1

    def groups(self) -> tuple[Group, ...]:
        """Every UB buffer the kernel uses, with its lifetime: the index tables
        per block, accumulators and y per chunk, per K step the activations and
        the chunk's weight rows (one copy each), per round the tile's decoded
        offsets, its fp32 K-major operand and the products."""
        t, tn, m, slots = self.tile_k, self.tile_n, self.m, self.slots
        cells, rows = t * tn, self.chunk_n
        groups = [
            Group("acc", "calc", (("f32", F32, m * rows),), "chunk"),
            Group("y_tile", "out", (("f16", F16, m * rows),), "chunk"),
            Group("x_tile", "in", (("f16", F16, m * t),), "step"),
            Group("x_f32", "calc", (("f32", F32, m * t),), "step"),
        ]
        if not self.sparse:
            tables: tuple[tuple[str, np.dtype, int], ...] = (("transpose", I32, cells),)
            groups += [
                Group("weight_chunk", "in", (("f16", F16, rows * t),), "step"),
                Group("weight_t", "calc", (("f16", F16, cells), ("f32", F32, cells)), "round"),
            ]
        else:
            fields = len(FIELD_SHIFTS[self.meta_format]) * self.meta_words
            tables = (("slot_field", I32, slots), ("base", I32, slots))
            groups += [
                Group("meta_chunk", "in", (("u8", U8, rows * self.meta_pitch),), "step"),
                Group("values_chunk", "in", (("f16", F16, rows * t // 2),), "step"),
                Group(
                    "meta_decode",
                    "calc",
                    (("fields", U16, fields), ("slot_field", U16, slots), ("offsets", I32, slots)),
                    "round",
                ),
            ]
            if self.variant == "gather":
                tables += (("transpose", I32, slots),)
                groups.append(
                    Group("values_t", "calc", (("f16", F16, slots), ("f32", F32, slots)), "round")
                )
            else:
                groups.append(
                    Group("dense_tile", "calc", (("f16", F16, cells), ("f32", F32, cells)), "round")
                )
        work_rows = t // 2 if self.variant == "gather" else t
        groups.append(Group("work", "calc", (("f32", F32, work_rows * tn),), "round"))
        return (Group("index_tables", "calc", tables), *groups)

    def group(self, name: str) -> Group:
        return next(g for g in self.groups() if g.name == name)

    def lifetime(self, lifetime: str) -> tuple[str, ...]:
        return tuple(g.name for g in self.groups() if g.lifetime == lifetime)

    @property
    def ub_footprint(self) -> int:
        """UB bytes the plan needs. TPipe sets every buffer up at once, so it
        is their sum. The free list holds the accumulators plus the largest
        of: the activation tile with its fp32 copy (start of a K step), the
        rest of the step's buffers with one round's buffers and index tables,
        or the output tile."""
        sizes = {
            g.name: g.nbytes * (1 if g.kind == "calc" else self.buffers_per_queue)
            for g in self.groups()
        }
        if self.allocator == "tpipe":
            return sum(sizes.values())
        step = sum(sizes[name] for name in self.lifetime("step") if name != "x_tile")
        rounds = sum(sizes[name] for name in self.lifetime("round")) + sizes["index_tables"]
        return sizes["acc"] + max(sizes["x_tile"] + sizes["x_f32"], step + rounds, sizes["y_tile"])

    def with_tile_n(self, tile_n: int) -> MatmulPlan:
        return dataclasses.replace(self, tile_n=tile_n)

    def block_tiles(self, block: int) -> range:
        first = block * self.tiles_per_block
        return range(first, min(self.n_tiles, first + self.tiles_per_block))


def check_cores(cores: int, chip: ChipProfile) -> None:
    total = max_blocks(chip, "vector")
    if not 1 <= cores <= total:
        raise ParameterError(
            f"cores={cores}: {chip.name} has {total} cores for a vector launch (1..{total})"
        )


def plan_matmul(
    m: int,
    k: int,
    n: int,
    tile_n: int,
    tile_k: int,
    cores: int,
    variant: str,
    meta_format: str,
    double_buffer: bool,
    allocator: str,
    chip: ChipProfile,
) -> MatmulPlan:
    """Check the parameters against the chip and lay out the tiles; the
    ParameterError names the limit that is exceeded."""
    if variant not in VARIANTS:
        raise ParameterError(f"variant={variant!r}: expected one of {', '.join(VARIANTS)}")
    if allocator not in ALLOCATORS:
        raise ParameterError(f"allocator={allocator!r}: expected one of {', '.join(ALLOCATORS)}")
    sparse24.check_meta_format(meta_format)
    for name, value in (("m", m), ("n", n)):
        if value < 1:
            raise ParameterError(f"{name}={value}: must be at least 1")
    sparse24.check_k(k)
    if tile_n < TILE_N_UNIT or tile_n % TILE_N_UNIT:
        raise ParameterError(f"tile_n={tile_n}: must be a positive multiple of {TILE_N_UNIT}")
    if tile_k < TILE_K_UNIT or tile_k % TILE_K_UNIT:
        raise ParameterError(f"tile_k={tile_k}: must be a positive multiple of {TILE_K_UNIT}")
    check_cores(cores, chip)
    tile_n = min(tile_n, align_up(n, TILE_N_UNIT))
    tile_k = min(tile_k, align_up(k, TILE_K_UNIT))
    n_tiles = -(-n // tile_n)
    per_block = -(-n_tiles // cores)
    plan = MatmulPlan(
        variant,
        meta_format,
        m,
        k,
        n,
        tile_n,
        tile_k,
        -(-n_tiles // per_block),
        per_block,
        1,
        double_buffer,
        allocator,
    )
    budget = chip.ub_safe_budget
    if plan.ub_footprint > budget:
        raise ParameterError(
            f"UB footprint {plan.ub_footprint} B (m={m}, tile_n={tile_n}, tile_k={tile_k}, "
            f"{variant}) exceeds the {budget} B UB budget of {chip.name} "
            f"({chip.capacity['UB']} B minus {chip.ub_scratch_bytes} B API scratch); "
            "lower tile_k, tile_n or m"
        )
    fits, too_big = 1, per_block + 1  # the largest chunk that fits, by bisection
    while too_big - fits > 1:
        middle = (fits + too_big) // 2
        if dataclasses.replace(plan, chunk_tiles=middle).ub_footprint <= budget:
            fits = middle
        else:
            too_big = middle
    return dataclasses.replace(plan, chunk_tiles=fits)


def auto_plan(
    m: int,
    k: int,
    n: int,
    cores: int,
    variant: str,
    meta_format: str,
    chip: ChipProfile,
    double_buffer: bool = True,
) -> MatmulPlan:
    """The fitting tiling with the fewest GM copies on the busiest core (each
    pays the GM latency), then the fewest rounds, then the largest tile."""
    best: tuple[tuple[int, int, int], MatmulPlan] | None = None
    for tile_n in (64, 32, 16):
        for tile_k in (2048, 1024, 512, 256, 128, 64, 32):
            try:
                plan = plan_matmul(
                    m,
                    k,
                    n,
                    tile_n,
                    tile_k,
                    cores,
                    variant,
                    meta_format,
                    double_buffer,
                    "tpipe",
                    chip,
                )
            except ParameterError:
                continue
            steps = -(-k // plan.tile_k) * -(-plan.tiles_per_block // plan.chunk_tiles)
            copies = steps * len(plan.lifetime("step"))
            score = (copies, steps * plan.chunk_tiles, -plan.tile_n * plan.tile_k)
            if best is None or score < best[0]:
                best = (score, plan)
    if best is None:
        raise ParameterError(
            f"m={m}: no tiling fits the {chip.ub_safe_budget} B UB budget of {chip.name} "
            "(the activation rows stay in UB; lower m)"
        )
    return best[1]


# -- index tables -------------------------------------------------------------------
def _slot_field_offsets(plan: MatmulPlan, row: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """Byte offset, in the decoded field buffer, of the 2-bit field that holds
    the position of kept slot ``slot`` of tile row ``row``."""
    group, second = np.divmod(slot, 2)
    if plan.meta_format == "nibble":
        byte = group // 2
        shift = 8 * (byte % 2) + 4 * (group % 2) + 2 * second
    else:
        byte = group
        shift = 8 * (byte % 2) + 2 * second
    word = row * (plan.meta_pitch // 2) + byte // 2
    field = np.searchsorted(np.asarray(FIELD_SHIFTS[plan.meta_format]), shift)
    return (field * plan.meta_words + word) * U16.itemsize


def index_tables(plan: MatmulPlan) -> dict[str, np.ndarray]:
    """The tiling-only tables of ``plan`` (byte offsets, int32)."""
    t, tn = plan.tile_k, plan.tile_n
    if not plan.sparse:
        return {"transpose": transpose_table(tn, t, t, F16.itemsize)}
    half = t // 2
    if plan.variant == "gather":  # slots K-major: [slot, row]
        slot, row = np.divmod(np.arange(plan.slots), tn)
        return {
            "slot_field": _slot_field_offsets(plan, row, slot),
            "base": (slot // 2) * sparse24.GROUP * F32.itemsize,  # group start in the x row
            "transpose": transpose_table(tn, half, half, F16.itemsize),
        }
    row, slot = np.divmod(np.arange(plan.slots), half)  # row-major, as the values tile
    return {
        "slot_field": _slot_field_offsets(plan, row, slot),
        "base": ((slot // 2) * sparse24.GROUP * tn + row) * F16.itemsize,  # dense^T cell
    }


def build_tables(plan: MatmulPlan, tables: Carved) -> None:
    for name, table in index_tables(plan).items():
        fill_index_table(tables[name], table)


# -- the kernel -----------------------------------------------------------------------
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
        queues = QueueBuffers(core, plan.groups(), plan.buffers_per_queue)
        tables = queues.take(plan.group("index_tables"))
        bufs = queues
        with core.site("index_tables"):
            build_tables(plan, tables)
    else:
        bufs = FreeListBuffers(core, heap_bytes)
    for first in range(tiles.start, tiles.stop, plan.chunk_tiles):
        chunk = range(first, min(tiles.stop, first + plan.chunk_tiles))
        _run_chunk(core, plan, ops, chunk, bufs, tables)


# -- host side ------------------------------------------------------------------------
def upload_weight(
    device: Device, name: str, weight: np.ndarray, variant: str, meta_format: str
) -> HostWeight:
    """Put ``weight`` (fp16 [N, K]) in GM: 2:4-compressed for the sparse variants."""
    weight = np.ascontiguousarray(weight, dtype=np.float16)
    if variant == "dense":
        return HostWeight(None, None, device.gm.tensor(name, weight), weight)
    compressed = sparse24.Sparse24Weight.compress(weight, meta_format)
    return HostWeight(
        device.gm.tensor(f"{name}_values", compressed.values),
        device.gm.tensor(f"{name}_meta", compressed.metadata),
        None,
        compressed.dense(),
    )


def launch_matmul(
    device: Device,
    name: str,
    plan: MatmulPlan,
    x: GlobalTensor,
    y: GlobalTensor,
    weight: HostWeight,
) -> int:
    """One device launch of the matmul; returns its modelled duration (ps)."""
    ops = Operands(x, y, weight)
    return device.launch(
        name,
        matmul_kernel,
        plan.blocks,
        "vector",
        plan=plan,
        ops=ops,
        heap_bytes=device.chip.ub_safe_budget,
    )


def random_weight(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """fp16 ``[n, k]`` weights scaled so that outputs stay near unit size."""
    return (rng.standard_normal((n, k)) / math.sqrt(k)).astype(np.float16)


def weight_bytes(n: int, k: int, variant: str, meta_format: str) -> int:
    """GM bytes of an ``[n, k]`` fp16 weight as the variant stores it."""
    if variant == "dense":
        return n * k * 2
    return n * k + n * sparse24.meta_row_bytes(k, meta_format)


def plan_from_params(params: dict[str, Any], chip: ChipProfile) -> MatmulPlan:
    """The plan of a resolved ``sparse_matmul`` parameter set."""
    return plan_matmul(
        params["m"],
        params["k"],
        params["n"],
        params["tile_n"],
        params["tile_k"],
        params["cores"],
        params["variant"],
        params["meta_format"],
        params["double_buffer"],
        params["allocator"],
        chip,
    )


def run(device: Device, params: dict[str, Any]) -> KernelResult:
    plan = plan_from_params(params, device.chip)
    rng = np.random.default_rng(params["seed"])
    x = rng.standard_normal((plan.m, plan.k)).astype(np.float16)
    weight = upload_weight(
        device, "w", random_weight(rng, plan.n, plan.k), plan.variant, plan.meta_format
    )
    gx = device.gm.tensor("x", x)
    gy = device.gm.empty("y", (plan.m, plan.n), np.float16)
    launch_matmul(device, f"sparse_matmul_{plan.variant}", plan, gx, gy, weight)
    x64 = x.astype(np.float64)
    reference = ChunkedReference(
        lambda cols: x64 @ weight.effective[cols].astype(np.float64).T,
        8 * (plan.k + plan.m),
        axis=1,
    )
    notes = [
        f"{plural(plan.blocks, 'block')}, tile {plan.tile_n}x{plan.tile_k}, {plan.chunk_tiles} tiles per "
        f"chunk, UB footprint {plan.ub_footprint} B"
    ]
    return KernelResult(outputs={"y": gy.numpy()}, references={"y": reference}, notes=notes)


def minimal_traffic(params: dict[str, Any]) -> dict[str, int]:
    """x read once, the weight (values + metadata, or dense) read once, y written once."""
    m, k, n = params["m"], params["k"], params["n"]
    read = m * k * 2 + weight_bytes(n, k, params["variant"], params["meta_format"])
    return {"read": read, "write": m * n * 2}


def matmul_events(plan: MatmulPlan) -> tuple[int, int]:
    """(events, multiply-adds) of one launch: per block, per chunk and K step
    (the copies), per round (one tile of a step: decode and allocation) and
    per activation row of a round (multiply-accumulate)."""
    steps = -(-plan.k // plan.tile_k)
    chunk_steps = (
        sum(-(-len(plan.block_tiles(b)) // plan.chunk_tiles) for b in range(plan.blocks)) * steps
    )
    rounds = plan.n_tiles * steps
    events = (
        EVENTS_PER_BLOCK * plan.blocks
        + EVENTS_PER_CHUNK_STEP * chunk_steps
        + EVENTS_PER_ROUND * rounds
        + EVENTS_PER_ROW * rounds * plan.m
    )
    return events, plan.m * plan.k * plan.n


def estimate_cost(params: dict[str, Any], chip: ChipProfile) -> Estimate:
    """Host memory: x on the host and in GM, the float64 draw of W, W as fp16,
    compressed and in GM, y, and a checked slice."""
    plan = plan_from_params(params, chip)
    events, work = matmul_events(plan)
    weights = plan.n * plan.k
    host = 2 * plan.m * plan.k * 2 + weights * (8 + 3 * 2) + plan.m * plan.n * 2
    values = plan.m * plan.k + weights + plan.m * plan.n
    return estimate(events, host + CHECK_CHUNK_BYTES, work, values)


def validate(params: dict[str, Any], chip: ChipProfile) -> None:
    plan_from_params(params, chip)


SPEC = register(
    KernelSpec(
        name="sparse_matmul",
        summary="y = x @ W.T with W 2:4-sparse on the vector core: rebuild the dense tile or "
        "gather the activations (dense baseline: variant=dense)",
        params=(
            Param("m", int, 16, "activation rows (tokens)"),
            Param("k", int, 1024, "reduction length (multiple of 4)"),
            Param("n", int, 1024, "output features (weight rows)"),
            Param("tile_n", int, 16, "weight rows per tile (multiple of 16)"),
            Param("tile_k", int, 256, "K columns per step (multiple of 32)"),
            cores_param(8),
            Param("variant", str, "gather", "sparse algorithm or the dense baseline", VARIANTS),
            Param("meta_format", str, "nibble", "2:4 metadata layout", sparse24.META_FORMATS),
            Param("double_buffer", bool, True, "tpipe: two buffers per copy queue"),
            Param("allocator", str, "tpipe", "UB allocator model", ALLOCATORS),
            Param("seed", int, 0, "random seed of the inputs"),
        ),
        run=run,
        minimal_traffic=minimal_traffic,
        validate=validate,
        estimate=estimate_cost,
        presets={
            "fragmentation": (
                "free-list allocator: the fp16 activation tile is freed after its fp32 cast and "
                "leaves a hole below the fp32 copy; small buffers fill part of it, and the "
                "round's index tables fit neither the rest of the hole nor the space above, so "
                "first fit fails although enough bytes are free; the round is redone with tiles "
                "half as tall",
                {
                    "allocator": "freelist",
                    "m": 48,
                    "k": 1024,
                    "n": 200,
                    "tile_n": 32,
                    "tile_k": 256,
                    "cores": vector_blocks(4),
                },
            ),
        },
    )
)
