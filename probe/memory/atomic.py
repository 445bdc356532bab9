"""Atomic copies into GM: ``SetAtomicAdd<T>`` / ``SetAtomicMax<T>`` /
``SetAtomicMin<T>`` and ``SetAtomicNone``.

The mode is a setting of each core (none when a launch starts). While it is
set, every copy from an on-chip memory into GM (``DataCopy``, ``DataCopyPad``,
``Fixpipe``) combines each element it moves with the one GM holds there, in T,
whatever the copy's own element type: the bytes moved read as T from each
burst's first byte, as the CPU twin does (docs/ascendc-twin.md). Half sums are
taken in float and rounded once to half; integers wrap; max and min give NaN
where either side is NaN. GM is not cleared first, and blocks combine in block
order. An element that would end past the GM buffer is dropped whole.

The copies are recorded as usual, flagged ``ATOMIC``: the analysis counts the
read of GM each makes (docs/trace-format.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from ubscope.probe.errors import EmulationError
from ubscope.probe.memory.strided import write_view

if TYPE_CHECKING:
    from ubscope.probe.device import Core

AtomicOp = Literal["add", "max", "min"]

# The element types of Atlas A2's atomic copies that numpy has (no bfloat16).
ATOMIC_DTYPES = tuple(np.dtype(t) for t in (np.int8, np.int16, np.float16, np.int32, np.float32))


@dataclass(frozen=True)
class AtomicMode:
    """How a core's copies into GM combine with GM: ``op`` ("add", "max" or
    "min") in ``dtype``."""

    op: AtomicOp
    dtype: np.dtype

    def combine(self, held: np.ndarray, incoming: np.ndarray) -> np.ndarray:
        """The bytes GM holds after ``incoming`` (bytes, whole elements of
        :attr:`dtype`) lands on ``held`` (the same number of bytes)."""
        old, new = held.view(self.dtype), incoming.view(self.dtype)
        if self.op == "add":
            if self.dtype == np.float16:
                result = (old.astype(np.float32) + new.astype(np.float32)).astype(np.float16)
            else:
                result = old + new  # float32 rounds once; integers wrap
        elif self.op == "max":
            result = np.maximum(old, new)
        else:
            result = np.minimum(old, new)
        return result.view(np.uint8)


def set_atomic(core: Core, op: AtomicOp, dtype: np.dtype | type) -> None:
    """Set ``core``'s copies into GM to combine with GM by ``op`` in ``dtype``."""
    element = np.dtype(dtype)
    if element not in ATOMIC_DTYPES:
        names = ", ".join(str(t) for t in ATOMIC_DTYPES)
        raise EmulationError(f"{core.label}: atomic {op} in {element} (atomic types: {names})")
    core.atomic = AtomicMode(op, element)


def set_atomic_add(core: Core, dtype: np.dtype | type) -> None:
    """``SetAtomicAdd<T>()`` on ``core``: later copies into GM add to GM in ``dtype``."""
    set_atomic(core, "add", dtype)


def set_atomic_max(core: Core, dtype: np.dtype | type) -> None:
    """``SetAtomicMax<T>()`` on ``core``: later copies into GM keep the larger element."""
    set_atomic(core, "max", dtype)


def set_atomic_min(core: Core, dtype: np.dtype | type) -> None:
    """``SetAtomicMin<T>()`` on ``core``: later copies into GM keep the smaller element."""
    set_atomic(core, "min", dtype)


def set_atomic_none(core: Core) -> None:
    """``SetAtomicNone()`` on ``core``: copies into GM overwrite it again."""
    core.atomic = None


def write_rows(
    mode: AtomicMode,
    data: np.ndarray,
    start: int,
    rows: np.ndarray,
    pitch: int,
    what: str,
    burst: int | None = None,
) -> None:
    """Land ``rows`` (bytes, one row each) in the GM buffer ``data`` from byte
    ``start``, ``pitch`` bytes apart, combined with it by ``mode``, row by row
    in order (rows that overlap combine twice, as separate bursts do). Each
    burst of ``burst`` bytes (default: a row; a ``Fixpipe`` moves one element
    per burst) must be whole elements of the mode's type; ``what`` names the
    copy in that error."""
    item, row_bytes = mode.dtype.itemsize, rows.shape[1]
    burst = row_bytes if burst is None else burst
    if burst % item:
        raise EmulationError(
            f"{what}: atomic {mode.op} in {mode.dtype}: a burst of {burst} B is not "
            f"whole {item}-byte elements"
        )
    target = write_view(data, start, rows.shape, (pitch, 1))
    if target is not None:  # every row inside the buffer, none sharing a byte: one pass
        target[...] = mode.combine(target, rows)
        return
    for index, row in enumerate(rows):
        begin = start + index * pitch
        whole = max(min(row_bytes, data.size - begin) // item * item, 0)
        if whole:
            span = slice(begin, begin + whole)
            data[span] = mode.combine(data[span], row[:whole])
