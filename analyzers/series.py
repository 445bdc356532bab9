"""Derived series the views draw, computed from a :class:`TraceContext` (vectorized).

The TUI and the HTML report show these; they never derive them from the events
themselves: the on-chip places a trace used, a place's occupancy as a step
series (resampled to screen columns by per-column maxima), the blocks live at
one step of it, red-zone writes and refused allocations to mark, KV-cache usage
over time, and where findings sit among the events and on the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding
from ubscope.analyzers.model.arrays import CORE_KIND_LABELS, SPACE_LABELS


@dataclass(frozen=True)
class Place:
    """One on-chip space of one core: what the timeline and memory map show."""

    core_kind: str
    core: int
    space: str
    capacity: int

    @property
    def label(self) -> str:
        return f"{self.core_kind}{self.core} {self.space}"

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.core_kind, self.core, self.space)


def places(ctx: TraceContext) -> list[Place]:
    """The on-chip spaces the trace used, in core order."""
    frame = ctx.core_spaces()
    return [
        Place(str(kind), int(core), str(space), int(capacity))
        for kind, core, space, capacity in zip(
            frame["core_kind"], frame["core"], frame["space"], frame["capacity"], strict=True
        )
    ]


def core_label(core_kind: str, core: int) -> str:
    """``aiv3``, ``aic0``, ``aicore12`` (``host`` for events not on a core)."""
    return "host" if core < 0 else f"{core_kind}{core}"


# -- occupancy ---------------------------------------------------------------


@dataclass
class OccupancySeries:
    """A step series of live bytes: ``live[i]`` holds from ``t_ps[i]`` on."""

    t_ps: np.ndarray
    seq: np.ndarray
    live: np.ndarray

    @classmethod
    def of(cls, ctx: TraceContext, place: Place) -> OccupancySeries:
        frame = ctx.occupancy(place.core_kind, place.core, place.space)
        return cls(
            frame["t_ps"].to_numpy(np.int64),
            frame["seq"].to_numpy(np.int64),
            frame["live_bytes"].to_numpy(np.int64),
        )

    def __len__(self) -> int:
        return len(self.t_ps)

    @property
    def end_ps(self) -> int:
        return int(self.t_ps[-1]) if len(self) else 0

    @property
    def peak(self) -> int:
        return int(self.live.max()) if len(self) else 0

    def step_at(self, t_ps: float) -> int:
        """Index of the last step at or before ``t_ps`` (-1: before the first)."""
        return int(np.searchsorted(self.t_ps, t_ps, side="right")) - 1

    def live_at_step(self, step: int) -> int:
        return int(self.live[step]) if 0 <= step < len(self) else 0

    def columns(self, t0: float, t1: float, width: int) -> np.ndarray:
        """The highest live bytes within each of ``width`` equal time buckets of
        ``[t0, t1)``: the value holding at a bucket's start, or any step in it."""
        if width <= 0 or not len(self) or t1 <= t0:
            return np.zeros(max(width, 0), dtype=np.int64)
        starts = t0 + (t1 - t0) * np.arange(width) / width
        before = np.searchsorted(self.t_ps, starts, side="right") - 1
        result = np.where(before >= 0, self.live[np.maximum(before, 0)], 0)
        lo, hi = np.searchsorted(self.t_ps, [t0, t1], side="left")
        if hi > lo:
            buckets = ((self.t_ps[lo:hi] - t0) * width // (t1 - t0)).astype(np.int64)
            buckets = np.clip(buckets, 0, width - 1)
            runs = np.flatnonzero(np.diff(buckets, prepend=-1))
            peaks = np.maximum.reduceat(self.live[lo:hi], runs)
            result[buckets[runs]] = np.maximum(result[buckets[runs]], peaks)
        return result


# -- the blocks of one place -------------------------------------------------


@dataclass
class PlaceBlocks:
    """Every allocation block of one place, with the occupancy steps at which
    it became live and stopped being live."""

    addr: np.ndarray
    end: np.ndarray
    size: np.ndarray
    aligned_size: np.ndarray
    names: list[str]
    tags: list[str]
    alloc_step: np.ndarray
    free_step: np.ndarray

    @classmethod
    def of(cls, ctx: TraceContext, place: Place, series: OccupancySeries) -> PlaceBlocks:
        frame = ctx.lifetimes
        mask = (
            (frame["core"].to_numpy() == place.core)
            & (frame["core_kind"] == place.core_kind).to_numpy()
            & (frame["space"] == place.space).to_numpy()
        )
        rows = frame[mask]
        alloc_step = _steps_of(series, rows["alloc_seq"], rows["t_alloc_ps"])
        free_seq = rows["free_seq"].to_numpy(np.int64)
        free_step = _steps_of(series, rows["free_seq"], rows["t_free_ps"])
        free_step = np.where(free_seq < 0, np.iinfo(np.int64).max, free_step)
        tags = rows["tag"].astype(str).tolist()
        return cls(
            addr=rows["addr"].to_numpy(np.int64),
            end=rows["end"].to_numpy(np.int64),
            size=rows["size"].to_numpy(np.int64),
            aligned_size=rows["aligned_size"].to_numpy(np.int64),
            names=rows["name"].astype(str).tolist(),
            tags=tags,
            alloc_step=alloc_step,
            free_step=free_step,
        )

    def __len__(self) -> int:
        return len(self.addr)

    def labels(self, by: str) -> list[str]:
        """Each block's call-site tag (``by="tag"``) or buffer name (``"name"``)."""
        return self.tags if by == "tag" else self.names

    @property
    def high_water(self) -> int:
        return int(self.end.max()) if len(self) else 0

    def by_address(self) -> np.ndarray:
        """Indices of every block, by address."""
        return np.argsort(self.addr, kind="stable")

    def live_at(self, step: int) -> np.ndarray:
        """Indices of the blocks live after occupancy step ``step``, by address."""
        live = np.flatnonzero((self.alloc_step <= step) & (self.free_step > step))
        return live[np.argsort(self.addr[live], kind="stable")]


def _steps_of(series: OccupancySeries, seqs: pd.Series, times: pd.Series) -> np.ndarray:
    """The occupancy step each event seq recorded; events the series does not
    hold fall back to the last step at or before their time."""
    seq = seqs.to_numpy(np.int64)
    by_time = np.searchsorted(series.t_ps, times.to_numpy(np.int64), side="right") - 1
    if not len(series):
        return by_time
    order = np.argsort(series.seq, kind="stable")
    sorted_seq = series.seq[order]
    found = np.minimum(np.searchsorted(sorted_seq, seq), len(sorted_seq) - 1)
    return np.where(sorted_seq[found] == seq, order[found], by_time).astype(np.int64)


# -- events ------------------------------------------------------------------


def row_of_seq(ctx: TraceContext, seq: int | None) -> int | None:
    """The position of the event numbered ``seq`` (None: no such event). Events
    are stored in program order, so positions follow sequence numbers, but a
    trace need not number them from 0 without gaps."""
    if seq is None:
        return None
    seqs = ctx.column("seq")
    row = int(np.searchsorted(seqs, seq))
    return row if row < len(seqs) and int(seqs[row]) == seq else None


@dataclass(frozen=True)
class BlockEvent:
    """The allocation or free behind one step of an occupancy series."""

    seq: int
    kind: str  # "alloc" or "free"
    name: str  # buffer or pool name
    tag: str  # call site
    aligned_size: int  # bytes of the block
    address: int  # byte address of the block in its space


def block_event(ctx: TraceContext, seq: int) -> BlockEvent | None:
    """The allocation or free numbered ``seq`` (None: the event is neither)."""
    row = row_of_seq(ctx, seq)
    table = ctx.table
    for kind, events in (("alloc", table.allocs()), ("free", table.frees())):
        at = int(np.searchsorted(events.rows, row)) if row is not None else len(events)
        if at < len(events) and events.rows[at] == row:
            return BlockEvent(
                seq=seq,
                kind=kind,
                name=table.label("name", int(events.name[at])),
                tag=table.label("tag", int(events.tag[at])),
                aligned_size=int(events.aligned_size[at]),
                address=int(events.address[at]),
            )
    return None


# -- events to mark ----------------------------------------------------------


def _places_of(core_kind: np.ndarray, core: np.ndarray, space: np.ndarray) -> pd.DataFrame:
    """[core_kind, core, space] labels of events given as enum values."""
    return pd.DataFrame(
        {
            "core_kind": np.asarray(CORE_KIND_LABELS, dtype=object)[core_kind],
            "core": core.astype(np.int64),
            "space": np.asarray(SPACE_LABELS, dtype=object)[space],
        }
    )


def redzone_writes(ctx: TraceContext) -> pd.DataFrame:
    """[core_kind, core, space, t_ps, addr, end] of every write into the red zone."""
    writes = ctx.table.redzone_writes()
    return _places_of(writes.core_kind, writes.core, writes.space).assign(
        t_ps=ctx.column("start_ps")[writes.rows],
        addr=writes.address,
        end=writes.address + writes.bytes,
    )


def failed_allocations(ctx: TraceContext) -> pd.DataFrame:
    """[core_kind, core, space, t_ps, aligned_size, total_free, largest_free,
    enough_free] of every refused allocation; ``enough_free`` marks the ones
    that failed only because the free bytes were scattered (fragmentation)."""
    failures = ctx.table.alloc_failures()
    return _places_of(failures.core_kind, failures.core, failures.space).assign(
        t_ps=ctx.column("start_ps")[failures.rows],
        aligned_size=failures.aligned_size,
        total_free=failures.total_free,
        largest_free=failures.largest_free,
        enough_free=failures.total_free >= failures.aligned_size,
    )


# -- KV cache ----------------------------------------------------------------


def kv_usage_over_time(ctx: TraceContext) -> dict[str, pd.DataFrame]:
    """Per KV cache, ``[t_ps, reserved_bytes, held_tokens, empty_slot_share]``
    after every page handed out or taken back.

    Slots per page are the analyzers' (``ctx.kv_usage``), so empty slots are
    counted as the metrics' ``kv_cache.waste_ratio`` counts them; here it is
    the internal fragmentation of the pages held at each moment.
    """
    pages = ctx.kv_pages
    slots_per_page = ctx.kv_usage.set_index("cache")["slots_per_page"]
    usage: dict[str, pd.DataFrame] = {}
    for cache, group in pages.groupby("cache", sort=True, observed=True):
        slots = max(int(slots_per_page[cache]), 1)
        tokens = group["tokens"].clip(upper=slots).to_numpy()
        freed = (group["t_free_ps"] >= 0).to_numpy()
        # Frees sort before allocations at equal times (order 0 before 1).
        steps = pd.DataFrame(
            {
                "t_ps": np.r_[group["t_free_ps"].to_numpy()[freed], group["t_alloc_ps"]],
                "order": np.r_[np.zeros(freed.sum()), np.ones(len(group))],
                "bytes": np.r_[-group["page_bytes"].to_numpy()[freed], group["page_bytes"]],
                "pages": np.r_[-np.ones(freed.sum()), np.ones(len(group))],
                "tokens": np.r_[-tokens[freed], tokens],
            }
        ).sort_values(["t_ps", "order"], kind="stable")
        held_slots = steps["pages"].cumsum().to_numpy() * slots
        held_tokens = steps["tokens"].cumsum().to_numpy()
        usage[str(cache)] = pd.DataFrame(
            {
                "t_ps": steps["t_ps"].to_numpy(),
                "reserved_bytes": steps["bytes"].cumsum().to_numpy(),
                "held_tokens": held_tokens,
                "empty_slot_share": np.where(
                    held_slots > 0, 1.0 - held_tokens / np.maximum(held_slots, 1), 0.0
                ),
            }
        )
    return usage


# -- findings ----------------------------------------------------------------


def finding_rows(ctx: TraceContext, finding: Finding) -> np.ndarray:
    """Sorted event positions a finding points at (empty when it names none)."""
    return np.flatnonzero(ctx.events_for(finding))


def finding_times(ctx: TraceContext, findings: list[Finding]) -> list[int | None]:
    """The modelled time of each finding's first event (None when the finding
    points at no trace event, as vendor findings often do)."""
    start = ctx.column("start_ps")
    rows = [row_of_seq(ctx, f.location.first_seq) for f in findings]
    return [int(start[row]) if row is not None else None for row in rows]
