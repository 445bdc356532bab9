"""How many blocks a GEMM launch takes when ``cores=0``: the count the cost
model finishes soonest with.

Each block owns whole column tiles, so a block count only matters through the
most column tiles one block gets. For each count the estimate is the launch
overhead plus the larger of the HBM roof (weights, x once, y: re-reads of x by
other blocks hit L2) and one block's tiles times the slowest pipe stage of a
tile (with double buffering the stages overlap, with single buffering they add
up) plus the pipeline's fill (the first tile's other stages and a GM latency). The stages, priced with the cost model's own figures:

* the AIC's weight copy into L1: HBM bytes for fp16_gemm, the L2-resident
  workspace for int4_gemm;
* the AIC's x rows per tile when x is not resident in L1 (L2 hits);
* the AIC's Mmad steps on whole fractals and its L1 -> L0A/L0B loads, each
  LoadData paying the on-chip latency;
* int4_gemm's AIVs, which take every other tile: the packed copy from HBM, the
  dequantizing vector ops (unpack, add, multiply) and the workspace write,
  overlapping across tiles when double-buffered.
"""

from __future__ import annotations

from dataclasses import dataclass

from ubscope.kernels.gemm.l0_loads import loads_per_chunk
from ubscope.probe.chip import ChipProfile
from ubscope.probe.costmodel import (
    PS_PER_NS,
    CostModel,
    gm_copy_ps,
    gm_sharing_cores,
    hbm_roof_ps,
    launch_overhead_ps,
)
from ubscope.probe.device import max_blocks
from ubscope.probe.memory import fractal

FP16_BYTES = 2
DEQUANT_OPS_PER_ELEMENT = 4  # unpack (2 per element), add offset, multiply scale
VECTOR_CORES_PER_BLOCK = 2  # a mix block's AIVs take the tiles in turn


@dataclass(frozen=True)
class TileWork:
    """What one full weight tile costs a block, whatever the block count."""

    m: int
    tile_rows: int
    tile_cols: int
    buffers: int
    packed_bytes: int | None  # int4 bytes an AIV reads per tile; None: fp16 from HBM
    ub_cols: int  # fp16 columns of the dequantized tile in UB
    l0_k: int  # K rows per L0 chunk
    weight_pitch: int  # elements between the GM rows of a weight tile (see l0_loads)
    x_resident: bool  # x stays in L1; otherwise each tile re-reads its rows of x

    @property
    def fp16_bytes(self) -> int:
        return self.tile_rows * self.tile_cols * FP16_BYTES


def _stage_times(chip: ChipProfile, work: TileWork, model: CostModel) -> list[int]:
    """Per-tile times of the pipe stages a block runs, in picoseconds."""
    rate = model.gm_bytes_per_s
    dequantized = work.packed_bytes is not None
    if dequantized:  # the AIC reads the dequantized tile from the L2 workspace
        weight_copy = gm_copy_ps(chip, 0, work.fp16_bytes, rate, True)
    else:  # column tiles start off 512 B in GM unless their width is whole 512 B
        aligned = work.tile_cols * FP16_BYTES % chip.gm_alignment == 0
        weight_copy = gm_copy_ps(chip, work.fp16_bytes, 0, rate, aligned)
    if not work.x_resident:  # x's rows of the tile, from L2 after the first block
        x_bytes = fractal.nz_bytes(work.m, work.tile_rows, FP16_BYTES)
        weight_copy += gm_copy_ps(chip, 0, x_bytes, rate, True)
    a_bytes = fractal.nz_bytes(work.m, work.tile_rows, FP16_BYTES)
    b_bytes = fractal.zn_bytes(work.tile_rows, work.tile_cols, FP16_BYTES)
    chunks = -(-work.tile_rows // work.l0_k)
    loads = chunks * loads_per_chunk(work.m, work.l0_k, work.tile_cols, work.weight_pitch)
    # each LoadData pays the on-chip latency; the bytes move at the routes' rates
    load_ps = model.onchip_copy("l1_to_l0a", a_bytes) + model.onchip_copy("l1_to_l0b", b_bytes)
    load_ps += (loads - 2) * round(chip.onchip_latency_ns * PS_PER_NS)
    stages = [weight_copy, model.mmad(work.m, work.tile_rows, work.tile_cols, FP16_BYTES), load_ps]
    if dequantized:
        elements = work.tile_rows * work.ub_cols
        aiv = (
            gm_copy_ps(chip, work.packed_bytes or 0, 0, rate, True),
            model.vector(elements, FP16_BYTES, DEQUANT_OPS_PER_ELEMENT),
            gm_copy_ps(chip, 0, work.fp16_bytes, rate, True),
        )
        # an AIV's copy, dequantization and write of a tile are on three pipes:
        # double-buffered they overlap across tiles, single-buffered they run
        # one after the other; the block's AIVs take the tiles in turn
        aiv_ps = max(aiv) if work.buffers > 1 else sum(aiv)
        stages.append(-(-aiv_ps // VECTOR_CORES_PER_BLOCK))
    return stages


def launch_time_ps(
    chip: ChipProfile,
    launch: str,
    work: TileWork,
    n_tiles: int,
    k_tiles: int,
    hbm_bytes: int,
    blocks: int,
) -> int:
    """The modelled time of a launch of ``blocks`` blocks sharing ``n_tiles``
    column tiles of ``k_tiles`` weight tiles each."""
    model = CostModel(chip, gm_sharing_cores(chip, launch, blocks))
    stages = _stage_times(chip, work, model)
    per_tile = max(stages) if work.buffers > 1 else sum(stages)
    tiles = -(-n_tiles // blocks) * k_tiles
    # the first tile passes every stage before the pipeline is full, and its
    # first copy's data lands a GM latency after it was issued
    fill = sum(stages) - per_tile + model.gm_latency_ps
    busy = max(tiles * per_tile + fill, hbm_roof_ps(chip, hbm_bytes))
    return launch_overhead_ps(chip, launch, blocks) + busy


def fastest_blocks(
    chip: ChipProfile, launch: str, work: TileWork, n_tiles: int, k_tiles: int, hbm_bytes: int
) -> int:
    """The fewest blocks with the least :func:`launch_time_ps`."""
    candidates = range(1, min(max_blocks(chip, launch), n_tiles) + 1)
    return min(
        candidates,
        key=lambda b: (launch_time_ps(chip, launch, work, n_tiles, k_tiles, hbm_bytes, b), b),
    )
