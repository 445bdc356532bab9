"""TraceContext: the analysis model of one trace, as the rules receive it.

It composes the topic modules of :mod:`ubscope.analyzers.model` (launches,
blocks, touches, overruns, occupancy, fragmentation, traffic, KV pages, locating) over the
typed event layer (:class:`ubscope.probe.event_table.EventTable`) and exposes their
members under one name each. Everything is computed on first use, once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ubscope.analyzers.model.alignment import AlignmentModel
from ubscope.analyzers.model.blocks import BlockLives, BlockModel, Blocks
from ubscope.analyzers.model.bursts import BurstModel
from ubscope.analyzers.model.cached import cached_property
from ubscope.analyzers.model.fragmentation import FragmentationModel
from ubscope.analyzers.model.groups import Groups
from ubscope.analyzers.model.kv import KvModel
from ubscope.analyzers.model.launches import LaunchModel
from ubscope.analyzers.model.locate import Locator
from ubscope.analyzers.model.occupancy import OccupancyModel
from ubscope.analyzers.model.overruns import OverrunModel, Overruns
from ubscope.analyzers.model.single_buffered import SingleBufferedBlocks, SingleBufferModel
from ubscope.analyzers.model.touches import BlockUsage, TouchModel
from ubscope.analyzers.model.traffic import TrafficModel
from ubscope.probe.chip import ChipProfile
from ubscope.probe.heap import reuse_large_blocks
from ubscope.probe.trace import Trace
from ubscope.probe.validate import checked_chip

T = TypeVar("T")


class TraceContext:
    """Derived data of one trace, computed on first use and cached."""

    def __init__(self, trace: Trace, chip: ChipProfile | None = None):
        reuse_large_blocks()
        self.trace = trace
        self.events: pd.DataFrame = trace.events
        self.chip: ChipProfile = checked_chip(chip if chip is not None else trace.chip, trace.path)
        self.table = table = trace.table
        self._memo: dict[str, Any] = {}
        self._memo_lock = threading.RLock()
        groups = Groups(table, self.chip)
        self.launch_model = LaunchModel(table, trace.kernel if trace.meta.get("kernel") else None)
        self.block_model = BlockModel(table, groups)
        self.touch_model = TouchModel(table, groups, self.block_model)
        self.overrun_model = OverrunModel(table, groups, self.block_model)
        self.occupancy_model = OccupancyModel(table, groups, self.block_model)
        self.fragmentation_model = FragmentationModel(
            table, groups, self.occupancy_model, self.block_model
        )
        self.traffic_model = TrafficModel(table, self.chip, self.launch_model)
        self.kv_model = KvModel(table, self.params)
        self.locator = Locator(table, self.launch_model)
        self.alignment_model = AlignmentModel(table, self.chip, self.locator)
        self.burst_model = BurstModel(table, self.chip, self.locator, self.launch_model)
        self.single_buffer_model = SingleBufferModel(
            table,
            self.chip,
            groups,
            self.launch_model,
            self.traffic_model,
            self.touch_model.touch_sets,
        )
        # the members rules use most, by their short names
        self.column = table.column
        self.labels = table.labels
        self.label = table.label
        self.rows = table.rows
        self.flagged_rows = table.flagged_rows
        self.gid = groups.gid
        self.capacity_of = groups.capacity_of
        self.capacities = groups.capacities
        self.kernel_of = self.launch_model.kernel_of
        self.launch_of = self.launch_model.launch_of
        self.occupancy = self.occupancy_model.occupancy
        self.core_spaces = self.occupancy_model.core_spaces
        self.coverage = self.fragmentation_model.coverage
        self.fragmentation = self.fragmentation_model.fragmentation
        self.worst_fragmentation = self.fragmentation_model.worst_fragmentation
        self.rounding_waste = self.block_model.rounding_waste
        self.never_freed = self.block_model.never_freed
        self.regrown = self.block_model.regrown
        self.overlapped = self.block_model.overlapped
        self.overlapping_allocs = self.fragmentation_model.overlapping_allocs
        self.location = self.locator.location
        self.site_groups = self.locator.site_groups
        self.critical_path_sums = self.locator.critical_path_sums
        self.events_for = self.locator.events_for

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per context (for derived data several rules share)."""
        if key not in self._memo:
            with self._memo_lock:
                if key not in self._memo:
                    self._memo[key] = compute()
        return self._memo[key]

    def background_part(self) -> None:
        """Compute the teardown runs, GM traffic, the roofline, the block
        touches and the single-buffered queues' accesses and busy time: model
        data that does not rest on the occupancy and fragmentation replays the
        earlier rules compute, so another thread can compute it meanwhile
        (:func:`ubscope.analyzers.engine.run_rules`); the first fragmentation
        rule needs the teardowns, the GM and UB rules come later, UB013 last.
        Both sides share only the blocks and event columns, built once under
        locks, and are mostly numpy sorts, gathers and ufuncs, which release the
        GIL: at 10 M events this part is 40-45 % of the analysis' CPU time
        (issue 17)."""
        self.fragmentation_model.teardown_rows  # noqa: B018
        self.roofline  # noqa: B018 - computes the traffic it rests on
        self.block_usage  # noqa: B018
        self.single_buffer_model.prepare()

    def rows_of_seq(self, seq: np.ndarray) -> np.ndarray:
        """The rows of events given by sequence number (a whole trace's rows are
        its sequence numbers; a streamed one keeps only some events)."""
        return np.searchsorted(self.column("seq"), seq)

    # -- metadata -------------------------------------------------------------
    @cached_property
    def params(self) -> dict[str, Any]:
        """The kernel parameters (empty when the metadata holds no mapping)."""
        params = self.trace.meta.get("params")
        return dict(params) if isinstance(params, dict) else {}

    @cached_property
    def ran_to_end(self) -> bool:
        """Whether the trace holds the kernel's end: it is complete and no fault
        stopped the run (a guard-page fault ends it at the access, so the frees
        and closing calls after it never happen). Rules that judge what a kernel
        left undone at its end judge nothing still open at the cut otherwise."""
        fault = self.trace.device_fault
        return self.trace.complete and not (fault is not None and fault.stopped_run)

    @cached_property
    def minimal_traffic(self) -> dict[str, int]:
        """The kernel's minimal GM bytes per direction ("read", "write") that the
        metadata states (other keys are left out)."""
        minimal = self.trace.meta.get("minimal_traffic")
        if not isinstance(minimal, dict):
            return {}
        # the reader checked the values (probe/validate.py: check_metadata)
        return {key: int(value) for key, value in minimal.items() if key in ("read", "write")}

    # -- the topics' derived data, computed on first use ---------------------------
    @property
    def launches(self) -> pd.DataFrame:
        return self.launch_model.launches

    @property
    def launched_blocks(self) -> int | None:
        return self.launch_model.launched_blocks

    @property
    def modelled_end_ps(self) -> int:
        return self.launch_model.modelled_end_ps

    @property
    def repeats_hit_l2(self) -> bool:
        return self.traffic_model.repeats_hit_l2

    @property
    def modelled_time_ps(self) -> int:
        return self.launch_model.modelled_time_ps

    @property
    def blocks(self) -> Blocks:
        return self.block_model.blocks

    @property
    def lifetimes(self) -> pd.DataFrame:
        return self.block_model.lifetimes

    @property
    def block_usage(self) -> BlockUsage:
        return self.touch_model.block_usage

    @property
    def overruns(self) -> Overruns:
        return self.overrun_model.overruns

    @cached_property
    def block_lives(self) -> BlockLives:
        return self.block_model.lives(self.modelled_end_ps)

    @property
    def unaligned_gm_sites(self) -> pd.DataFrame:
        return self.alignment_model.unaligned_gm_sites

    @property
    def small_burst_count(self) -> int:
        """How many GM copies merging into larger ones would speed up (ALN004)."""
        return int(self.burst_model.small_burst_rows.size)

    @property
    def small_burst_sites(self) -> pd.DataFrame:
        return self.burst_model.small_burst_sites

    @property
    def single_buffered(self) -> SingleBufferedBlocks:
        return self.single_buffer_model.single_buffered

    @property
    def peaks(self) -> pd.DataFrame:
        return self.occupancy_model.peaks

    @property
    def group_ids(self) -> np.ndarray:
        return self.occupancy_model.group_ids

    @property
    def gm_accesses(self) -> dict[str, np.ndarray]:
        return self.traffic_model.gm_accesses

    @property
    def traffic(self) -> pd.DataFrame:
        return self.traffic_model.traffic

    @property
    def roofline(self) -> dict[str, Any]:
        return self.traffic_model.roofline

    @property
    def kv_pages(self) -> pd.DataFrame:
        return self.kv_model.kv_pages

    @property
    def kv_usage(self) -> pd.DataFrame:
        return self.kv_model.kv_usage
