"""GM traffic per tensor and direction, and the roofline of the whole trace."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ubscope.analyzers.model.arrays import (
    CORE_SPAN,
    dense_codes,
    selection,
    stable_order,
    unique_codes,
)
from ubscope.analyzers.model.cached import cached_property
from ubscope.analyzers.model.launches import LaunchModel
from ubscope.probe.chip import ChipProfile
from ubscope.probe.event_table import EventTable
from ubscope.probe.events import Flag, Space


def with_atomic_reads(read: np.ndarray, atomic: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """A GM transfer list with the read of GM each atomic copy makes (``atomic``:
    flagged ``ATOMIC``, it reads the bytes it adds to) put just before its
    write: the positions into the transfers (an atomic copy's twice) and
    whether each is a read. None when no copy is atomic, so traces without any
    pay nothing."""
    atomic = atomic & ~read
    if not atomic.any():
        return None
    positions = np.repeat(np.arange(read.size), 1 + atomic)
    as_read = read[positions]
    as_read[:-1] |= positions[:-1] == positions[1:]  # the first of a pair
    return positions, as_read


class TrafficModel:
    """What crossed the GM boundary and how it compares with the compute done."""

    def __init__(self, table: EventTable, chip: ChipProfile, launches: LaunchModel):
        self.table = table
        self.chip = chip
        self.launch_model = launches

    @cached_property
    def gm_transfers(self) -> dict[str, np.ndarray]:
        """COPY events with a GM side as parallel arrays: rows, read (GM -> on-chip),
        gm_addr, bytes (moved), burst_len, burst_count, tensor (code), workspace
        (an L2-resident core-to-core workspace), atomic (an atomic add, max or
        min into GM: ``ATOMIC``)."""
        copies = self.table.copies()
        read = copies.src_space == Space.GM
        gm_side = read | (copies.dst_space == Space.GM)
        pick = selection(gm_side)
        read = pick(read)
        rows = pick(copies.rows)
        flags = self.table.column("flags")[rows]
        return {
            "rows": rows,
            "read": read,
            # both addresses read at the rows: as fields the copies would keep them (44 MB)
            "gm_addr": np.where(
                read, copies.at("src_address", rows), copies.at("dst_address", rows)
            ),
            "bytes": pick(copies.bytes),
            "burst_len": pick(copies.burst_len),
            "burst_count": pick(copies.burst_count),
            "tensor": pick(copies.tensor),
            "workspace": (flags & int(Flag.WORKSPACE)) != 0,
            "atomic": (flags & int(Flag.ATOMIC)) != 0,
        }

    @cached_property
    def gm_accesses(self) -> dict[str, np.ndarray]:
        """:attr:`gm_transfers` as GM sees them: an atomic copy (``ATOMIC``) reads
        the bytes it then writes, so it is there twice, its read just before
        its write (the same arrays when no copy is atomic). What the traffic
        counts per direction."""
        transfers = self.gm_transfers
        atomic = with_atomic_reads(transfers["read"], transfers["atomic"])
        if atomic is None:
            return transfers
        positions, as_read = atomic
        return {
            name: as_read if name == "read" else values[positions]
            for name, values in transfers.items()
        }

    @cached_property
    def traffic(self) -> pd.DataFrame:
        """Per GM tensor and direction: tensor, direction, bytes, transfers,
        distinct_bytes (bytes covered at least once per launch, summed over the
        launches: each launch must read its inputs again, as each decode step
        re-reads the live KV cache), redundancy (bytes / distinct_bytes),
        reloaded_bytes (bytes a core moved again within a launch: it could have
        kept them on chip; other cores reading the same bytes need their own copy),
        reloaded_on_one_core (the most one core reloads in each launch, summed over
        the launches: the part on the critical path, as cores run side by side),
        hbm_bytes (what the cost model takes from HBM, see :attr:`repeats_hit_l2`),
        small_transfers (bursts below the chip's efficient burst size), workspace
        (L2-resident core-to-core workspace: not HBM traffic)."""
        copies = self.gm_accesses
        key, size = self._keys
        moved = np.bincount(key, weights=copies["bytes"], minlength=size).astype(np.int64)
        transfers = np.bincount(key, minlength=size)
        small = np.bincount(
            key, weights=copies["burst_len"] < self.chip.efficient_burst_bytes, minlength=size
        ).astype(np.int64)
        # one launch: each launch's distinct bytes are the run's, computed already
        launches = self._launch
        per_launch = self._run_distinct if not launches.any() else self._distinct_within(launches)
        reloaded, reloaded_by_one_core = self._reloads
        present = np.flatnonzero(transfers)
        names = self.table.labels("tensor")
        return traffic_frame(
            names[present // 2].astype(str),
            present % 2 == 1,
            np.stack(
                [
                    moved[present],
                    transfers[present],
                    small[present],
                    self._workspace_keys[present],
                    per_launch[present],
                    reloaded[present],
                    reloaded_by_one_core[present],
                    self._run_distinct[present],
                ],
                axis=1,
            ),
            self.chip,
        )

    @property
    def repeats_hit_l2(self) -> bool:
        """Whether the cost model serves every repeated GM access from L2 (see
        :func:`repeats_hit_l2`)."""
        return repeats_hit_l2(self._run_distinct, self._workspace_keys, self.chip)

    @cached_property
    def _keys(self) -> tuple[np.ndarray, int]:
        """Each GM transfer's key (tensor code x 2, + 1 for a write) and the key count."""
        copies = self.gm_accesses
        key = copies["tensor"].astype(np.int64) * 2 + (~copies["read"]).astype(np.int64)
        return key, int(key.max()) + 1 if key.size else 0

    @cached_property
    def _workspace_keys(self) -> np.ndarray:
        key, size = self._keys
        return np.bincount(key, weights=self.gm_accesses["workspace"], minlength=size) > 0

    @cached_property
    def _launch(self) -> np.ndarray:
        """The launch of each GM transfer (see :meth:`LaunchModel.launch_of`)."""
        return self.launch_model.launch_of(self.gm_accesses["rows"])

    @cached_property
    def _run_distinct(self) -> np.ndarray:
        return self._distinct_within(np.zeros_like(self._keys[0]))

    @cached_property
    def _finest(self) -> tuple[np.ndarray, int, np.ndarray]:
        """Each GM transfer's finest scope (key, launch and core) as a dense
        code, the number of codes, and each transfer's key and launch as one."""
        copies = self.gm_accesses
        key, _ = self._keys
        rows = copies["rows"]
        launch = self._launch
        key_launch = key * (int(launch.max(initial=0)) + 1) + launch
        core, cores = dense_codes(
            self.table.column("core_kind")[rows].astype(np.int64) * CORE_SPAN
            + self.table.column("core")[rows]
        )
        codes, count = dense_codes(key_launch * cores + core)
        return codes, count, key_launch

    @cached_property
    def _finest_ranges(self) -> dict[str, np.ndarray]:
        """What the GM transfers cover per finest scope, as distinct_bytes'
        inputs: single bursts merged into disjoint ranges, multi-burst transfers
        one per distinct shape. Every coarser scope (a launch, the run) is a union
        of finest ones, so its distinct bytes are those of these few rows (at 10
        M events, 2.7 M transfers cover 288 ranges) instead of every transfer."""
        copies = self.gm_accesses
        codes, _, _ = self._finest
        single = copies["burst_count"] <= 1
        start = copies["gm_addr"][single]
        scope, start, end = merge_intervals(codes[single], start, start + copies["bytes"][single])
        multi = distinct_shapes(
            codes[~single],
            copies["gm_addr"][~single],
            copies["burst_len"][~single],
            copies["burst_count"][~single],
            copies["bytes"][~single],
        )
        length = end - start
        return {
            "scope": np.concatenate([scope, multi["key"]]),
            "start": np.concatenate([start, multi["start"]]),
            "bytes": np.concatenate([length, multi["bytes"]]),
            "burst_len": np.concatenate([length, multi["len"]]),
            "burst_count": np.concatenate([np.ones_like(length), multi["count"]]),
        }

    @cached_property
    def _reloads(self) -> tuple[np.ndarray, np.ndarray]:
        """Per key, the bytes cores moved again within a launch (int64), and the
        most one core did so per launch, summed over the launches."""
        copies = self.gm_accesses
        key, size = self._keys
        codes, count, key_launch = self._finest
        covered = self._covered(np.arange(count))
        again = np.bincount(codes, weights=copies["bytes"], minlength=count) - covered
        code_key = np.zeros(count, dtype=np.int64)
        code_key[codes] = key
        code_key_launch = np.zeros(count, dtype=np.int64)
        code_key_launch[codes] = key_launch
        # per key and launch, the core that reloads most
        launch_of_code, launches = dense_codes(code_key_launch)
        worst = np.zeros(launches)
        np.maximum.at(worst, launch_of_code, again)
        launch_key = np.zeros(launches, dtype=np.int64)
        launch_key[launch_of_code] = code_key
        return (
            np.bincount(code_key, weights=again, minlength=size).astype(np.int64),
            np.bincount(launch_key, weights=worst, minlength=size).astype(np.int64),
        )

    def _covered(self, coarse: np.ndarray) -> np.ndarray:
        """Distinct bytes the GM transfers cover per code of a scope, given as
        ``coarse``: the code of each finest scope's (a union of them)."""
        ranges = self._finest_ranges
        return distinct_bytes(
            coarse[ranges["scope"]],
            ranges["start"],
            ranges["bytes"],
            ranges["burst_len"],
            ranges["burst_count"],
            int(coarse.max(initial=-1)) + 1,
        )

    def _distinct_within(self, scope: np.ndarray) -> np.ndarray:
        """Per key, the distinct bytes covered within each ``scope`` (a launch,
        the run), summed over the scopes."""
        key, size = self._keys
        codes, count = dense_codes(key * (int(scope.max(initial=0)) + 1) + scope)
        finest, finest_count, _ = self._finest
        coarse = np.zeros(finest_count, dtype=np.int64)
        coarse[finest] = codes  # a finest scope lies in one scope
        covered = self._covered(coarse)
        first = np.zeros(count, dtype=np.int64)
        first[codes] = key
        return np.bincount(first, weights=covered, minlength=size).astype(np.int64)

    @cached_property
    def roofline(self) -> dict[str, Any]:
        """The roofline of the whole trace (see :func:`roofline`)."""
        computes = self.table.computes()
        return roofline(
            self.chip,
            operation_count(self.table.column("flags")[computes.rows]),
            int(computes.flops.sum()),
            self.traffic,
            self.launch_model.modelled_time_ps,
        )


# the per-key sums traffic_frame takes, in its columns' order
TRAFFIC_SUMS = (
    "bytes",
    "transfers",
    "small_transfers",
    "workspace",
    "distinct_bytes",
    "reloaded_bytes",
    "reloaded_on_one_core",
    "run_distinct_bytes",
)


def traffic_frame(
    tensor: np.ndarray, write: np.ndarray, sums: np.ndarray, chip: ChipProfile
) -> pd.DataFrame:
    """:attr:`TrafficModel.traffic` from its sums per tensor and direction
    (``sums``: one row per key, the columns of :data:`TRAFFIC_SUMS`; the byte
    ranges' columns may be NaN: unknown)."""
    values = dict(zip(TRAFFIC_SUMS, sums.T, strict=True))
    moved = values["bytes"]
    hbm = moved.copy()
    frame = pd.DataFrame(
        {
            "tensor": tensor,
            "direction": np.where(write, "write", "read"),
            "bytes": moved.astype(np.int64),
            "transfers": values["transfers"].astype(np.int64),
            "distinct_bytes": values["distinct_bytes"],
            "redundancy": moved / np.maximum(values["distinct_bytes"], 1),
            "reloaded_bytes": values["reloaded_bytes"],
            "reloaded_on_one_core": values["reloaded_on_one_core"],
            "hbm_bytes": hbm,
            "small_transfers": values["small_transfers"].astype(np.int64),
            "workspace": values["workspace"] > 0,
        }
    )
    if repeats_hit_l2(values["run_distinct_bytes"], values["workspace"] > 0, chip):
        reads = ~np.asarray(write, dtype=bool)
        hbm[reads] = values["run_distinct_bytes"][reads]
        frame["hbm_bytes"] = hbm
    return frame


def repeats_hit_l2(run_distinct: np.ndarray, workspace: np.ndarray, chip: ChipProfile) -> bool:
    """Whether the cost model serves every repeated GM access from L2: it does
    when all the GM bytes the run touches (``run_distinct`` per key, but the
    workspace's) fit in the chip's L2 (nothing is evicted), and then only a
    read's first touch goes to HBM. Larger runs are counted as if every read
    went to HBM (an upper bound)."""
    return bool(run_distinct[~workspace].sum() <= chip.l2_bytes)


def operation_count(flags: np.ndarray) -> int:
    """How many COMPUTE events (``flags``: theirs) are operations: the CPU
    twin's scalar accesses (SCALAR_ACCESS) hold no FLOPs and no time, and would
    give a trace with no vector or cube work a known intensity of 0."""
    return int(np.count_nonzero((flags & int(Flag.SCALAR_ACCESS)) == 0))


def roofline(
    chip: ChipProfile,
    compute_events: int,
    flops: int,
    traffic: pd.DataFrame,
    modelled_time_ps: int,
) -> dict[str, Any]:
    """compute_events, flops, hbm_bytes (the cost model's: repeated reads it
    serves from L2 are not HBM traffic), intensity (FLOP/B), ridge, peak_flops,
    bandwidth (B/s), modelled_time_ps, achieved_flops_per_s, bound ("memory" |
    "compute"). Without compute events (a trace of ``msprof op simulator`` data
    moves) the intensity is unknown, not 0: judge it only when compute_events."""
    hbm = int(traffic.loc[~traffic["workspace"], "hbm_bytes"].sum()) if len(traffic) else 0
    intensity = flops / hbm if hbm else float("inf") if flops else 0.0
    ridge = chip.ridge_flops_per_byte
    return {
        "compute_events": compute_events,
        "flops": flops,
        "hbm_bytes": hbm,
        "intensity": intensity,
        "ridge": ridge,
        "peak_flops": chip.peak_fp16_flops,
        "bandwidth": chip.gm_bandwidth,
        "modelled_time_ps": modelled_time_ps,
        "achieved_flops_per_s": flops / (modelled_time_ps * 1e-12) if modelled_time_ps else 0.0,
        "bound": "memory" if intensity < ridge else "compute",
    }


def distinct_bytes(
    key: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    burst_len: np.ndarray,
    burst_count: np.ndarray,
    size: int,
) -> np.ndarray:
    """Bytes covered at least once per key.

    Single-burst transfers are exact intervals, merged per key; a multi-burst
    transfer's row pitch is not recorded, so it counts once per distinct
    (start, burst shape) — repeated identical strided loads are redundant,
    partly overlapping ones are not detected (never overstated).
    """
    out = np.zeros(size, dtype=np.int64)
    if not key.size:
        return out
    single = burst_count <= 1
    if single.any():
        merged, begin, end = merge_intervals(
            key[single], start[single], start[single] + length[single]
        )
        np.add.at(out, merged, end - begin)
    multi = ~single
    if multi.any():
        shapes = distinct_shapes(
            key[multi], start[multi], burst_len[multi], burst_count[multi], length[multi]
        )
        np.add.at(out, shapes["key"], shapes["bytes"])
    return out


def distinct_shapes(
    key: np.ndarray,
    start: np.ndarray,
    burst_len: np.ndarray,
    burst_count: np.ndarray,
    moved: np.ndarray,
) -> dict[str, np.ndarray]:
    """Multi-burst transfers once per key and shape (start, burst length and
    count): key, start, len, count and bytes of each."""
    shapes = pd.DataFrame(
        {"key": key, "start": start, "len": burst_len, "count": burst_count, "bytes": moved}
    ).drop_duplicates(["key", "start", "len", "count"])
    return {name: shapes[name].to_numpy() for name in shapes.columns}


def segmented_cummax(values: np.ndarray, segment_first: np.ndarray) -> np.ndarray:
    """Running maximum that restarts at every True of ``segment_first``."""
    if not values.size:
        return values.copy()
    segment = (np.cumsum(segment_first) - 1).astype(np.int64)
    low, high = int(values.min()), int(values.max())
    span = high - low + 1
    if max(span, high + int(segment[-1]) * span) >= 1 << 63:
        # far-apart values (a hostile trace's GM addresses) would overflow once
        # lifted: lift their ranks instead, which keep their order
        distinct, rank = unique_codes(values)
        return distinct[_lifted_cummax(rank.astype(np.int64), segment, distinct.size)]
    return _lifted_cummax(values, segment, span)


def _lifted_cummax(values: np.ndarray, segment: np.ndarray, span: int) -> np.ndarray:
    # each segment lifted above every earlier one by at least the values' range,
    # so one running maximum never carries a value into the next segment
    lift = segment * span
    return np.maximum.accumulate(values + lift) - lift


def merge_intervals(
    scope: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scope, start, end) of the disjoint intervals that ``[start, end)``
    cover together per scope id, by scope then start."""
    if not scope.size:
        return scope, start, end
    order = _by_scope_and_start(scope, start)
    scope, start, end = scope[order], start[order], end[order]
    first = np.r_[True, scope[1:] != scope[:-1]]
    # from each scope's lowest start (small values: the running maximum
    # lifts each scope above the previous ones without overflowing)
    base = np.repeat(start[first], np.diff(np.r_[np.flatnonzero(first), first.size]))
    ends = end - base
    # the furthest end of the scope's earlier intervals (-1 for its first)
    reach = segmented_cummax(np.where(first, -1, np.r_[-1, ends[:-1]]), first)
    runs = np.flatnonzero(first | (start - base > reach))
    return scope[runs], start[runs], np.maximum.reduceat(end, runs)


def _by_scope_and_start(scope: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The order that sorts by scope, then start. Events mostly come in start
    order within a scope: a radix sort of the scopes' codes then suffices,
    else one int64 key of the scope-sorted events sorted with timsort, which
    runs through the few ascending runs a scope's starts then make (one per
    core, or carried intervals, then a batch's) in about linear time."""
    codes, distinct = pd.factorize(scope, sort=True)
    order = stable_order(codes, len(distinct))
    by_scope, starts = codes[order], start[order]
    if bool(np.all((starts[1:] >= starts[:-1]) | (by_scope[1:] != by_scope[:-1]))):
        return order
    low = int(start.min())
    start_bits = int(start.max() - low).bit_length()
    if int(len(distinct)).bit_length() + start_bits > 62:
        return np.lexsort((start, scope))
    key = (by_scope.astype(np.int64) << start_bits) | (starts - low)
    return order[np.argsort(key, kind="stable")]
