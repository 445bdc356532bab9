"""Tiling and validation of the two GEMM kernels: the shared cube-side plan
(:class:`GemmPlan`, from :func:`plan_fp16`) and its INT4 extension with the
dequantization buffers (:class:`Int4Plan`, from :func:`plan_int4`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ubscope.kernels.gemm import int4_pack
from ubscope.kernels.gemm.blocks import TileWork, fastest_blocks, launch_time_ps
from ubscope.kernels.param_checks import check_range, check_seed
from ubscope.probe.chip import ChipProfile
from ubscope.probe.device import max_blocks
from ubscope.probe.errors import ParameterError
from ubscope.probe.memory import fractal
from ubscope.probe.memory.datacopy import BLOCK
from ubscope.probe.memory.pools import align_up

FRACTAL = fractal.FRACTAL_ROWS  # K chunks and tiles are whole fractals of fp16
FP16_BYTES = 2
TILE_N_MULTIPLE = 64
AUTO_TILE_N_MAX = 1024  # the widest tile tile_n=0 tries
AUTO_TILE_K = (64, 128, 256, 512, 1024, 2048)  # the depths tile_k=0 tries
MAX_DIM = 65535  # torch_npu's limit on K and N
GROUP_MULTIPLE = 32  # antiquant_group_size is a multiple of 32
POOLS = ("tpipe", "bump")  # int4_gemm's UB buffers
TAIL_COPIES = ("pad", "datacopy")  # how int4_gemm moves ragged weight rows
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
    estimate_ps: int  # the planner's estimate of the launch (kernels.gemm.blocks)

    @property
    def n_tiles(self) -> int:
        return -(-self.n // self.tile_n)

    @property
    def k_tiles(self) -> int:
        return -(-self.k // self.tile_k)

    @property
    def weight_pitch(self) -> int:
        """Elements between the GM rows the AIC copies a full weight tile from:
        w's rows for fp16_gemm, the workspace slot's for int4_gemm."""
        return self.n if self.kernel == FP16_KERNEL else self.tile_cols

    def tile(self, col: int, row: int) -> Tile:
        n0, k0 = col * self.tile_n, row * self.tile_k
        kt = min(self.tile_k, self.k - k0)
        return Tile(n0, min(self.tile_n, self.n - n0), k0, kt, align_up(kt, FRACTAL))

    def block_columns(self, idx: int) -> range:
        """The column tiles of block ``idx``: a balanced contiguous split."""
        return range(idx * self.n_tiles // self.blocks, (idx + 1) * self.n_tiles // self.blocks)


PlanT = TypeVar("PlanT", bound=GemmPlan)


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


def _check_choice(
    kernel: str, params: Mapping[str, Any], name: str, options: tuple[str, ...]
) -> None:
    value = params[name]
    if value not in options:
        raise ParameterError(f"{kernel}: {name}={value!r}, expected one of {', '.join(options)}")


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
    check_range(kernel, "m", m, 1)
    for name, value in (("k", k), ("n", n)):
        if not 1 <= value <= MAX_DIM:
            raise ParameterError(
                f"{kernel}: {name}={value} outside 1..{MAX_DIM} (torch_npu's limit)"
            )
    return m, k, n


def _check_tiles(kernel: str, params: Mapping[str, Any]) -> None:
    tile_k, tile_n = int(params["tile_k"]), int(params["tile_n"])
    if tile_n < 0 or tile_n % TILE_N_MULTIPLE:
        raise ParameterError(
            f"{kernel}: tile_n={tile_n} must be a multiple of {TILE_N_MULTIPLE} (0 = auto)"
        )
    if tile_k < 0 or tile_k % FRACTAL:
        raise ParameterError(
            f"{kernel}: tile_k={tile_k} must be a multiple of {FRACTAL} (0 = auto)"
        )


def _check_launch(kernel: str, params: Mapping[str, Any], chip: ChipProfile, launch: str) -> None:
    """gm_misalign and cores against ``chip``'s GM alignment and ``launch``'s blocks."""
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


def _check_common(
    kernel: str, params: Mapping[str, Any], chip: ChipProfile, launch: str
) -> tuple[int, int, int]:
    """The limits both GEMMs share and no tile size changes; (m, k, n)."""
    shape = _shape(kernel, params)
    _check_tiles(kernel, params)
    _check_launch(kernel, params, chip, launch)
    check_seed(kernel, params)
    return shape


def _check_fp16(params: Mapping[str, Any], chip: ChipProfile) -> None:
    kernel = FP16_KERNEL
    _, k, n = _check_common(kernel, params, chip, "cube")
    if k % FRACTAL or n % FRACTAL:
        raise ParameterError(
            f"{kernel}: k={k} and n={n} must be multiples of {FRACTAL} (the AIC has no vector "
            "unit to zero-pad fp16 weight tiles)"
        )


def _check_int4(params: Mapping[str, Any], chip: ChipProfile) -> None:
    kernel = INT4_KERNEL
    _, k, n = _check_common(kernel, params, chip, "mix")
    if n % int4_pack.VALUES_PER_INT32:
        raise ParameterError(
            f"{kernel}: n={n} must be a multiple of 8 (int4 packing puts 8 values in an int32)"
        )
    _check_group(kernel, k, int(params["group_size"]))
    _check_choice(kernel, params, "layout", int4_pack.LAYOUTS)
    _check_choice(kernel, params, "pool", POOLS)
    _check_choice(kernel, params, "tail_copy", TAIL_COPIES)


def _check_group(kernel: str, k: int, group_size: int) -> None:
    if group_size and (group_size % GROUP_MULTIPLE or not GROUP_MULTIPLE <= group_size <= k - 1):
        raise ParameterError(
            f"{kernel}: group_size={group_size} must be 0 (per channel) or a multiple of "
            f"{GROUP_MULTIPLE} in [{GROUP_MULTIPLE}, K-1={k - 1}] (antiquant_group_size)"
        )


def _l0_chunk(
    kernel: str, chip: ChipProfile, m: int, tile_rows: int, tile_cols: int, buffers: int
) -> int:
    """The largest K chunk (a multiple of 16 dividing the tile) whose L0A (ZZ)
    and L0B (ZN) buffers, in whole fractals, fit; raises naming the space when
    not even 16 rows fit."""
    l0a, l0b = chip.space_capacity("L0A"), chip.space_capacity("L0B")
    for rows in range(tile_rows, 0, -FRACTAL):
        if tile_rows % rows:
            continue
        a_bytes = buffers * fractal.nz_bytes(m, rows, FP16_BYTES)
        b_bytes = buffers * fractal.zn_bytes(rows, tile_cols, FP16_BYTES)
        if a_bytes <= l0a and b_bytes <= l0b:
            return rows
    a_bytes = buffers * fractal.nz_bytes(m, FRACTAL, FP16_BYTES)
    if a_bytes > l0a:
        raise ParameterError(
            f"{kernel}: L0A tile {a_bytes} B (m={m} padded to {fractal.padded(m)} rows x "
            f"{FRACTAL} fp16 x {buffers} buffers) exceeds {chip.name}'s {l0a} B L0A"
        )
    b_bytes = buffers * fractal.zn_bytes(FRACTAL, tile_cols, FP16_BYTES)
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
    dequant_tile: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The :class:`GemmPlan` fields; ``ub_bytes`` (None: no AIV) is checked
    against the UB budget between the L0 and the L1 checks; ``dequant_tile``
    (int4 only) is the packed bytes and fp16 UB columns of a full tile."""
    m, k, n = (int(params[name]) for name in ("m", "k", "n"))
    tile_k, tile_n = int(params["tile_k"]), int(params["tile_n"])
    cores = int(params["cores"])
    buffers = _buffers(params)
    check = bool(params["check_capacity"])
    tile_rows, tile_cols = _tile_extent(params)
    where = f"tile_n={tile_n}, tile_k={tile_k}"
    l0_k = _l0_chunk(kernel, chip, m, tile_rows, tile_cols, buffers)
    l0c = buffers * fractal.l0c_bytes(m, tile_cols)
    if l0c > chip.space_capacity("L0C"):
        raise ParameterError(
            f"{kernel}: L0C tile {l0c} B (m={m} padded to {fractal.padded(m)} rows x "
            f"tile_n={tile_cols} fp32 x {buffers} buffers) exceeds {chip.name}'s "
            f"{chip.space_capacity('L0C')} B L0C"
        )
    w_l1 = buffers * fractal.nz_bytes(tile_rows, tile_cols, FP16_BYTES)
    x_whole = fractal.nz_bytes(m, k, FP16_BYTES)
    resident = bool(params["x_resident"]) and x_whole + w_l1 <= chip.space_capacity("L1")
    l1 = w_l1 + (x_whole if resident else buffers * fractal.nz_bytes(m, tile_rows, FP16_BYTES))
    if check and ub_bytes is not None and ub_bytes > chip.ub_safe_budget:
        raise ParameterError(
            f"{kernel}: UB footprint {ub_bytes} B exceeds {chip.name}'s {chip.ub_safe_budget} B "
            f"UB budget ({chip.space_capacity('UB')} B less {chip.ub_scratch_bytes} B that "
            f"built-in APIs use as scratch; {where})"
        )
    if check and l1 > chip.space_capacity("L1"):
        raise _capacity_error(kernel, chip, "L1", l1, f"m={m}, {where}")
    n_tiles = -(-n // tile_n)
    packed_bytes, ub_cols = dequant_tile if dequant_tile else (None, tile_cols)
    pitch = n if dequant_tile is None else tile_cols
    tile_work = TileWork(
        m, tile_rows, tile_cols, buffers, packed_bytes, ub_cols, l0_k, pitch, resident
    )
    hbm_bytes = weight_bytes + m * k * FP16_BYTES + m * n * FP16_BYTES
    footprint = {
        "L1": l1,
        "L0A": buffers * fractal.nz_bytes(m, l0_k, FP16_BYTES),
        "L0B": buffers * fractal.zn_bytes(l0_k, tile_cols, FP16_BYTES),
        "L0C": l0c,
    }
    if ub_bytes is not None:
        footprint["UB"] = ub_bytes
    k_tiles = -(-k // tile_k)
    blocks = cores or fastest_blocks(chip, launch, tile_work, n_tiles, k_tiles, hbm_bytes)
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
        blocks=blocks,
        x_resident=resident,
        check_capacity=check,
        footprint=footprint,
        estimate_ps=launch_time_ps(chip, launch, tile_work, n_tiles, k_tiles, hbm_bytes, blocks),
    )


def _tile_k_options(params: Mapping[str, Any]) -> list[int]:
    """``tile_k``, or with ``tile_k=0`` the depths the planner tries: powers
    of two from 64 below K padded to 16 rows, then K padded itself, up to 2048."""
    tile_k = int(params["tile_k"])
    if tile_k:
        return [tile_k]
    whole = align_up(int(params["k"]), FRACTAL)
    depths = [depth for depth in AUTO_TILE_K if depth < whole]
    return depths + [whole] if whole <= AUTO_TILE_K[-1] else depths


def _fastest_tiles(
    kernel: str,
    params: Mapping[str, Any],
    chip: ChipProfile,
    launch: str,
    plan_with: Callable[[Mapping[str, Any]], PlanT],
) -> PlanT:
    """``plan_with(params)``, or with ``tile_n=0`` and/or ``tile_k=0`` the plan
    of the tile the cost model finishes soonest with, the largest of equals
    (fewer tiles, fewer events). The depths are :func:`_tile_k_options`; the
    widths tried are whole 512 B of fp16 columns (256 on 910B) up to N and
    1024, so every column tile's rows of y, scale and offset start on the GM
    alignment copies need for full bandwidth (and ALN003 stays quiet on a
    healthy run); when those give fewer tiles than half the cube cores, or
    none fits, narrower multiples of 64 are tried too, and the model weighs the
    idle cores against copies off 512 B."""
    if int(params["tile_n"]) and int(params["tile_k"]):
        return plan_with(params)
    n = int(params["n"])
    if int(params["tile_n"]):
        width_sets = [[int(params["tile_n"])]]
    else:
        aligned = max(TILE_N_MULTIPLE, chip.gm_alignment // FP16_BYTES)
        steps = [aligned] if -(-n // aligned) * 2 >= max_blocks(chip, launch) else []
        width_sets = [
            list(range(step, max(step, min(AUTO_TILE_N_MAX, align_up(n, step))) + 1, step))
            for step in [*steps, TILE_N_MULTIPLE]
        ]
    plans: list[PlanT] = []
    refusals: list[str] = []
    for widths in width_sets:
        for tile_n in widths:
            for tile_k in _tile_k_options(params):
                try:
                    plans.append(plan_with({**params, "tile_n": tile_n, "tile_k": tile_k}))
                except ParameterError as error:
                    refusals.append(str(error))
        if plans:
            return min(plans, key=lambda plan: (plan.estimate_ps, -plan.tile_n, -plan.tile_k))
    raise ParameterError(f"{kernel}: no tile fits ({refusals[0]})")


def plan_fp16(params: Mapping[str, Any], chip: ChipProfile) -> GemmPlan:
    """Check ``fp16_gemm``'s ``params`` against ``chip`` and derive the tiling;
    raises :class:`ParameterError` naming the limit a parameter set breaks."""
    # Checked before any tile is tried: a value wrong whatever the tile is
    # refused as itself, not as "no tile fits".
    _check_fp16(params, chip)
    return _fastest_tiles(FP16_KERNEL, params, chip, "cube", lambda tiled: _plan_fp16(tiled, chip))


def plan_int4(params: Mapping[str, Any], chip: ChipProfile) -> Int4Plan:
    """Check ``int4_gemm``'s ``params`` against ``chip`` and derive the tiling
    and UB buffers; raises :class:`ParameterError` naming the broken limit."""
    _check_int4(params, chip)  # before any tile is tried, as in plan_fp16
    return _fastest_tiles(INT4_KERNEL, params, chip, "mix", lambda tiled: _plan_int4(tiled, chip))


def _plan_fp16(params: Mapping[str, Any], chip: ChipProfile) -> GemmPlan:
    """The plan of one tile size, of parameters :func:`_check_fp16` passed."""
    kernel = FP16_KERNEL
    k, n = int(params["k"]), int(params["n"])
    fields = _cube_plan(
        kernel, params, chip, launch="cube", tail_copy="pad", weight_bytes=k * n * 2, ub_bytes=None
    )
    return GemmPlan(**fields)


def _plan_int4(params: Mapping[str, Any], chip: ChipProfile) -> Int4Plan:
    """The plan of one tile size, of parameters :func:`_check_int4` passed."""
    kernel = INT4_KERNEL
    k, n = int(params["k"]), int(params["n"])
    group_size = int(params["group_size"])
    layout, pool, tail_copy = (str(params[name]) for name in ("layout", "pool", "tail_copy"))
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
        dequant_tile=(packed_tile, ub_cols),
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
