"""Groups of events (one on-chip memory of one core) and the chip's capacities."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers.model.arrays import CORE_KIND_LABELS, SPACE_LABELS, group_id
from ubscope.analyzers.model.cached import cached_property
from ubscope.probe.chip import ChipProfile
from ubscope.probe.event_table import EventTable
from ubscope.probe.events import Space


class Groups:
    """The group id of every event and the capacity of every space."""

    def __init__(self, table: EventTable, chip: ChipProfile):
        self.table = table
        self.chip = chip

    def gid(self, rows: np.ndarray, space_column: str = "space") -> np.ndarray:
        """Group ids of ``rows`` (by their destination space, or ``src_space``)."""
        if space_column == "space":
            return self._all_gid[rows]
        table = self.table
        return group_id(
            table.column("core_kind")[rows],
            table.column("core")[rows],
            table.column(space_column)[rows],
        )

    @cached_property
    def _all_gid(self) -> np.ndarray:
        table = self.table
        return group_id(table.column("core_kind"), table.column("core"), table.column("space"))

    def capacity_of(self, space: str) -> int:
        return int(self.chip.capacity.get(space, 0))

    def capacities(self, space_codes: np.ndarray) -> np.ndarray:
        """The chip's capacity for each space code (0 for GM / none)."""
        return self.capacity_by_space[space_codes]

    @cached_property
    def capacity_by_space(self) -> np.ndarray:
        return np.array([self.capacity_of(label) for label in SPACE_LABELS], dtype=np.int64)


def gid_of(core_kind: str, core: int, space: str) -> int:
    """The group id of one core's space (core kind and space by label)."""
    kind = CORE_KIND_LABELS.index(core_kind.lower())
    return int(group_id(np.array([kind]), np.array([core]), np.array([Space[space]]))[0])


def display_times(table: EventTable, rows: np.ndarray) -> np.ndarray:
    """Modelled times of rows made non-decreasing (for plotting program-order series)."""
    times = table.column("start_ps")[rows]
    return np.maximum.accumulate(times) if times.size else times
