"""GM copies that start off the chip's GM alignment boundary (ALN003), per call site."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ubscope.analyzers.model.cached import cached_property
from ubscope.analyzers.model.locate import Locator
from ubscope.probe.chip import ChipProfile
from ubscope.probe.costmodel import PS_PER_NS
from ubscope.probe.event_table import EventTable
from ubscope.probe.events import EventKind, Flag, Space

# the call-site keys ALN003 groups its copies by
UNALIGNED_SITE_KEYS = ("tag", "core_kind", "tensor")


def gm_side_address(src_space: np.ndarray, src_addr: np.ndarray, addr: np.ndarray) -> np.ndarray:
    """GM address of each copy: its source when it reads GM, else its destination."""
    return np.where(src_space == Space.GM, src_addr, addr)


def misaligned_saving_ps(chip: ChipProfile, dur_ps: np.ndarray) -> np.ndarray:
    """Per GM copy, the modelled time aligning its GM address would save: a
    copy's pipe time is its issue plus its bytes, and only the bytes slow
    down (to ``chip.misaligned_gm_factor`` of the bandwidth)."""
    transfer = np.maximum(dur_ps - chip.gm_issue_ns * PS_PER_NS, 0)
    return transfer * (1 - chip.misaligned_gm_factor)


class AlignmentModel:
    """The GM_UNALIGNED copies of a trace, grouped by call site."""

    def __init__(self, table: EventTable, chip: ChipProfile, locator: Locator):
        self.table = table
        self.chip = chip
        self.locator = locator

    @cached_property
    def unaligned_gm_sites(self) -> pd.DataFrame:
        """:meth:`Locator.site_groups` of the GM_UNALIGNED copies by
        :data:`UNALIGNED_SITE_KEYS`, at their GM address, with ``moved`` (bytes)
        and ``saved`` (picoseconds aligning them would take off the kernel's
        critical path, at most its modelled time)."""
        table = self.table
        rows = table.flagged_rows(Flag.GM_UNALIGNED, EventKind.COPY)
        column = table.column
        return self.locator.site_groups(
            rows,
            UNALIGNED_SITE_KEYS,
            addr=gm_side_address(
                column("src_space")[rows], column("src_addr")[rows], column("addr")[rows]
            ),
            space=np.full(rows.size, int(Space.GM)),
            values={"moved": table.footprint()[rows]},
            critical={"saved": misaligned_saving_ps(self.chip, column("dur_ps")[rows])},
        )
