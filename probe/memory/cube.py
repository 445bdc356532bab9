"""The cube unit: ``Mmad`` into L0C with fp32 accumulation, and ``Fixpipe``
from L0C out to GM with conversion.

Operands sit in the device's fractal layouts (:mod:`.fractal`): A in L0A as
ZZ, B in L0B as ZN, C in L0C as NZ. ``Mmad`` reads and writes whole fractals,
so m, k and n are padded to them, and the padded C is what is placed.
"""

from __future__ import annotations

import numpy as np

from ubscope.probe.errors import EmulationError
from ubscope.probe.events import Flag, Space
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.atomic import write_rows
from ubscope.probe.memory.fractal import (
    FRACTAL_ROWS,
    c0,
    l0c_bytes,
    nz_bytes,
    nz_matrix,
    padded,
    to_nz,
    zn_bytes,
    zn_matrix,
    zz_matrix,
)
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.strided import write_view


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
    core, item = c.core, a.dtype.itemsize
    m_pad, n_pad, k_pad = padded(m), padded(n), padded(k, c0(item))
    c_bytes = l0c_bytes(m, n)
    flags = core.check_placement(c, c_bytes)
    for operand in (a, b):
        if operand.addr % operand.arena.alignment:
            flags |= Flag.MISALIGNED
    a_flat = a.arena.data[a.addr : a.addr + nz_bytes(m, k, item)].view(a.dtype)
    b_flat = b.arena.data[b.addr : b.addr + zn_bytes(k, n, item)].view(b.dtype)
    lhs = zz_matrix(a_flat, m, k, item)[:, :k].astype(np.float32)
    rhs = zn_matrix(b_flat, k, n, item)[:k].astype(np.float32)
    out = c.arena.data[c.addr : c.addr + c_bytes].view(np.float32)
    product = lhs @ rhs
    if accumulate:
        product += nz_matrix(out, m_pad, n_pad, FRACTAL_ROWS)
    out[...] = to_nz(product, FRACTAL_ROWS)
    flops = 2 * m * k * n
    duration = core.cost.mmad(m, k, n, item)
    start = core.issue("M", duration, (a.key, b.key) + ((c.key,) if accumulate else ()), (c.key,))
    core.recorder.compute(
        core.kind,
        core.index,
        c.space,
        c.addr,
        (m_pad * k_pad + k_pad * n_pad) * item + c_bytes,
        "Mmad",
        flops,
        core.tag if tag is None else tag,
        start,
        duration,
        int(flags),
        c_bytes,
        a.space,
        a.addr,
    )


def fixpipe(
    dst: GlobalTensor, src: LocalTensor, m: int, n: int, dst_row_stride: int, tag: str | None = None
) -> None:
    """``Fixpipe`` (NZ2ND): write the fp32 ``src[m, n]`` tile, NZ in L0C as
    ``Mmad`` left it (column blocks of m padded to 16 rows), to GM rows of
    ``dst_row_stride`` elements, converting to ``dst``'s dtype; the padding
    rows and columns stay behind."""
    core = src.core
    if src.space != Space.L0C:
        raise EmulationError("fixpipe reads from L0C")
    nz = src.arena.data[src.addr : src.addr + l0c_bytes(m, n)].view(np.float32)
    tile = nz_matrix(nz, padded(m), padded(n), FRACTAL_ROWS)[:m, :n]
    item = dst.dtype.itemsize
    flags = Flag.GM_UNALIGNED if dst.addr % 512 else Flag.NONE
    if dst.buffer.workspace:
        flags |= Flag.WORKSPACE
    data = dst.buffer.data
    values = tile.astype(dst.dtype).view(np.uint8)
    rows = write_view(data, dst.offset, (m, n * item), (dst_row_stride * item, 1))
    if core.atomic is not None:
        flags |= Flag.ATOMIC
        outgoing, pitch = values.reshape(m, n * item), dst_row_stride * item
        what = f"{core.label} fixpipe to '{dst.name}'"
        write_rows(core.atomic, data, dst.offset, outgoing, pitch, what, burst=item)
    elif rows is not None:
        rows[...] = values
    else:  # past the end, or rows that overlap (the later row wins)
        at = dst.offset + np.arange(m)[:, None] * dst_row_stride * item + np.arange(n * item)
        if at.size and at.max() >= data.size:
            raise EmulationError(f"fixpipe writes past the end of GM tensor '{dst.name}'")
        data[at.ravel()] = values.ravel()
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
