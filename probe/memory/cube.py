"""The cube unit: ``Mmad`` into L0C with fp32 accumulation, and ``Fixpipe``
from L0C out to GM with conversion.

Tiles are kept row-major (ND) in L0A/L0B/L0C. The device uses fractal (zZ/nZ)
layouts there; the layout changes no byte counts, capacities or alignments,
which is what ubscope models.
"""

from __future__ import annotations

import numpy as np

from ubscope.probe.errors import EmulationError
from ubscope.probe.events import Flag, Space
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.gm import GlobalTensor


def mmad(
    c: LocalTensor,
    a: LocalTensor,
    b: LocalTensor,
    m: int,
    k: int,
    n: int,
    accumulate: bool,
    tag: str | None = None,
) -> None:
    """``Mmad``: ``c[m, n] (+)= a[m, k] @ b[k, n]``, accumulated in fp32."""
    if (a.space, b.space, c.space) != (Space.L0A, Space.L0B, Space.L0C):
        raise EmulationError("mmad takes a in L0A, b in L0B and c in L0C")
    core = c.core
    flags = core.check_placement(c, m * n * c.dtype.itemsize)
    for operand in (a, b):
        if operand.addr % operand.arena.alignment:
            flags |= Flag.MISALIGNED
    lhs = a.array[: m * k].reshape(m, k).astype(np.float32)
    rhs = b.array[: k * n].reshape(k, n).astype(np.float32)
    out = c.arena.data[c.addr : c.addr + m * n * 4].view(np.float32).reshape(m, n)
    product = lhs @ rhs
    out[...] = out + product if accumulate else product
    flops = 2 * m * k * n
    duration = core.cost.mmad(m, k, n, a.dtype.itemsize)
    start = core.issue("M", duration, (a.key, b.key) + ((c.key,) if accumulate else ()), (c.key,))
    core.recorder.compute(
        core.kind,
        core.index,
        c.space,
        c.addr,
        (m * k + k * n) * a.dtype.itemsize + m * n * 4,
        "Mmad",
        flops,
        core.tag if tag is None else tag,
        start,
        duration,
        int(flags),
        m * n * 4,
    )


def fixpipe(
    dst: GlobalTensor, src: LocalTensor, m: int, n: int, dst_row_stride: int, tag: str | None = None
) -> None:
    """``Fixpipe``: write the fp32 ``src[m, n]`` tile from L0C to GM rows of
    ``dst_row_stride`` elements, converting to ``dst``'s dtype."""
    core = src.core
    if src.space != Space.L0C:
        raise EmulationError("fixpipe reads from L0C")
    tile = src.arena.data[src.addr : src.addr + m * n * 4].view(np.float32).reshape(m, n)
    item = dst.dtype.itemsize
    flags = Flag.GM_UNALIGNED if dst.addr % 512 else Flag.NONE
    if dst.buffer.workspace:
        flags |= Flag.WORKSPACE
    data = dst.buffer.data
    rows = dst.offset + np.arange(m)[:, None] * dst_row_stride * item + np.arange(n * item)[None, :]
    if rows.size and rows.max() >= data.size:
        raise EmulationError(f"fixpipe writes past the end of GM tensor '{dst.name}'")
    data[rows.ravel()] = tile.astype(dst.dtype).view(np.uint8).ravel()
    moved = m * n * item
    duration = core.cost.gm_copy(dst, m, n * item, dst_row_stride * item, write=True)
    gm_key = ("GM", dst.buffer.name, dst.offset)
    start = core.issue("FIX", duration, (src.key,), (gm_key,), core.cost.gm_latency_ps)
    core.recorder.copy(
        core.kind,
        core.index,
        Space.L0C,
        src.addr,
        Space.GM,
        dst.addr,
        moved,
        moved,
        n * item,
        m,
        dst.name,
        core.tag if tag is None else tag,
        start,
        duration,
        int(flags),
        src.name,
    )
