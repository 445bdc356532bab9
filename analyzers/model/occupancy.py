"""Occupancy: live on-chip bytes after every ALLOC/FREE, per group, and their peaks.

On-chip state is replayed in *program order* (event sequence), which is the order
the allocators saw: the cost model stamps a free with the time its data was last
used, so modelled times are not monotonic in the allocator's order. Series that
views plot carry ``t_ps`` made non-decreasing (the running maximum of the events'
modelled times).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ubscope.analyzers.model.arrays import (
    GROUP_BOUND,
    ON_CHIP_CODES,
    group_id,
    run_starts,
    small_codes,
    split_group,
    stable_order,
)
from ubscope.analyzers.model.blocks import BlockModel
from ubscope.analyzers.model.cached import cached_property
from ubscope.analyzers.model.groups import Groups, display_times, gid_of
from ubscope.probe.chip import ON_CHIP
from ubscope.probe.event_table import EventTable, any_of
from ubscope.probe.events import EventKind


@dataclass(frozen=True)
class LiveBytes:
    """Every ALLOC/FREE grouped by gid (program order inside a group)."""

    rows: np.ndarray
    gid: np.ndarray
    live: np.ndarray  # live bytes of the group after the event
    delta: np.ndarray  # bytes the event took (alloc, > 0) or released (free, <= 0)
    end: np.ndarray  # end address of the block the event took or released
    starts: np.ndarray  # position of each group's first event
    group_gids: np.ndarray  # gid of each group, ascending


class OccupancyModel:
    """Live bytes, peaks and the on-chip spaces in use, per core and space."""

    def __init__(self, table: EventTable, groups: Groups, blocks: BlockModel):
        self.table = table
        self.groups = groups
        self.block_model = blocks

    @cached_property
    def live(self) -> LiveBytes:
        table = self.table
        allocs, frees = table.allocs(), table.frees()
        rows = table.rows(EventKind.ALLOC, EventKind.FREE)
        is_free = table.column("kind")[rows] == EventKind.FREE
        # in program order, each event's position among the allocs or among the frees
        # (their accessors' order): counted, not searched
        taken = ~is_free
        index = np.where(is_free, np.cumsum(is_free) - 1, np.cumsum(taken) - 1)
        gid = self.groups.gid(rows)
        codes, distinct = small_codes(gid, GROUP_BOUND)
        order = stable_order(codes, distinct.size)
        rows, gid, is_free, taken, index = (
            rows[order],
            gid[order],
            is_free[order],
            taken[order],
            index[order],
        )
        # an alloc takes its aligned block; a free releases what its allocation took
        # (an unmatched free releases nothing)
        released = np.zeros(len(frees), dtype=np.int64)
        blocks = self.block_model.blocks
        freed = blocks.free_row >= 0
        released[np.searchsorted(frees.rows, blocks.free_row[freed])] = blocks.aligned[freed]
        delta = np.empty(rows.size, dtype=np.int64)
        delta[is_free] = -released[index[is_free]]
        delta[taken] = allocs.aligned_size[index[taken]]
        total = np.cumsum(delta)
        starts = run_starts(gid)
        lengths = np.diff(np.append(starts, gid.size))
        before = np.repeat(np.concatenate([[0], total])[starts], lengths)
        return LiveBytes(
            rows=rows,
            gid=gid,
            live=total - before,
            delta=delta,
            end=table.column("addr")[rows] + np.abs(delta),
            starts=starts,
            group_gids=gid[starts],
        )

    def group_slice(self, gid: int) -> slice:
        """The positions of one group's events in :attr:`live`."""
        live = self.live
        starts, group_gids = live.starts, live.group_gids
        index = int(np.searchsorted(group_gids, gid)) if starts.size else 0
        if index >= starts.size or group_gids[index] != gid:
            return slice(0, 0)
        stop = starts[index + 1] if index + 1 < starts.size else live.gid.size
        return slice(int(starts[index]), int(stop))

    def occupancy(self, core_kind: str, core: int, space: str) -> pd.DataFrame:
        """[t_ps, seq, live_bytes] after every ALLOC/FREE of one core's space, in
        program order (``t_ps`` non-decreasing)."""
        part = self.group_slice(gid_of(core_kind, core, space))
        rows = self.live.rows[part]
        return pd.DataFrame(
            {
                "t_ps": display_times(self.table, rows),
                "seq": self.table.column("seq")[rows],
                "live_bytes": self.live.live[part],
            }
        )

    @cached_property
    def peaks(self) -> pd.DataFrame:
        """[core_kind, core, space, capacity, peak_live_bytes, peak_seq, peak_t_ps,
        high_water] per core and on-chip space that allocated anything."""
        live = self.live
        starts = live.starts
        columns = [
            "core_kind",
            "core",
            "space",
            "capacity",
            "peak_live_bytes",
            "peak_seq",
            "peak_t_ps",
            "high_water",
        ]
        if not starts.size:
            return pd.DataFrame({name: [] for name in columns})
        lengths = np.diff(np.r_[starts, live.gid.size])
        peak = np.maximum.reduceat(live.live, starts)
        at_peak = np.flatnonzero(live.live == np.repeat(peak, lengths))
        group_of = np.searchsorted(starts, at_peak, "right") - 1
        first_at_peak = at_peak[np.r_[True, group_of[1:] != group_of[:-1]]]
        peak_rows = live.rows[first_at_peak]
        gids = live.group_gids
        blocks = self.block_model.blocks
        high_water = np.zeros(gids.size, dtype=np.int64)
        if len(blocks):
            slot = np.searchsorted(gids, blocks.gid)
            np.maximum.at(high_water, slot, blocks.end)
        split = [split_group(int(g)) for g in gids]
        frame = pd.DataFrame(
            {
                "core_kind": [s[0] for s in split],
                "core": [s[1] for s in split],
                "space": [s[2] for s in split],
                "capacity": self.groups.capacity_by_space[gids % 8],
                "peak_live_bytes": peak,
                "peak_seq": self.table.column("seq")[peak_rows],
                "peak_t_ps": self.table.column("start_ps")[peak_rows],
                "high_water": high_water,
            }
        )
        return frame[frame["space"].isin(ON_CHIP)].reset_index(drop=True)

    def core_spaces(self) -> pd.DataFrame:
        """[core_kind, core, space, capacity] of every on-chip space any event used."""
        table = self.table
        core_kind, core = table.column("core_kind"), table.column("core")
        present = np.zeros(GROUP_BOUND, dtype=bool)
        for column in (table.column("space"), table.column("src_space")):
            on_chip = any_of(column, ON_CHIP_CODES)
            codes = group_id(core_kind[on_chip], core[on_chip], column[on_chip])
            present |= np.bincount(codes, minlength=GROUP_BOUND) > 0
        split = [split_group(int(g)) for g in np.flatnonzero(present)]
        return pd.DataFrame(
            {
                "core_kind": [s[0] for s in split],
                "core": [s[1] for s in split],
                "space": [s[2] for s in split],
                "capacity": [self.groups.capacity_of(s[2]) for s in split],
            }
        )

    @cached_property
    def group_ids(self) -> np.ndarray:
        """Groups with ALLOC/FREE events, on-chip only."""
        gids = self.live.group_gids
        return gids[np.isin(gids % 8, ON_CHIP_CODES)]
