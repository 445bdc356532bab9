"""Blocks grouped per buffer (core kind, memory, buffer name), for the lifetime
rules that report per buffer rather than per call site."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Location
from ubscope.analyzers.model.arrays import CORE_KIND_LABELS, SPACE_LABELS, group_parts


def block_frame(ctx: TraceContext, picked: np.ndarray, **extra: np.ndarray) -> pd.DataFrame:
    """The picked blocks as a frame with core kind / space labels and name codes."""
    blocks = ctx.blocks
    kind, core, space = group_parts(blocks.gid[picked])
    frame = pd.DataFrame(
        {
            "block": picked,
            "core_kind": np.asarray(CORE_KIND_LABELS)[kind],
            "core": core,
            "space": np.asarray(SPACE_LABELS)[space],
            "name_code": blocks.name[picked],
            "row": blocks.alloc_row[picked],
            "bytes": blocks.aligned[picked],
        }
    )
    for column, values in extra.items():
        frame[column] = values
    return frame


def per_buffer(ctx: TraceContext, frame: pd.DataFrame) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    """Groups of ``frame`` per (core kind, space, buffer name), with their labels."""
    out = []
    for (kind, space, _), group in frame.groupby(["core_kind", "space", "name_code"]):
        labels = {
            "kind": kind,
            "space": space,
            "name": ctx.label("name", int(group["name_code"].iloc[0])),
            "cores": sorted({int(c) for c in group["core"]}),
        }
        out.append((labels, group))
    return out


def buffer_location(ctx: TraceContext, group: pd.DataFrame) -> Location:
    """Location of a per-buffer group of blocks: its rows, address span and first tag."""
    blocks = ctx.blocks
    picked = group["block"].to_numpy()
    return ctx.location(
        group["row"].to_numpy(),
        addr_start=int(blocks.addr[picked].min()),
        addr_end=int(blocks.end[picked].max()),
        tag=ctx.label("tag", int(blocks.tag[picked[0]])) or None,
    )
