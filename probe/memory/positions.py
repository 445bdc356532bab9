"""Ascend C's ``TPosition``: the logical place a queue's buffers live in, and
the physical memory space each position maps to. Traces record the position
as its integer value (``arg2`` of QUEUE_INIT events)."""

from __future__ import annotations

import enum

from ubscope.probe.events import Space


class TPosition(enum.IntEnum):
    """Ascend C queue positions."""

    VECIN = 0
    VECOUT = 1
    VECCALC = 2
    A1 = 3
    B1 = 4
    A2 = 5
    B2 = 6
    CO1 = 7
    CO2 = 8


POSITION_SPACE = {
    TPosition.VECIN: Space.UB,
    TPosition.VECOUT: Space.UB,
    TPosition.VECCALC: Space.UB,
    TPosition.A1: Space.L1,
    TPosition.B1: Space.L1,
    TPosition.A2: Space.L0A,
    TPosition.B2: Space.L0B,
    TPosition.CO1: Space.L0C,
    TPosition.CO2: Space.GM,
}
