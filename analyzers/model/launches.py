"""Kernel launches and the modelled time of a trace."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ubscope.analyzers.model.cached import cached_property
from ubscope.probe.event_table import EventTable
from ubscope.probe.events import EventKind


class LaunchModel:
    """The launches of one trace; ``kernel`` names events outside any launch."""

    def __init__(self, table: EventTable, kernel: str | None):
        self.table = table
        self.kernel = kernel
        # where ``table`` keeps only some of the trace's events (a streamed
        # analysis), the latest modelled time any of the trace's events reaches,
        # measured as they went by: the end of a launch cut short
        self.trace_end_ps: int | None = None

    @cached_property
    def launches(self) -> pd.DataFrame:
        """[name, mode, block_dim, start_ps, end_ps, first_seq, last_seq] per kernel launch
        (a launch cut short by a truncated trace ends at its last recorded event)."""
        table = self.table
        launches = table.launches()
        seq = table.column("seq")
        open_ended = launches.end_row < 0
        end_rows = np.where(open_ended, len(table) - 1, launches.end_row)
        return pd.DataFrame(
            {
                "name": table.labels("name")[launches.name].astype(str),
                "mode": table.labels("tag")[launches.mode].astype(str),
                "block_dim": launches.block_dim,
                "start_ps": launches.start_ps,
                "end_ps": np.where(open_ended, self.modelled_end_ps, launches.end_ps),
                "first_seq": seq[launches.rows],
                "last_seq": seq[end_rows],
            }
        )

    @cached_property
    def launched_blocks(self) -> int | None:
        """The most blocks a launch ran on (None without a launch): the core count
        a kernel's ``cores=0`` (as many as suit the shape) resolved to."""
        block_dims = self.launches["block_dim"]
        return int(block_dims.max()) if len(block_dims) else None

    @cached_property
    def modelled_end_ps(self) -> int:
        """The latest modelled time any event reaches (a KERNEL_END event sits at
        its launch's end; its dur_ps is the launch's length, not its own)."""
        if self.trace_end_ps is not None:
            return self.trace_end_ps
        table = self.table
        if not len(table):
            return 0
        ends = table.column("start_ps") + table.column("dur_ps")
        kernel_ends = table.rows(EventKind.KERNEL_END)
        ends[kernel_ends] = table.column("start_ps")[kernel_ends]
        return int(ends.max())

    @cached_property
    def modelled_time_ps(self) -> int:
        """Sum of the launches' modelled durations."""
        launches = self.launches
        return int((launches["end_ps"] - launches["start_ps"]).sum()) if len(launches) else 0

    def launch_of(self, rows: np.ndarray) -> np.ndarray:
        """The index of the launch each event row belongs to (events before the
        first launch count with it; 0 without launches)."""
        firsts = self.launches["first_seq"].to_numpy()
        seq = self.table.column("seq")[rows]
        return np.maximum(np.searchsorted(firsts, seq, "right") - 1, 0).astype(np.int64)

    def kernel_of(self, row: int) -> str | None:
        """The name of the launch an event row belongs to."""
        firsts = self.launches["first_seq"].to_numpy()
        if not firsts.size:
            return self.kernel
        seq = self.table.column("seq")[row]  # a streamed trace keeps a few events
        index = max(0, int(np.searchsorted(firsts, seq, "right")) - 1)
        return str(self.launches["name"].iloc[index])
