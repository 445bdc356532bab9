"""Vector-unit operations on UB tensors (Add, Mul, Exp, Cast, ReduceSum, ...).

Each op computes its real result with numpy in the operands' dtypes, writes
it into the destination's bytes, and records one COMPUTE event with the
elements processed as FLOPs and its first two source operands in the source
columns and ``arg2``. Operands must be 32 B aligned; a destination that partly (not fully)
overlaps a source is flagged, since the device supports only 100 % overlap
within an iteration.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ubscope.probe.errors import EmulationError
from ubscope.probe.events import Flag, Space
from ubscope.probe.memory.arena import LocalTensor


def _overlap_flags(dst: LocalTensor, nbytes: int, sources: tuple[LocalTensor, ...]) -> int:
    for src in sources:
        if src.arena is dst.arena and src.addr != dst.addr:
            if src.addr < dst.addr + nbytes and dst.addr < src.addr + src.nbytes:
                return int(Flag.PARTIAL_OVERLAP)
    return 0


def apply(
    op: str,
    dst: LocalTensor,
    sources: tuple[LocalTensor, ...],
    count: int,
    fn: Callable[..., np.ndarray],
    ops_per_element: int = 1,
    tag: str | None = None,
    out_count: int | None = None,
) -> None:
    """Run ``fn`` on the first ``count`` elements of ``sources`` into the first
    ``out_count`` (default ``count``) elements of ``dst``."""
    core = dst.core
    out_bytes = (count if out_count is None else out_count) * dst.dtype.itemsize
    if dst.addr + out_bytes > dst.arena.limit:
        raise EmulationError(f"{core.label}: {op} writes beyond the red zone")
    flags = core.check_placement(dst, out_bytes)
    for src in sources:
        if src.core is not core:
            raise EmulationError(
                f"{op}: operand '{src.name}' is on {src.core.label}, not {core.label}"
            )
        if src.addr % src.arena.alignment:
            flags |= Flag.MISALIGNED
    flags |= _overlap_flags(dst, out_bytes, sources)
    inputs = [
        src.arena.data[src.addr : src.addr + count * src.dtype.itemsize].view(src.dtype)
        for src in sources
    ]
    with np.errstate(all="ignore"):
        result = fn(*inputs)
    dst.arena.data[dst.addr : dst.addr + out_bytes].view(dst.dtype)[:] = result
    touched = out_bytes + sum(count * s.dtype.itemsize for s in sources)
    width = max([dst.dtype.itemsize] + [s.dtype.itemsize for s in sources])
    duration = core.cost.vector(count, width, ops_per_element)
    start = core.issue("V", duration, tuple(s.key for s in sources), (dst.key,))
    # The first three sources (all in UB): a buffer only ever read, such as a
    # scale or gamma tile that is every Mul's second operand, counts as used.
    first = sources[0] if sources else None
    second = sources[1].addr if len(sources) > 1 else None
    third = sources[2].addr if len(sources) > 2 else None
    core.recorder.compute(
        core.kind,
        core.index,
        dst.space,
        dst.addr,
        touched,
        op,
        count * ops_per_element,
        core.tag if tag is None else tag,
        start,
        duration,
        int(flags),
        out_bytes,
        first.space if first is not None else Space.NONE,
        first.addr if first is not None else 0,
        second,
        third,
    )


def add(dst: LocalTensor, a: LocalTensor, b: LocalTensor, count: int) -> None:
    apply("Add", dst, (a, b), count, np.add)


def sub(dst: LocalTensor, a: LocalTensor, b: LocalTensor, count: int) -> None:
    apply("Sub", dst, (a, b), count, np.subtract)


def mul(dst: LocalTensor, a: LocalTensor, b: LocalTensor, count: int) -> None:
    apply("Mul", dst, (a, b), count, np.multiply)


def div(dst: LocalTensor, a: LocalTensor, b: LocalTensor, count: int) -> None:
    apply("Div", dst, (a, b), count, np.divide)


def maximum(dst: LocalTensor, a: LocalTensor, b: LocalTensor, count: int) -> None:
    apply("Max", dst, (a, b), count, np.maximum)


def adds(dst: LocalTensor, src: LocalTensor, scalar: float, count: int) -> None:
    apply("Adds", dst, (src,), count, lambda x: x + np.asarray(scalar, dtype=x.dtype))


def muls(dst: LocalTensor, src: LocalTensor, scalar: float, count: int) -> None:
    apply("Muls", dst, (src,), count, lambda x: x * np.asarray(scalar, dtype=x.dtype))


def exp(dst: LocalTensor, src: LocalTensor, count: int) -> None:
    apply("Exp", dst, (src,), count, np.exp, ops_per_element=4)


def sqrt(dst: LocalTensor, src: LocalTensor, count: int) -> None:
    apply("Sqrt", dst, (src,), count, np.sqrt, ops_per_element=4)


def reciprocal(dst: LocalTensor, src: LocalTensor, count: int) -> None:
    apply("Reciprocal", dst, (src,), count, np.reciprocal, ops_per_element=2)


def cast(dst: LocalTensor, src: LocalTensor, count: int) -> None:
    """``Cast``: convert element type (fp16 <-> fp32, int8 -> fp16, ...)."""
    apply("Cast", dst, (src,), count, lambda x: x.astype(dst.dtype))


def duplicate(dst: LocalTensor, value: float, count: int) -> None:
    """``Duplicate``: fill with a scalar."""
    apply("Duplicate", dst, (), count, lambda: np.full(count, value, dtype=dst.dtype))


def reduce_sum(dst: LocalTensor, src: LocalTensor, count: int) -> None:
    """``ReduceSum``: the sum of ``count`` elements into ``dst[0]`` (accumulated in fp32)."""
    apply(
        "ReduceSum",
        dst,
        (src,),
        count,
        lambda x: np.asarray([x.astype(np.float32).sum()], dtype=dst.dtype),
        out_count=1,
    )


def reduce_max(dst: LocalTensor, src: LocalTensor, count: int) -> None:
    apply(
        "ReduceMax",
        dst,
        (src,),
        count,
        lambda x: np.asarray([x.max()], dtype=dst.dtype),
        out_count=1,
    )


def gather(dst: LocalTensor, src: LocalTensor, byte_offsets: LocalTensor, count: int) -> None:
    """``Gather``: ``dst[i] = src[byte_offsets[i] / sizeof(T)]`` within ``src``."""
    item = src.dtype.itemsize
    table = src.arena.data[src.addr : src.addr + src.nbytes].view(src.dtype)

    def pick(_values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        index = offsets.astype(np.int64) // item
        if index.size and (index.min() < 0 or index.max() >= table.size):
            raise EmulationError(f"Gather offset outside '{src.name}'")
        return table[index]

    apply("Gather", dst, (src[0:count], byte_offsets), count, pick, ops_per_element=2)


def scatter(dst: LocalTensor, src: LocalTensor, byte_offsets: LocalTensor, count: int) -> None:
    """``Scatter``: ``dst[byte_offsets[i] / sizeof(T)] = src[i]`` for ``i < count``,
    leaving the other elements of ``dst`` as they were."""
    item = dst.dtype.itemsize

    def place(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        tile = dst.array.copy()
        index = offsets.astype(np.int64) // item
        if index.size and (index.min() < 0 or index.max() >= tile.size):
            raise EmulationError(f"Scatter offset outside '{dst.name}'")
        tile[index] = values
        return tile

    apply(
        "Scatter",
        dst,
        (src[0:count], byte_offsets[0:count]),
        count,
        place,
        ops_per_element=2,
        out_count=dst.size,
    )
