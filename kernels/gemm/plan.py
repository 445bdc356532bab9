"""Tiling and validation of the two GEMM kernels: the shared cube-side plan
(:class:`GemmPlan`, from :func:`plan_fp16`) and its INT4 extension with the
dequantization buffers (:class:`Int4Plan`, from :func:`plan_int4`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ubscope.kernels.gemm import int4_pack
from ubscope.probe.chip import ChipProfile
from ubscope.probe.device import max_blocks
from ubscope.probe.errors import ParameterError
from ubscope.probe.memory.datacopy import BLOCK
from ubscope.probe.memory.pools import align_up

FRACTAL = 16  # the cube works on 16-row/column fractals: K chunks are padded to it
# cores=0 picks the most blocks whose extra reads of x (every block reads all
# of it from GM) stay within this fraction of the weight bytes.
ACTIVATION_REREAD_BUDGET = 0.05
MAX_DIM = 65535  # torch_npu's limit on K and N
GROUP_MULTIPLE = 32  # antiquant_group_size is a multiple of 32
INT4_KERNEL, FP16_KERNEL = "int4_gemm", "fp16_gemm"


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
    """The cube side's tiling and buffer sizes for one run, derived from the
    parameters and the chip."""

    kernel: str
    m: int
    k: int
    n: int
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


@dataclass(frozen=True)
class Int4Plan(GemmPlan):
    """:class:`GemmPlan` plus the AIV side: weight format and UB buffers."""

    group_size: int  # 0 = per channel
    groups: int  # rows of scale/offset
    layout: str
    pool: str
    max_groups: int  # scale/offset rows one K tile needs
    ub_cols: int  # fp16 columns of a full dequantized tile in UB
    packed_tile_bytes: int


def _choice(kernel: str, params: Mapping[str, Any], name: str, options: tuple[str, ...]) -> str:
    value = params[name]
    if value not in options:
        raise ParameterError(f"{kernel}: {name}={value!r}, expected one of {', '.join(options)}")
    return str(value)


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


def _shape(kernel: str, params: Mapping[str, Any]) -> tuple[int, int, int]:
    m, k, n = (int(params[name]) for name in ("m", "k", "n"))
    if m < 1:
        raise ParameterError(f"{kernel}: m={m}, expected at least 1")
    for name, value in (("k", k), ("n", n)):
        if not 1 <= value <= MAX_DIM:
            raise ParameterError(
                f"{kernel}: {name}={value} outside 1..{MAX_DIM} (torch_npu's limit)"
            )
    return m, k, n


def _check_tiles(kernel: str, params: Mapping[str, Any]) -> None:
    tile_k, tile_n = int(params["tile_k"]), int(params["tile_n"])
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


def _l0_chunk(
    kernel: str, chip: ChipProfile, m: int, tile_rows: int, tile_cols: int, buffers: int
) -> int:
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


def _auto_blocks(
    chip: ChipProfile, launch: str, m: int, k: int, weight_bytes: int, n_tiles: int
) -> int:
    """The most blocks within the re-read budget, then the fewest that keep the
    same column tiles per block (more would not finish sooner, only re-read x)."""
    extra = int(ACTIVATION_REREAD_BUDGET * weight_bytes // (m * k * 2))
    most = max(1, min(max_blocks(chip, launch), n_tiles, 1 + extra))
    per_block = -(-n_tiles // most)
    return -(-n_tiles // per_block)


def _tile_extent(params: Mapping[str, Any]) -> tuple[int, int]:
    """Rows and columns of a full weight tile."""
    k, n = int(params["k"]), int(params["n"])
    return min(int(params["tile_k"]), align_up(k, FRACTAL)), min(int(params["tile_n"]), n)


def _buffers(params: Mapping[str, Any]) -> int:
    return 2 if params["double_buffer"] else 1


def _cube_plan(
    kernel: str,
    params: Mapping[str, Any],
    chip: ChipProfile,
    *,
    launch: str,
    tail_copy: str,
    weight_bytes: int,
    ub_bytes: int | None,
) -> dict[str, Any]:
    """The :class:`GemmPlan` fields; ``ub_bytes`` (None: no AIV) is checked
    against the UB between the L0 and the L1 checks."""
    m, k, n = (int(params[name]) for name in ("m", "k", "n"))
    tile_k, tile_n = int(params["tile_k"]), int(params["tile_n"])
    misalign = int(params["gm_misalign"])
    if misalign % BLOCK or not 0 <= misalign < chip.gm_alignment:
        raise ParameterError(
            f"{kernel}: gm_misalign={misalign} must be a multiple of {BLOCK} in "
            f"0..{chip.gm_alignment - BLOCK}"
        )
    cores = int(params["cores"])
    most = max_blocks(chip, launch)
    if not 0 <= cores <= most:
        raise ParameterError(
            f"{kernel}: cores={cores} outside 0..{most} ({chip.name} runs at most {most} "
            "blocks of cube cores; 0 = auto)"
        )
    buffers = _buffers(params)
    check = bool(params["check_capacity"])
    tile_rows, tile_cols = _tile_extent(params)
    where = f"tile_n={tile_n}, tile_k={tile_k}"
    l0_k = _l0_chunk(kernel, chip, m, tile_rows, tile_cols, buffers)
    l0c = buffers * align_up(m * tile_cols * 4, chip.space_alignment("L0C"))
    if l0c > chip.space_capacity("L0C"):
        raise ParameterError(
            f"{kernel}: L0C tile {l0c} B (m={m} x tile_n={tile_cols} fp32 x {buffers} buffers) "
            f"exceeds {chip.name}'s {chip.space_capacity('L0C')} B L0C"
        )
    w_l1 = buffers * align_up(tile_rows * tile_cols * 2, BLOCK)
    x_whole = m * align_up(k, FRACTAL) * 2
    resident = bool(params["x_resident"]) and x_whole + w_l1 <= chip.space_capacity("L1")
    l1 = w_l1 + (x_whole if resident else buffers * m * tile_rows * 2)
    if check and ub_bytes is not None and ub_bytes > chip.space_capacity("UB"):
        raise _capacity_error(kernel, chip, "UB", ub_bytes, where)
    if check and l1 > chip.space_capacity("L1"):
        raise _capacity_error(kernel, chip, "L1", l1, f"m={m}, {where}")
    n_tiles = -(-n // tile_n)
    footprint = {
        "L1": l1,
        "L0A": buffers * align_up(m * l0_k * 2, chip.space_alignment("L0A")),
        "L0B": buffers * align_up(l0_k * tile_cols * 2, chip.space_alignment("L0B")),
        "L0C": l0c,
    }
    if ub_bytes is not None:
        footprint["UB"] = ub_bytes
    return dict(
        kernel=kernel,
        m=m,
        k=k,
        n=n,
        tail_copy=tail_copy,
        buffers=buffers,
        tile_k=tile_k,
        tile_n=tile_n,
        tile_rows=tile_rows,
        tile_cols=tile_cols,
        l0_k=l0_k,
        blocks=cores or _auto_blocks(chip, launch, m, k, weight_bytes, n_tiles),
        x_resident=resident,
        check_capacity=check,
        footprint=footprint,
    )


def plan_fp16(params: Mapping[str, Any], chip: ChipProfile) -> GemmPlan:
    """Check ``fp16_gemm``'s ``params`` against ``chip`` and derive the tiling;
    raises :class:`ParameterError` naming the limit a parameter set breaks."""
    kernel = FP16_KERNEL
    _, k, n = _shape(kernel, params)
    if k % FRACTAL or n % FRACTAL:
        raise ParameterError(
            f"{kernel}: k={k} and n={n} must be multiples of {FRACTAL} (the AIC has no vector "
            "unit to zero-pad fp16 weight tiles)"
        )
    _check_tiles(kernel, params)
    fields = _cube_plan(
        kernel, params, chip, launch="cube", tail_copy="pad", weight_bytes=k * n * 2, ub_bytes=None
    )
    return GemmPlan(**fields)


def plan_int4(params: Mapping[str, Any], chip: ChipProfile) -> Int4Plan:
    """Check ``int4_gemm``'s ``params`` against ``chip`` and derive the tiling
    and UB buffers; raises :class:`ParameterError` naming the broken limit."""
    kernel = INT4_KERNEL
    _, k, n = _shape(kernel, params)
    if n % int4_pack.VALUES_PER_INT32:
        raise ParameterError(
            f"{kernel}: n={n} must be a multiple of 8 (int4 packing puts 8 values in an int32)"
        )
    _check_tiles(kernel, params)
    group_size = int(params["group_size"])
    _check_group(kernel, k, group_size)
    layout = _choice(kernel, params, "layout", int4_pack.LAYOUTS)
    pool = _choice(kernel, params, "pool", ("tpipe", "bump"))
    tail_copy = _choice(kernel, params, "tail_copy", ("pad", "datacopy"))
    buffers = _buffers(params)
    tile_rows, tile_cols = _tile_extent(params)
    max_groups = _groups_spanned(k, int(params["tile_k"]), group_size)
    packed_tile, ub_cols = _ub_layout(layout, tile_rows, tile_cols)
    dequant_tile = tile_rows * ub_cols * 2
    params_tile = 2 * max_groups * ub_cols * 2  # scale rows, then offset rows
    if pool == "bump" and not group_size:  # one column's scale/offset + rounds of tiles
        ub = params_tile + buffers * (packed_tile + dequant_tile)
    else:
        ub = buffers * (packed_tile + dequant_tile + params_tile)
    fields = _cube_plan(
        kernel,
        params,
        chip,
        launch="mix",
        tail_copy=tail_copy,
        weight_bytes=int4_pack.packed_nbytes(k, n, layout),
        ub_bytes=ub,
    )
    return Int4Plan(
        **fields,
        group_size=group_size,
        groups=-(-k // group_size) if group_size else 1,
        layout=layout,
        pool=pool,
        max_groups=max_groups,
        ub_cols=ub_cols,
        packed_tile_bytes=packed_tile,
    )
