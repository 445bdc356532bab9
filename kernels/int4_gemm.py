"""W4A16 GEMM, ``y = x @ ((w + offset) * scale)``, the way an Ascend C kernel runs it on 910B.

x is fp16 (M, K), w int4 (K, N) in [-8, 7] packed as torch_npu's
``npu_convert_weight_to_int4pack`` (``layout=nd``) or as the article's 16x16
blocks (``layout=block16``, see :mod:`ubscope.kernels.int4_pack`). Scale and
offset are fp16, per channel (1, N) or per group (ceil(K/g), N). The offset is
*added* (offset = -zero_point) and the scale *multiplies*; the article divides.

910B splits the AI Core into cube (AIC) and vector (AIV) cores that share no
on-chip memory, so the kernel is a mix launch of blocks of 1 AIC + 2 AIV:

* each block owns a contiguous range of ``tile_n``-column tiles; for each it
  walks K in ``tile_k``-row tiles, handed to its two AIVs in turn;
* an AIV copies the packed tile GM -> UB, unpacks it to fp16 (one vector op),
  adds the offset and multiplies the scale (vector ops broadcasting the
  scale/offset rows, which it copies to UB once per column tile, or per K tile
  when grouped), zeroes the rows padding K to the cube's 16, and copies the
  fp16 tile to a GM *workspace* slot;
* the AIC copies the slot to L1, steps through it in L0-sized K chunks
  (``load_data`` L1 -> L0A/L0B, ``mmad`` with fp32 accumulation in L0C) and at
  the end of the column tile ``fixpipe``s L0C -> y. x is kept in L1 for the
  whole kernel when it fits (``x_resident``), in a chunk-blocked layout so each
  L0A load is one contiguous LoadData; otherwise it is re-read per tile.

The AIV -> AIC hand-over goes through GM because 910B has no UB -> L1 path.
Those copies carry the WORKSPACE flag: the workspace stays resident in the
192 MiB L2, so it is not HBM traffic and :func:`minimal_traffic` does not count
it. Slots are a ring (2 per AIV with double buffering); an AIV waits for the
AIC to have read a slot before overwriting it (CrossCoreSetFlag/WaitFlag).

Tiles need not divide the shape: ragged rows move with DataCopyPad (zero-padded
on chip), K tails are padded to 16 with zero rows. ``layout`` defaults to
block16 because an ND int4 tile narrower than 1024 columns (512 B) starts off
the 512 B GM boundary; block16 tiles 64 columns wide stay aligned. ``cores=0``
takes as many blocks as keep the extra reads of x (each block reads all of it)
within 5 % of the weight bytes, then the fewest with the same tiles per block.

``fp16_gemm`` is the dense baseline with the same AIC side: fp16 weights are
copied GM -> L1 by the AIC itself in a cube launch, with no AIV and no
workspace. :func:`weight_bytes` and :func:`modelled_time_ps` compare the two.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ubscope.kernels import int4_pack
from ubscope.kernels.estimate import CHECK_CHUNK_BYTES, Estimate, estimate
from ubscope.kernels.registry import (
    ChunkedReference,
    KernelResult,
    KernelSpec,
    Param,
    register,
    run_kernel,
)
from ubscope.probe.chip import ChipProfile, load_chip
from ubscope.probe.device import Block, Core, Device, max_blocks
from ubscope.probe.errors import ParameterError
from ubscope.probe.memory import vector
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.cube import fixpipe, mmad
from ubscope.probe.memory.datacopy import BLOCK, copy_rows, data_copy, load_data
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.pools import UBBufPool, align_up
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TPipe, TQue
from ubscope.probe.units import plural

FRACTAL = 16  # the cube works on 16-row/column fractals: K chunks are padded to it
# cores=0 picks the most blocks whose extra reads of x (every block reads all
# of it from GM) stay within this fraction of the weight bytes.
ACTIVATION_REREAD_BUDGET = 0.05
MAX_DIM = 65535  # torch_npu's limit on K and N
GROUP_MULTIPLE = 32  # antiquant_group_size is a multiple of 32
# Events (counted on recorded runs) of a weight tile (AIV dequantization and
# workspace hand-over, or the AIC's own copy), a column tile and a block, by
# kernel (dense or not); of each L0 chunk a tile is multiplied in; and of each
# weight row of a ragged column tile moved with plain DataCopy (one per row).
EVENTS_PER_TILE_COLUMN_BLOCK = {False: (5, 50, 36), True: (1, 18, 9)}
EVENTS_PER_L0_CHUNK = 3
EVENTS_PER_RAGGED_ROW = 3
# Host bytes per weight value that packing needs at its peak (int64 and
# uint32 temporaries for nd, a padded uint8 copy for block16; whole runs
# measured about 12.5 (nd, 8192 x 8192) and 2.9 (block16, 16384 x 16384)
# bytes per weight value in all).
PACKING_BYTES = {"nd": 10, "block16": 1}


@dataclass(frozen=True)
class Tile:
    """One weight tile: columns [n0, n0+cols), rows [k0, k0+kt) padded to ``rows_pad``."""

    n0: int
    cols: int
    k0: int
    kt: int
    rows_pad: int


@dataclass(frozen=True)
class GemmPlan:
    """Tiling and buffer sizes for one run, derived from the parameters and the chip."""

    kernel: str
    dense: bool
    m: int
    k: int
    n: int
    group_size: int  # 0 = per channel
    groups: int  # rows of scale/offset
    layout: str
    pool: str
    tail_copy: str
    buffers: int  # 2 = double buffering
    tile_k: int
    tile_n: int
    tile_rows: int  # rows of a full weight tile (tile_k, or K padded when smaller)
    tile_cols: int  # columns of a full weight tile
    l0_k: int  # K rows per L0A/L0B chunk
    blocks: int
    x_resident: bool
    check_capacity: bool
    max_groups: int  # scale/offset rows one K tile needs
    ub_cols: int  # fp16 columns of a full dequantized tile in UB
    packed_tile_bytes: int
    footprint: dict[str, int]  # bytes per core and space

    @property
    def n_tiles(self) -> int:
        return -(-self.n // self.tile_n)

    @property
    def k_tiles(self) -> int:
        return -(-self.k // self.tile_k)

    def tile(self, col: int, row: int) -> Tile:
        n0, k0 = col * self.tile_n, row * self.tile_k
        kt = min(self.tile_k, self.k - k0)
        return Tile(n0, min(self.tile_n, self.n - n0), k0, kt, align_up(kt, FRACTAL))

    def block_columns(self, idx: int) -> range:
        """The column tiles of block ``idx``: a balanced contiguous split."""
        return range(idx * self.n_tiles // self.blocks, (idx + 1) * self.n_tiles // self.blocks)


# -- planning and validation -------------------------------------------------


def _choice(kernel: str, params: Mapping[str, Any], name: str, options: tuple[str, ...]) -> str:
    value = params[name]
    if value not in options:
        raise ParameterError(f"{kernel}: {name}={value!r}, expected one of {', '.join(options)}")
    return value


def _groups_spanned(k: int, tile_k: int, group_size: int) -> int:
    """Most scale/offset rows any K tile touches."""
    if not group_size:
        return 1
    return max(
        (min(k, k0 + tile_k) - 1) // group_size - k0 // group_size + 1 for k0 in range(0, k, tile_k)
    )


def _ub_layout(layout: str, tile_rows: int, tile_cols: int) -> tuple[int, int]:
    """(packed bytes, fp16 columns) of a full tile in UB: ND rows are padded to
    32 B, block16 rows are whole blocks."""
    if layout == "block16":
        cols = align_up(tile_cols, FRACTAL)
        return tile_rows * cols // 2, cols
    pitch = align_up(tile_cols // 2, BLOCK)
    return tile_rows * pitch, 2 * pitch


def _check_shape(
    kernel: str, dense: bool, m: int, k: int, n: int, tile_k: int, tile_n: int
) -> None:
    if m < 1:
        raise ParameterError(f"{kernel}: m={m}, expected at least 1")
    for name, value in (("k", k), ("n", n)):
        if not 1 <= value <= MAX_DIM:
            raise ParameterError(
                f"{kernel}: {name}={value} outside 1..{MAX_DIM} (torch_npu's limit)"
            )
    if dense and (k % FRACTAL or n % FRACTAL):
        raise ParameterError(
            f"{kernel}: k={k} and n={n} must be multiples of {FRACTAL} (the AIC has no vector "
            "unit to zero-pad fp16 weight tiles)"
        )
    if not dense and n % int4_pack.VALUES_PER_INT32:
        raise ParameterError(
            f"{kernel}: n={n} must be a multiple of 8 (int4 packing puts 8 values in an int32)"
        )
    if tile_n < 64 or tile_n % 64:
        raise ParameterError(f"{kernel}: tile_n={tile_n} must be a positive multiple of 64")
    if tile_k < FRACTAL or tile_k % FRACTAL:
        raise ParameterError(f"{kernel}: tile_k={tile_k} must be a positive multiple of {FRACTAL}")


def _check_group(kernel: str, k: int, group_size: int) -> None:
    if group_size and (group_size % GROUP_MULTIPLE or not GROUP_MULTIPLE <= group_size <= k - 1):
        raise ParameterError(
            f"{kernel}: group_size={group_size} must be 0 (per channel) or a multiple of "
            f"{GROUP_MULTIPLE} in [{GROUP_MULTIPLE}, K-1={k - 1}] (antiquant_group_size)"
        )


def _l0_chunk(kernel: str, chip: ChipProfile, m: int, tile_rows: int, tile_cols: int,
              buffers: int) -> int:  # fmt: skip
    """The largest K chunk (a multiple of 16 dividing the tile) whose L0A and L0B
    buffers fit; raises naming the space when not even 16 rows fit."""
    l0a, l0b = chip.space_capacity("L0A"), chip.space_capacity("L0B")
    a_align, b_align = chip.space_alignment("L0A"), chip.space_alignment("L0B")
    for rows in range(tile_rows, 0, -FRACTAL):
        if tile_rows % rows:
            continue
        a_bytes = buffers * align_up(m * rows * 2, a_align)
        b_bytes = buffers * align_up(rows * tile_cols * 2, b_align)
        if a_bytes <= l0a and b_bytes <= l0b:
            return rows
    a_bytes = buffers * align_up(m * FRACTAL * 2, a_align)
    if a_bytes > l0a:
        raise ParameterError(
            f"{kernel}: L0A tile {a_bytes} B (m={m} x {FRACTAL} fp16 x {buffers} buffers) exceeds "
            f"{chip.name}'s {l0a} B L0A"
        )
    b_bytes = buffers * align_up(FRACTAL * tile_cols * 2, b_align)
    raise ParameterError(
        f"{kernel}: L0B tile {b_bytes} B ({FRACTAL} x tile_n={tile_cols} fp16 x {buffers} buffers) "
        f"exceeds {chip.name}'s {l0b} B L0B"
    )


def _capacity_error(
    kernel: str, chip: ChipProfile, space: str, used: int, what: str
) -> ParameterError:
    return ParameterError(
        f"{kernel}: {space} footprint {used} B exceeds {chip.name}'s "
        f"{chip.space_capacity(space)} B {space} ({what})"
    )


def _auto_blocks(chip: ChipProfile, m: int, k: int, weight_bytes: int, n_tiles: int) -> int:
    """The most blocks within the re-read budget, then the fewest that keep the
    same column tiles per block (more would not finish sooner, only re-read x)."""
    extra = int(ACTIVATION_REREAD_BUDGET * weight_bytes // (m * k * 2))
    most = max(1, min(max_blocks(chip, "mix"), n_tiles, 1 + extra))
    per_block = -(-n_tiles // most)
    return -(-n_tiles // per_block)


def make_plan(params: Mapping[str, Any], chip: ChipProfile, dense: bool) -> GemmPlan:
    """Check ``params`` against ``chip`` and derive the tiling; raises
    :class:`ParameterError` naming the limit a parameter set breaks."""
    kernel = "fp16_gemm" if dense else "int4_gemm"
    m, k, n = (int(params[name]) for name in ("m", "k", "n"))
    tile_k, tile_n = int(params["tile_k"]), int(params["tile_n"])
    _check_shape(kernel, dense, m, k, n, tile_k, tile_n)
    group_size = 0 if dense else int(params["group_size"])
    _check_group(kernel, k, group_size)
    layout = "nd" if dense else _choice(kernel, params, "layout", int4_pack.LAYOUTS)
    pool = "tpipe" if dense else _choice(kernel, params, "pool", ("tpipe", "bump"))
    tail_copy = "pad" if dense else _choice(kernel, params, "tail_copy", ("pad", "datacopy"))
    misalign = int(params["gm_misalign"])
    if misalign % BLOCK or not 0 <= misalign < chip.gm_alignment:
        raise ParameterError(
            f"{kernel}: gm_misalign={misalign} must be a multiple of {BLOCK} in "
            f"0..{chip.gm_alignment - BLOCK}"
        )
    cores = int(params["cores"])
    most = max_blocks(chip, "cube" if dense else "mix")
    if not 0 <= cores <= most:
        raise ParameterError(
            f"{kernel}: cores={cores} outside 0..{most} ({chip.name} runs at most {most} "
            "blocks of cube cores; 0 = auto)"
        )
    buffers = 2 if params["double_buffer"] else 1
    check = bool(params["check_capacity"])
    tile_rows, tile_cols = min(tile_k, align_up(k, FRACTAL)), min(tile_n, n)
    where = f"tile_n={tile_n}, tile_k={tile_k}"
    l0_k = _l0_chunk(kernel, chip, m, tile_rows, tile_cols, buffers)
    l0c = buffers * align_up(m * tile_cols * 4, chip.space_alignment("L0C"))
    if l0c > chip.space_capacity("L0C"):
        raise ParameterError(
            f"{kernel}: L0C tile {l0c} B (m={m} x tile_n={tile_cols} fp32 x {buffers} buffers) "
            f"exceeds {chip.name}'s {chip.space_capacity('L0C')} B L0C"
        )
    groups = -(-k // group_size) if group_size else 1
    max_groups = _groups_spanned(k, tile_k, group_size)
    packed_tile, ub_cols = _ub_layout(layout, tile_rows, tile_cols)
    dequant_tile = tile_rows * ub_cols * 2
    params_tile = 2 * max_groups * ub_cols * 2  # scale rows, then offset rows
    if pool == "bump" and not group_size:  # one column's scale/offset + rounds of tiles
        ub = params_tile + buffers * (packed_tile + dequant_tile)
    else:
        ub = buffers * (packed_tile + dequant_tile + params_tile)
    w_l1 = buffers * align_up(tile_rows * tile_cols * 2, BLOCK)
    x_whole = m * align_up(k, FRACTAL) * 2
    resident = bool(params["x_resident"]) and x_whole + w_l1 <= chip.space_capacity("L1")
    l1 = w_l1 + (x_whole if resident else buffers * m * tile_rows * 2)
    if check and not dense and ub > chip.space_capacity("UB"):
        raise _capacity_error(kernel, chip, "UB", ub, where)
    if check and l1 > chip.space_capacity("L1"):
        raise _capacity_error(kernel, chip, "L1", l1, f"m={m}, {where}")
    n_tiles = -(-n // tile_n)
    weight = k * n * 2 if dense else int4_pack.packed_nbytes(k, n, layout)
    blocks = cores or _auto_blocks(chip, m, k, weight, n_tiles)
    footprint = {
        "L1": l1,
        "L0A": buffers * align_up(m * l0_k * 2, chip.space_alignment("L0A")),
        "L0B": buffers * align_up(l0_k * tile_cols * 2, chip.space_alignment("L0B")),
        "L0C": l0c,
    }
    if not dense:
        footprint["UB"] = ub
    return GemmPlan(kernel, dense, m, k, n, group_size, groups, layout, pool, tail_copy, buffers,
                    tile_k, tile_n, tile_rows, tile_cols, l0_k, blocks, resident, check,
                    max_groups, ub_cols, packed_tile, footprint)  # fmt: skip


# -- copies --------------------------------------------------------------------


def _load_x(l1: LocalTensor, x: GlobalTensor, plan: GemmPlan, k_begin: int, k_end: int) -> None:
    """Copy x[:, k_begin:k_end] into L1 chunk-blocked, [chunk][m][l0_k], so that
    every L0A load is contiguous; the last chunk is zero-padded to 16 columns.
    Uses one strided transfer per row of x or per chunk, whichever is fewer."""
    m, k, chunk = plan.m, plan.k, plan.l0_k
    full, tail = divmod(k_end - k_begin, chunk)
    row_bytes = chunk * 2
    if full and m <= full:
        for row in range(m):
            copy_rows(l1[row * chunk :], x[row * k + k_begin :], full, row_bytes, row_bytes,
                       m * row_bytes, plan.tail_copy)  # fmt: skip
    else:
        for index in range(full):
            copy_rows(l1[index * m * chunk :], x[k_begin + index * chunk :], m, row_bytes,
                       k * 2, row_bytes, plan.tail_copy)  # fmt: skip
    if tail:
        copy_rows(l1[full * m * chunk :], x[k_begin + full * chunk :], m, tail * 2, k * 2,
                   align_up(tail, FRACTAL) * 2, plan.tail_copy)  # fmt: skip


def _wait_flag(core: Core, pipe: str, ready_ps: int) -> None:
    """CrossCoreWaitFlag: ``pipe`` of ``core`` waits until another core signalled."""
    free = core.timeline.pipe_free
    free[pipe] = max(free[pipe], ready_ps)


# -- the AIV side: dequantization ------------------------------------------------


def _ub_tile_bytes(plan: GemmPlan) -> dict[str, int]:
    """Bytes of one UB buffer of each kind: packed int4 tile, scale+offset rows,
    dequantized fp16 tile."""
    return {
        "packed": plan.packed_tile_bytes,
        "params": 2 * plan.max_groups * plan.ub_cols * 2,
        "dequant": plan.tile_rows * plan.ub_cols * 2,
    }


class _QueueBuffers:
    """UB tiles from TPipe queues: AllocTensor/EnQue/DeQue/FreeTensor."""

    def __init__(self, pipe: TPipe, plan: GemmPlan):
        self.queues = {
            "packed": TQue(TPosition.VECIN, name="w_int4_que"),
            "params": TQue(TPosition.VECIN, name="antiquant_que"),
            "dequant": TQue(TPosition.VECOUT, name="w_fp16_que"),
        }
        sizes = _ub_tile_bytes(plan)
        with pipe.core.site("init"):
            for kind, que in self.queues.items():
                pipe.init_buffer(que, plan.buffers, sizes[kind])

    def take(self, kind: str, dtype: np.dtype | type) -> LocalTensor:
        return self.queues[kind].alloc_tensor(dtype)

    def ready(self, kind: str, tensor: LocalTensor) -> LocalTensor:
        que = self.queues[kind]
        que.enque(tensor)
        return que.deque()

    def give(self, kind: str, tensor: LocalTensor) -> None:
        self.queues[kind].free_tensor(tensor)

    def end_round(self) -> None:
        return None

    def end_column(self) -> None:
        return None

    def finish(self) -> None:
        return None


class _BumpBuffers:
    """UB tiles from the article's UBBufPool: a bump pointer reset after every
    ``buffers`` rounds (so consecutive rounds ping-pong); per-channel scale and
    offset rows live in a second pool below it, reset per column tile. Neither
    checks capacity unless ``check_capacity`` is set."""

    def __init__(self, core: Core, plan: GemmPlan):
        self.plan = plan
        self.sizes = _ub_tile_bytes(plan)
        per_column = 0 if plan.group_size else self.sizes["params"]
        check = plan.check_capacity
        self.column_pool = UBBufPool(core, "ub_param_pool", size=per_column, check_capacity=check)
        self.round_pool = UBBufPool(core, "ub_pool", check_capacity=check, base=per_column)
        self.rounds = 0

    def _pool(self, kind: str) -> UBBufPool:
        return (
            self.column_pool if kind == "params" and not self.plan.group_size else self.round_pool
        )

    def take(self, kind: str, dtype: np.dtype | type) -> LocalTensor:
        count = self.sizes[kind] // np.dtype(dtype).itemsize
        return self._pool(kind).allocate(count, dtype, f"{kind}_tile")

    def ready(self, kind: str, tensor: LocalTensor) -> LocalTensor:
        return tensor

    def give(self, kind: str, tensor: LocalTensor) -> None:
        return None

    def end_round(self) -> None:
        self.rounds += 1
        if self.rounds % self.plan.buffers == 0:
            self.round_pool.reset()

    def end_column(self) -> None:
        if self.column_pool.offset:
            self.column_pool.reset()

    def finish(self) -> None:
        if self.round_pool.offset:
            self.round_pool.reset()


@dataclass(frozen=True)
class _PackedTile:
    """Where a packed tile lies in GM and how it lands in UB."""

    gm_offset: int
    rows: int  # transfers' rows: weight rows (nd) or block rows (block16)
    row_bytes: int
    gm_pitch: int
    ub_pitch: int
    ub_cols: int  # fp16 columns after unpacking


def _packed_tile(plan: GemmPlan, tile: Tile) -> _PackedTile:
    if plan.layout == "block16":
        cols = align_up(tile.cols, FRACTAL)
        gm_pitch = align_up(plan.n, FRACTAL) * FRACTAL // 2
        offset = tile.k0 // FRACTAL * gm_pitch + tile.n0 * FRACTAL // 2
        row_bytes = cols * FRACTAL // 2
        return _PackedTile(offset, tile.rows_pad // FRACTAL, row_bytes, gm_pitch, row_bytes, cols)
    pitch = align_up(tile.cols // 2, BLOCK)
    return _PackedTile(tile.k0 * plan.n // 2 + tile.n0 // 2, tile.kt, tile.cols // 2,
                       plan.n // 2, pitch, 2 * pitch)  # fmt: skip


def _unpacker(plan: GemmPlan, packed: _PackedTile) -> Callable[[np.ndarray], np.ndarray]:
    """The numpy body of the unpack vector op: bytes -> fp16 pairs (as uint32),
    reordered from blocks to rows for block16."""
    if plan.layout == "nd":
        return lambda data: int4_pack.FP16_PAIRS[data]
    blocks_per_row = packed.ub_cols // FRACTAL

    def from_blocks(data: np.ndarray) -> np.ndarray:
        values = int4_pack.FP16_PAIRS[data].view(np.float16)
        grid = values.reshape(packed.rows, blocks_per_row, FRACTAL, FRACTAL).transpose(0, 2, 1, 3)
        return np.ascontiguousarray(grid).reshape(-1).view(np.uint32)

    return from_blocks


def _broadcast_rows(op: str, ufunc: np.ufunc, out: LocalTensor, table: LocalTensor, rows: int,
                    cols: int, group_of_row: np.ndarray | None) -> None:  # fmt: skip
    """``out[r, :] = ufunc(out[r, :], table[group(r), :])``: a vector op whose
    second operand is re-read row after row (repeat stride 0 on the device)."""

    def body(tile: np.ndarray, table_data: np.ndarray) -> np.ndarray:
        if group_of_row is None:
            return ufunc(tile.reshape(rows, cols), table_data[:cols]).reshape(-1)
        groups = int(group_of_row[-1]) + 1
        table_rows = table_data[: groups * cols].reshape(groups, cols)
        return ufunc(tile.reshape(rows, cols), table_rows[group_of_row]).reshape(-1)

    vector.apply(op, out, (out, table), rows * cols, body)


class _Dequantizer:
    """One AIV's share of a block: int4 tiles in, fp16 tiles out to the workspace."""

    def __init__(self, core: Core, plan: GemmPlan, gm: dict[str, GlobalTensor],
                 pipe: TPipe) -> None:  # fmt: skip
        self.core, self.plan, self.gm = core, plan, gm
        self.buffers = (
            _QueueBuffers(pipe, plan) if plan.pool == "tpipe" else _BumpBuffers(core, plan)
        )
        self.column_params: LocalTensor | None = None

    def _load_params(self, tile: Tile, ub_cols: int) -> tuple[LocalTensor, LocalTensor]:
        """Copy the scale and offset rows ``tile`` needs into UB: scale rows
        first, offset rows from ``max_groups`` rows on (returned as a view)."""
        plan = self.plan
        first = tile.k0 // plan.group_size if plan.group_size else 0
        last = (tile.k0 + tile.kt - 1) // plan.group_size if plan.group_size else 0
        rows = last - first + 1
        params = self.buffers.take("params", np.float16)
        offset_rows = params[plan.max_groups * plan.ub_cols :]
        with self.core.site("copy_scale"):
            for name, dst in (("scale", params), ("offset", offset_rows)):
                src = self.gm[name][first * plan.n + tile.n0 :]
                copy_rows(dst, src, rows, tile.cols * 2, plan.n * 2, ub_cols * 2, plan.tail_copy)
        return self.buffers.ready("params", params), offset_rows

    def dequantize(self, tile: Tile, slot: GlobalTensor, slot_free_ps: int) -> None:
        """Dequantize ``tile`` into workspace ``slot`` (free from ``slot_free_ps`` on)."""
        plan, core, buffers = self.plan, self.core, self.buffers
        packed_tile = _packed_tile(plan, tile)
        cols = packed_tile.ub_cols
        packed = buffers.take("packed", np.uint8)
        with core.site("copy_w"):
            copy_rows(packed, self.gm["w"][packed_tile.gm_offset :], packed_tile.rows,
                       packed_tile.row_bytes, packed_tile.gm_pitch, packed_tile.ub_pitch,
                       plan.tail_copy)  # fmt: skip
        packed = buffers.ready("packed", packed)
        if plan.group_size:
            params, offset_rows = self._load_params(tile, cols)
            rows_in_tile = np.arange(tile.k0, tile.k0 + tile.kt) // plan.group_size
            group_of_row = rows_in_tile - tile.k0 // plan.group_size
        else:
            if self.column_params is None:
                self.column_params = self._load_params(tile, cols)[0]
            params = self.column_params
            offset_rows, group_of_row = params[plan.max_groups * plan.ub_cols :], None
        out = buffers.take("dequant", np.float16)
        with core.site("dequant"):
            vector.apply("UnpackInt4", out.reinterpret(np.uint32), (packed,),
                         packed_tile.rows * packed_tile.ub_pitch, _unpacker(plan, packed_tile),
                         ops_per_element=2)  # fmt: skip
            buffers.give("packed", packed)
            _broadcast_rows("Add", np.add, out, offset_rows, tile.kt, cols, group_of_row)
            _broadcast_rows("Mul", np.multiply, out, params, tile.kt, cols, group_of_row)
            if tile.rows_pad > tile.kt:  # UB garbage may be NaN, and 0 * NaN poisons y
                pad_rows = tile.rows_pad - tile.kt
                vector.duplicate(out[tile.kt * cols :], 0.0, pad_rows * cols)
        if plan.group_size:
            buffers.give("params", params)
        out = buffers.ready("dequant", out)
        _wait_flag(core, "MTE3", slot_free_ps)
        with core.site("copy_ws"):
            copy_rows(slot, out, tile.rows_pad, tile.cols * 2, cols * 2, tile.cols * 2,
                       plan.tail_copy)  # fmt: skip
        buffers.give("dequant", out)
        buffers.end_round()

    def end_column(self) -> None:
        if self.column_params is not None:
            self.buffers.give("params", self.column_params)
            self.column_params = None
        self.buffers.end_column()

    def finish(self) -> None:
        self.buffers.finish()


# -- the AIC side: matmul -----------------------------------------------------------


class _Matmul:
    """The cube core of a block: x and weight tiles in L1, L0 chunks, fp32 L0C."""

    def __init__(self, core: Core, plan: GemmPlan, gm: dict[str, GlobalTensor],
                 pipe: TPipe) -> None:  # fmt: skip
        self.core, self.plan, self.gm = core, plan, gm
        self.x_que = TQue(TPosition.A1, name="x_l1_que")
        self.w_que = TQue(TPosition.B1, name="w_l1_que")
        self.a_que = TQue(TPosition.A2, name="x_l0a_que")
        self.b_que = TQue(TPosition.B2, name="w_l0b_que")
        self.c_que = TQue(TPosition.CO1, name="y_l0c_que")
        m, buffers = plan.m, plan.buffers
        x_bytes = m * align_up(plan.k, FRACTAL) * 2 if plan.x_resident else m * plan.tile_rows * 2
        with core.site("init"):
            pipe.init_buffer(self.x_que, 1 if plan.x_resident else buffers, x_bytes)
            pipe.init_buffer(self.w_que, buffers, plan.tile_rows * plan.tile_cols * 2)
            pipe.init_buffer(self.a_que, buffers, m * plan.l0_k * 2)
            pipe.init_buffer(self.b_que, buffers, plan.l0_k * plan.tile_cols * 2)
            pipe.init_buffer(self.c_que, buffers, m * plan.tile_cols * 4)
        self.x_l1: LocalTensor | None = None
        self.l0c: LocalTensor | None = None
        self.accumulated = False

    def begin_column(self) -> None:
        self.l0c = self.c_que.alloc_tensor(np.float32)
        self.accumulated = False

    def _x_tile(self, tile: Tile) -> tuple[LocalTensor, int]:
        """x in L1 for ``tile`` and the index of the tile's first chunk in it."""
        plan = self.plan
        if plan.x_resident:
            if self.x_l1 is None:
                x_l1 = self.x_que.alloc_tensor(np.float16)
                with self.core.site("copy_x"):
                    _load_x(x_l1, self.gm["x"], plan, 0, plan.k)
                self.x_que.enque(x_l1)
                self.x_l1 = self.x_que.deque()
            return self.x_l1, tile.k0 // plan.l0_k
        x_l1 = self.x_que.alloc_tensor(np.float16)
        with self.core.site("copy_x"):
            _load_x(x_l1, self.gm["x"], plan, tile.k0, tile.k0 + tile.kt)
        self.x_que.enque(x_l1)
        return self.x_que.deque(), 0

    def _weight_tile(self, tile: Tile, slot: GlobalTensor | None) -> LocalTensor:
        plan = self.plan
        w_l1 = self.w_que.alloc_tensor(np.float16)
        if slot is not None:
            with self.core.site("copy_w_l1"):
                data_copy(w_l1, slot, tile.rows_pad * tile.cols)
        else:
            with self.core.site("copy_w"):
                copy_rows(w_l1, self.gm["w"][tile.k0 * plan.n + tile.n0 :], tile.kt,
                           tile.cols * 2, plan.n * 2, tile.cols * 2, plan.tail_copy)  # fmt: skip
        self.w_que.enque(w_l1)
        return self.w_que.deque()

    def accumulate(self, tile: Tile, slot: GlobalTensor | None = None) -> int:
        """``l0c += x[:, tile rows] @ w[tile]``; ``slot`` is the workspace slot
        holding the dequantized tile (None: fp16 weights straight from GM).
        Returns when the weight tile's copy-in finished (the slot is free again)."""
        plan, core, m = self.plan, self.core, self.plan.m
        w_l1 = self._weight_tile(tile, slot)
        slot_free_ps = core.timeline.pipe_free["MTE2"]
        x_l1, first_chunk = self._x_tile(tile)
        for chunk, k_off in enumerate(range(0, tile.kt, plan.l0_k)):
            rows = align_up(min(plan.l0_k, tile.kt - k_off), FRACTAL)
            a, b = self.a_que.alloc_tensor(np.float16), self.b_que.alloc_tensor(np.float16)
            with core.site("load_l0"):
                load_data(a, x_l1[(first_chunk + chunk) * m * plan.l0_k :], m * rows)
                load_data(b, w_l1[k_off * tile.cols :], rows * tile.cols)
            self.a_que.enque(a)
            self.b_que.enque(b)
            a, b = self.a_que.deque(), self.b_que.deque()
            with core.site("mmad"):
                mmad(self.l0c, a, b, m, rows, tile.cols, accumulate=self.accumulated)
            self.accumulated = True
            self.a_que.free_tensor(a)
            self.b_que.free_tensor(b)
        self.w_que.free_tensor(w_l1)
        if not plan.x_resident:
            self.x_que.free_tensor(x_l1)
        return slot_free_ps

    def end_column(self, tile: Tile) -> None:
        with self.core.site("copy_out"):
            fixpipe(self.gm["y"][tile.n0 :], self.l0c, self.plan.m, tile.cols, self.plan.n)
        self.c_que.free_tensor(self.l0c)
        self.l0c = None

    def finish(self) -> None:
        if self.x_l1 is not None:
            self.x_que.free_tensor(self.x_l1)
            self.x_l1 = None


# -- the kernel --------------------------------------------------------------------


def _slot_elements(plan: GemmPlan) -> int:
    """fp16 elements of one workspace slot, rounded to keep slots 512 B aligned."""
    return align_up(plan.tile_rows * plan.tile_cols, 256)


def _gemm_block(block: Block, plan: GemmPlan, gm: dict[str, GlobalTensor]) -> None:
    """One block: its column tiles, K tiles alternating between its AIVs."""
    columns = plan.block_columns(block.idx)
    if not columns:
        return
    pipes: dict[int, TPipe] = {}

    def pipe_of(core: Core) -> TPipe:  # one TPipe per core (coupled chips share it)
        if id(core) not in pipes:
            pipes[id(core)] = TPipe(core, plan.check_capacity)
        return pipes[id(core)]

    matmul = _Matmul(block.aic, plan, gm, pipe_of(block.aic))
    vector_cores = [] if plan.dense else block.vector
    dequantizers = [_Dequantizer(core, plan, gm, pipe_of(core)) for core in vector_cores]
    slots = len(dequantizers) * plan.buffers
    slot_free = [0] * slots
    slot_size = _slot_elements(plan)
    sequence = 0
    for col in columns:
        matmul.begin_column()
        for row in range(plan.k_tiles):
            tile = plan.tile(col, row)
            if plan.dense:
                matmul.accumulate(tile)
                continue
            index = sequence % slots
            slot = gm["workspace"][(block.idx * slots + index) * slot_size :]
            dequantizers[sequence % len(dequantizers)].dequantize(tile, slot, slot_free[index])
            slot_free[index] = matmul.accumulate(tile, slot)
            sequence += 1
        for dequantizer in dequantizers:
            dequantizer.end_column()
        matmul.end_column(tile)
    matmul.finish()
    for dequantizer in dequantizers:
        dequantizer.finish()


# -- inputs, reference, traffic ---------------------------------------------------


def check_antiquant_shape(shape: tuple[int, ...], k: int, n: int, group_size: int) -> None:
    """Scale/offset must be (1, N) per channel or (ceil(K/g), N) per group."""
    groups = -(-k // group_size) if group_size else 1
    if tuple(shape) != (groups, n):
        expected = f"ceil(K/{group_size})={groups}" if group_size else "1 (per channel)"
        raise ParameterError(
            f"antiquant scale/offset shape {tuple(shape)} does not match {expected} x N={n}"
        )


def dequantize(w: np.ndarray, scale: np.ndarray, offset: np.ndarray, group_size: int) -> np.ndarray:
    """``(w + offset) * scale`` in float64, scale/offset rows repeated per group."""
    k, n = w.shape
    check_antiquant_shape(scale.shape, k, n, group_size)
    check_antiquant_shape(offset.shape, k, n, group_size)
    weights = w.astype(np.float64)
    span = group_size or k
    for group, start in enumerate(range(0, k, span)):
        rows = weights[start : start + span]
        rows += offset[group].astype(np.float64)
        rows *= scale[group].astype(np.float64)
    return weights


def _inputs(plan: GemmPlan, seed: int) -> dict[str, np.ndarray]:
    """x ~ N(0, 1); int4 weights uniform; scales chosen so y is about unit size."""
    rng = np.random.default_rng(seed)
    m, k, n = plan.m, plan.k, plan.n
    data = {"x": rng.standard_normal((m, k)).astype(np.float16)}
    if plan.dense:
        data["w"] = (rng.standard_normal((k, n)) / math.sqrt(k)).astype(np.float16)
        return data
    data["w"] = rng.integers(int4_pack.INT4_MIN, int4_pack.INT4_MAX + 1, (k, n), dtype=np.int8)
    data["scale"] = (rng.uniform(0.5, 1.5, (plan.groups, n)) / (5 * math.sqrt(k))).astype(
        np.float16
    )
    data["offset"] = rng.uniform(-2.0, 2.0, (plan.groups, n)).astype(np.float16)
    return data


def _run(device: Device, params: dict[str, Any], dense: bool) -> KernelResult:
    plan = make_plan(params, device.chip, dense)
    data = _inputs(plan, int(params["seed"]))
    gm = {"x": device.gm.tensor("x", data["x"])}
    if dense:
        gm["w"] = device.gm.tensor("w_fp16", data["w"])
    else:
        packed = int4_pack.pack(data["w"], plan.layout)
        gm["w"] = device.gm.tensor("w_int4", packed.reshape(-1).view(np.uint8))
        gm["scale"] = device.gm.tensor("antiquant_scale", data["scale"])
        gm["offset"] = device.gm.tensor("antiquant_offset", data["offset"])
        slots = plan.blocks * 2 * plan.buffers * _slot_elements(plan)
        gm["workspace"] = device.gm.tensor("dequant_workspace", np.zeros(slots, np.float16),
                                           workspace=True, misalign=0)  # fmt: skip
    gm["y"] = device.gm.empty("y", (plan.m, plan.n), np.float16)
    device.launch(plan.kernel, _gemm_block, plan.blocks, "cube" if dense else "mix",
                  plan=plan, gm=gm)  # fmt: skip
    notes = [
        f"{plural(plan.blocks, 'block')}{' (auto)' if not params['cores'] else ''}, tiles "
        f"{plan.tile_rows}x{plan.tile_cols}, L0 K chunk {plan.l0_k}, x "
        f"{'resident in L1' if plan.x_resident else 're-read per tile'}"
    ]
    if params["x_resident"] and not plan.x_resident:
        notes.append("x does not fit L1 beside the weight tiles: it is re-read for every tile")
    x64 = data["x"].astype(np.float64)

    def reference(cols: slice) -> np.ndarray:
        if dense:
            return x64 @ data["w"][:, cols].astype(np.float64)
        return x64 @ dequantize(data["w"][:, cols], data["scale"][:, cols],
                                data["offset"][:, cols], plan.group_size)  # fmt: skip

    # What npu_weight_quant_batchmatmul takes: x, the int4 values (before
    # npu_convert_weight_to_int4pack), scale and offset.
    inputs = {} if dense else {"x": data["x"], "w_int": data["w"], "scale": data["scale"],
                               "offset": data["offset"]}  # fmt: skip
    return KernelResult(outputs={"y": gm["y"].numpy()},
                        references={"y": ChunkedReference(reference, 8 * (plan.k + plan.m), 1)},
                        notes=notes, inputs=inputs)  # fmt: skip


def minimal_traffic(params: Mapping[str, Any], dense: bool = False) -> dict[str, int]:
    """GM bytes the math needs: x, the weights and scale/offset read once, y
    written once. The dequantized-weight workspace is L2-resident and not counted."""
    m, k, n = int(params["m"]), int(params["k"]), int(params["n"])
    read = m * k * 2 + weight_bytes(params, dense)
    return {"read": read, "write": m * n * 2}


def _resolved(params: Mapping[str, Any], dense: bool) -> dict[str, Any]:
    """``params`` over the defaults of ``fp16_gemm`` or ``int4_gemm``."""
    return (FP16_GEMM if dense else INT4_GEMM).resolve(overrides=params)


def weight_bytes(params: Mapping[str, Any], dense: bool = False) -> int:
    """Weight memory in GM: fp16 K x N, or int4 K x N / 2 plus fp16 scale and
    offset rows (the article's "4x less weight memory" compares these);
    ``params`` over the kernel's defaults."""
    params = _resolved(params, dense)
    k, n = int(params["k"]), int(params["n"])
    if dense:
        return k * n * 2
    group_size = int(params["group_size"])
    groups = -(-k // group_size) if group_size else 1
    return -(-k * n // 2) + 2 * groups * n * 2


def modelled_time_ps(params: Mapping[str, Any], dense: bool = False,
                     chip: ChipProfile | None = None) -> int:  # fmt: skip
    """Modelled kernel time of ``int4_gemm`` (or ``fp16_gemm``) with ``params``
    over the kernel's defaults, run without recording."""
    spec = FP16_GEMM if dense else INT4_GEMM
    return run_kernel(spec, _resolved(params, dense), chip or load_chip()).duration_ps


def estimate_cost(params: Mapping[str, Any], chip: ChipProfile, dense: bool) -> Estimate:
    """Events per weight tile, per L0 chunk, per column tile and per block;
    host memory: x (its float64 draw, fp16, GM), the weights (int8 values,
    packing temporaries, packed and in GM; or the float64 draw, fp16 and GM),
    y and a checked slice."""
    plan = make_plan(params, chip, dense)
    tiles = plan.n_tiles * plan.k_tiles
    chunks = tiles * -(-plan.tile_rows // plan.l0_k)
    per_tile, per_column, per_block = EVENTS_PER_TILE_COLUMN_BLOCK[dense]
    events = (per_tile * tiles + EVENTS_PER_L0_CHUNK * chunks + per_column * plan.n_tiles
              + per_block * plan.blocks)  # fmt: skip
    if plan.tail_copy == "datacopy" and plan.n % plan.tile_n:
        events += EVENTS_PER_RAGGED_ROW * plan.k
    weights = plan.k * plan.n
    host = plan.m * plan.k * (8 + 2 * 2) + plan.m * plan.n * 2 + CHECK_CHUNK_BYTES
    host += weights * (8 + 2 * 2) if dense else weights * (1 + PACKING_BYTES[plan.layout] + 1)
    values = plan.m * plan.k + weights + plan.m * plan.n
    return estimate(events, host, plan.m * plan.k * plan.n, values)


def _validate_int4(params: dict[str, Any], chip: ChipProfile) -> None:
    make_plan(params, chip, dense=False)


def _validate_fp16(params: dict[str, Any], chip: ChipProfile) -> None:
    make_plan(params, chip, dense=True)


# -- registration ----------------------------------------------------------------

_COMMON = (
    Param("m", int, 16, "rows of x (tokens); m x tile_n fp32 must fit L0C"),
    Param("k", int, 4096, "reduction size (1..65535)"),
    Param("n", int, 4096, "output columns (1..65535)"),
    Param("tile_n", int, 256, "weight columns per tile (multiple of 64)"),
    Param("tile_k", int, 128, "weight rows per tile (multiple of 16); L0 takes it in chunks"),
    Param("cores", int, 0, "blocks; 0 = as many as keep re-reads of x within 5 % of the weights"),
    Param("double_buffer", bool, True, "two buffers per queue (BUFFER_NUM 2) instead of one"),
    Param("x_resident", bool, True, "keep x in L1 for the whole kernel when it fits"),
    Param("check_capacity", bool, True, "check buffer footprints against UB/L1 (as CPU debug)"),
    Param("gm_misalign", int, 0, "bytes added to every GM tensor address (multiple of 32)"),
    Param("seed", int, 0, "random seed of the inputs"),
)

INT4_GEMM = register(
    KernelSpec(
        name="int4_gemm",
        summary="W4A16 GEMM y = x @ ((w + offset) * scale): AIV dequantizes int4 tiles into a "
        "GM workspace, AIC multiplies (910B mix launch)",
        params=_COMMON[:5]
        + (
            Param(
                "group_size", int, 0, "antiquant group size (multiple of 32, < k); 0 = per channel"
            ),
            Param("layout", str, "block16", "packed weight layout", int4_pack.LAYOUTS),
            Param(
                "pool",
                str,
                "tpipe",
                "UB buffers: TPipe queues or the article's bump pool",
                ("tpipe", "bump"),
            ),
            Param(
                "tail_copy",
                str,
                "pad",
                "ragged rows: DataCopyPad, or plain DataCopy (drops each row's tail)",
                ("pad", "datacopy"),
            ),
        )
        + _COMMON[5:],
        run=lambda device, params: _run(device, params, dense=False),
        minimal_traffic=minimal_traffic,
        presets={
            "ub_overflow": (
                "the article's bump pool with no capacity check and 256x256 double-buffered "
                "tiles: 320 KB of UB per AIV, the second round lands in the red zone",
                {"pool": "bump", "check_capacity": False, "tile_k": 256, "tile_n": 256},
            ),
            "nd_tail_truncation": (
                "ND int4 weights whose last column tile has 36 B rows, moved with plain "
                "DataCopy: each row's tail is dropped (TRUNCATED, off 512 B) and y is wrong",
                {
                    "layout": "nd",
                    "tail_copy": "datacopy",
                    "m": 4,
                    "k": 256,
                    "n": 200,
                    "tile_n": 128,
                },
            ),
            "gm_misaligned": (
                "every GM tensor starts 32 B past a 512 B boundary: copies run at the "
                "misaligned bandwidth",
                {"gm_misalign": 32},
            ),
        },
        validate=_validate_int4,
        estimate=lambda params, chip: estimate_cost(params, chip, dense=False),
    )
)

FP16_GEMM = register(
    KernelSpec(
        name="fp16_gemm",
        summary="dense fp16 GEMM y = x @ w on the cube cores: the baseline int4_gemm is compared "
        "with",
        params=_COMMON,
        run=lambda device, params: _run(device, params, dense=True),
        minimal_traffic=lambda params: minimal_traffic(params, dense=True),
        validate=_validate_fp16,
        estimate=lambda params, chip: estimate_cost(params, chip, dense=True),
    )
)
