"""GM transfers as the traffic rules (GM001-GM003) count them."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers.context import TraceContext

PS_PER_S = 1e12


def transfer_rows(ctx: TraceContext, read: bool, tensor: str | None = None) -> np.ndarray:
    """Rows of HBM transfers (workspace excluded) in one direction, optionally of one tensor."""
    moves = ctx.gm_transfers
    pick = (moves["read"] == read) & ~moves["workspace"]
    if tensor is not None:
        pick &= ctx.labels("tensor")[moves["tensor"]] == tensor
    return moves["rows"][pick]


def at_bandwidth(ctx: TraceContext, nbytes: float) -> float:
    """Picoseconds to move ``nbytes`` at the chip's full GM bandwidth."""
    return nbytes / ctx.chip.gm_bandwidth * PS_PER_S
