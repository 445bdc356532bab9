"""GM transfers as the traffic rules (GM001-GM003) count them."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.probe.event_table import any_of

PS_PER_S = 1e12


def transfer_rows(ctx: TraceContext, read: bool, tensor: str | None = None) -> np.ndarray:
    """Rows of HBM transfers (workspace excluded) in one direction, optionally of one tensor."""
    moves = ctx.gm_accesses
    pick = (moves["read"] == read) & ~moves["workspace"]
    if tensor is not None:
        # compare codes, not strings: labels are distinct, so the tensor has one code at most
        pick &= any_of(moves["tensor"], np.flatnonzero(ctx.labels("tensor") == tensor))
    return moves["rows"][pick]


def at_bandwidth(ctx: TraceContext, nbytes: float) -> float:
    """Picoseconds to move ``nbytes`` at the chip's full GM bandwidth."""
    return nbytes / ctx.chip.gm_bandwidth * PS_PER_S


def traffic_saving_ps(ctx: TraceContext, surplus_bytes: float) -> float:
    """What moving ``surplus_bytes`` fewer HBM bytes would take off the modelled
    time: those bytes at full bandwidth, but the kernel cannot get faster than the
    roofline of the work that remains (its FLOPs at peak, the remaining HBM bytes
    at full bandwidth), so a compute-bound kernel saves little or nothing."""
    roof = ctx.roofline
    compute_ps = roof["flops"] / roof["peak_flops"] * PS_PER_S
    floor_ps = max(compute_ps, at_bandwidth(ctx, roof["hbm_bytes"] - surplus_bytes))
    return max(0.0, min(at_bandwidth(ctx, surplus_bytes), ctx.modelled_time_ps - floor_ps))


def reload_saving_ps(ctx: TraceContext, reloaded_bytes: float, on_one_core: float) -> float:
    """What dropping ``reloaded_bytes`` of repeated reads would take off the
    modelled time. Where the cost model serves them from L2 (see
    ``TrafficModel.repeats_hit_l2``) they cost each core its L2 rate and the
    cores run side by side, so the launch saves what its busiest core reloads
    (``on_one_core``, summed over launches); otherwise they are HBM traffic
    (:func:`traffic_saving_ps`)."""
    if not ctx.repeats_hit_l2:
        return traffic_saving_ps(ctx, reloaded_bytes)
    chip = ctx.chip
    return on_one_core / (chip.l2_rate_per_core * chip.clock_hz) * PS_PER_S
