"""Tiling of the 2:4-sparse matmul (tiles, chunks, the UB groups each needs) and
the tiling-only index tables its Gathers use."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ubscope.kernels import sparse24
from ubscope.kernels.param_checks import check_cores
from ubscope.probe.chip import ChipProfile
from ubscope.probe.errors import ParameterError
from ubscope.probe.memory.buffers import Carved, Group
from ubscope.probe.memory.datacopy import BLOCK
from ubscope.probe.memory.dtypes import F16, F32, I32, U8, U16
from ubscope.probe.memory.index_tables import fill_index_table, transpose_table
from ubscope.probe.memory.pools import align_up

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
    single_buffered: frozenset[str]  # queues the chip's queue limit leaves one buffer

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

    def depth(self, group: Group) -> int:
        """Blocks of ``group``: one for a TBuf or a single-buffered queue."""
        if group.kind == "calc" or group.name in self.single_buffered:
            return 1
        return self.buffers_per_queue

    def queue_buffers(self, kind: str) -> int:
        """TPipe queue buffers on the ``in`` (VECIN) or ``out`` (VECOUT)
        position; none with the free list, which has no queues."""
        if self.allocator != "tpipe":
            return 0
        return sum(self.depth(g) for g in self.groups() if g.kind == kind)

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
        sizes = {g.name: g.nbytes * self.depth(g) for g in self.groups()}
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
        single_buffered=frozenset(),
    )
    # A sparse step's three double-buffered input queues take 6 VECIN buffers,
    # more than the 910A has event IDs for (QUE_MAX_EVENT 4; past it the device
    # hangs). There the activations (freed as soon as they are cast to fp32: a
    # second buffer would never fill) and the metadata rows (an eighth of the
    # values) get one buffer each; the values rows, used through the whole
    # step, keep two.
    if plan.queue_buffers("in") > chip.que_max_event:
        plan = dataclasses.replace(plan, single_buffered=frozenset({"x_tile", "meta_chunk"}))
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
