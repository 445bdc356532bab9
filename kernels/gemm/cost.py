"""What a GEMM run costs without running it: the GM traffic its math needs,
its weight bytes, and the events and host memory of a traced run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ubscope.kernels.gemm.l0_loads import loads_per_chunk
from ubscope.kernels.gemm.plan import GemmPlan, plan_fp16, plan_int4
from ubscope.probe.chip import ChipProfile
from ubscope.probe.estimate import CHECK_CHUNK_BYTES, Estimate, estimate

# Events (counted on recorded runs) of a weight tile (AIV dequantization and
# workspace hand-over, or the AIC's own copy), a column tile and a block, by
# kernel; of each L0 chunk a tile is multiplied in besides its LoadData calls
# (the Mmad); and of each weight row of a ragged column tile moved with plain
# DataCopy (one per row).
INT4_EVENTS_PER_TILE_COLUMN_BLOCK = (5, 50, 36)
FP16_EVENTS_PER_TILE_COLUMN_BLOCK = (1, 18, 9)
EVENTS_PER_L0_CHUNK = 1
EVENTS_PER_RAGGED_ROW = 3
# Host bytes per weight value that packing needs at its peak (int64 and
# uint32 temporaries for nd, a padded uint8 copy for block16; whole runs
# measured about 12.5 (nd, 8192 x 8192) and 2.9 (block16, 16384 x 16384)
# bytes per weight value in all).
PACKING_BYTES = {"nd": 10, "block16": 1}


def int4_weight_bytes(k: int, n: int, group_size: int) -> int:
    """int4 K x N / 2 plus fp16 scale and offset rows."""
    groups = -(-k // group_size) if group_size else 1
    return -(-k * n // 2) + 2 * groups * n * 2


def fp16_weight_bytes(k: int, n: int) -> int:
    return k * n * 2


def minimal_traffic(m: int, k: int, n: int, weight_bytes: int) -> dict[str, int]:
    """GM bytes the math needs: x, the weights (with scale/offset) read once,
    y written once. The dequantized-weight workspace is L2-resident and not counted."""
    return {"read": m * k * 2 + weight_bytes, "write": m * n * 2}


def _events(plan: GemmPlan, per_tile_column_block: tuple[int, int, int]) -> int:
    tiles = plan.n_tiles * plan.k_tiles
    chunks = tiles * -(-plan.tile_rows // plan.l0_k)
    per_chunk = EVENTS_PER_L0_CHUNK + loads_per_chunk(
        plan.m, plan.l0_k, plan.tile_cols, plan.weight_pitch
    )
    per_tile, per_column, per_block = per_tile_column_block
    events = (
        per_tile * tiles + per_chunk * chunks + per_column * plan.n_tiles + per_block * plan.blocks
    )
    if plan.tail_copy == "datacopy" and plan.n % plan.tile_n:
        events += EVENTS_PER_RAGGED_ROW * plan.k
    return events


def _activation_host_bytes(plan: GemmPlan) -> int:
    """x (its float64 draw, fp16, GM), y and a checked slice."""
    return plan.m * plan.k * (8 + 2 * 2) + plan.m * plan.n * 2 + CHECK_CHUNK_BYTES


def _estimate(plan: GemmPlan, events: int, weight_host_bytes: int) -> Estimate:
    host = _activation_host_bytes(plan) + weight_host_bytes
    values = plan.m * plan.k + plan.k * plan.n + plan.m * plan.n
    return estimate(events, host, plan.m * plan.k * plan.n, values)


def estimate_int4(params: Mapping[str, Any], chip: ChipProfile) -> Estimate:
    """Events per weight tile, per L0 chunk, per column tile and per block;
    host memory: x, y, a checked slice and the weights (int8 values, packing
    temporaries, packed and in GM)."""
    plan = plan_int4(params, chip)
    weights = plan.k * plan.n
    packing = weights * (1 + PACKING_BYTES[plan.layout] + 1)
    return _estimate(plan, _events(plan, INT4_EVENTS_PER_TILE_COLUMN_BLOCK), packing)


def estimate_fp16(params: Mapping[str, Any], chip: ChipProfile) -> Estimate:
    """As :func:`estimate_int4`; the weights are the float64 draw, fp16 and GM."""
    plan = plan_fp16(params, chip)
    weights = plan.k * plan.n * (8 + 2 * 2)
    return _estimate(plan, _events(plan, FP16_EVENTS_PER_TILE_COLUMN_BLOCK), weights)
