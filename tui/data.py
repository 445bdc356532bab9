"""Series the views draw, derived from a :class:`TraceContext` (vectorized).

The analyzers own the analysis; this module only reshapes what the context
already derived into what a terminal widget needs: a step series resampled to
screen columns, the blocks live at one step of the occupancy series, the rows
an event filter keeps. Two analyses are compared by
:mod:`ubscope.analyzers.comparison`.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ubscope.analyzers.findings import Finding
from ubscope.probe.events import EventKind, Flag, Space
from ubscope.probe.units import parse_size


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


def places(ctx: Any) -> list[Place]:
    """The on-chip spaces the trace used, in core order."""
    frame = ctx.core_spaces()
    return [
        Place(str(kind), int(core), str(space), int(capacity))
        for kind, core, space, capacity in zip(
            frame["core_kind"], frame["core"], frame["space"], frame["capacity"], strict=True
        )
    ]


# -- occupancy ---------------------------------------------------------------


@dataclass
class OccupancySeries:
    """A step series of live bytes: ``live[i]`` holds from ``t_ps[i]`` on."""

    t_ps: np.ndarray
    seq: np.ndarray
    live: np.ndarray

    @classmethod
    def of(cls, ctx: Any, place: Place) -> OccupancySeries:
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
    def of(cls, ctx: Any, place: Place, series: OccupancySeries) -> PlaceBlocks:
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

KIND_NAMES = [kind.label for kind in EventKind]
SPACE_NAMES = [space.name for space in Space]
FLAG_NAMES = {flag.name.lower(): int(flag) for flag in Flag if flag.name and flag is not Flag.NONE}
FILTER_HELP = (
    "kind=copy,alloc core=aiv3 space=UB tag=copyin name=x_tile addr=0x0-0x8000 flag=redzone"
)


@dataclass(frozen=True)
class EventFilter:
    """What the Events view keeps; empty fields keep everything."""

    kinds: tuple[str, ...] = ()
    core_kind: str | None = None
    core: int | None = None
    spaces: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    addr_lo: int | None = None
    addr_hi: int | None = None
    flags: int = 0

    @property
    def empty(self) -> bool:
        return self == EventFilter()


def parse_event_filter(text: str) -> EventFilter:
    """``kind=copy core=aiv3 space=UB tag=copyin addr=0x100-0x200 flag=redzone``.

    Values may be comma lists; raises ValueError with a one-line reason."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"filter: {exc}") from None
    fields: dict[str, Any] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        key = key.strip().lower()
        values = tuple(v for v in value.split(",") if v)
        if not sep or not values:
            raise ValueError(f"filter: expected key=value, got {token!r} (e.g. {FILTER_HELP})")
        if key == "kind":
            unknown = [v for v in values if v.lower() not in KIND_NAMES]
            if unknown:
                raise ValueError(
                    f"filter: unknown kind {unknown[0]!r} (kinds: {', '.join(KIND_NAMES)})"
                )
            fields["kinds"] = tuple(v.lower() for v in values)
        elif key == "space":
            unknown = [v for v in values if v.upper() not in SPACE_NAMES]
            if unknown:
                raise ValueError(
                    f"filter: unknown space {unknown[0]!r} (spaces: {', '.join(SPACE_NAMES)})"
                )
            fields["spaces"] = tuple(v.upper() for v in values)
        elif key == "core":
            fields.update(_parse_core(value))
        elif key == "tag":
            fields["tags"] = values
        elif key == "name":
            fields["names"] = values
        elif key == "addr":
            fields["addr_lo"], fields["addr_hi"] = _parse_range(value)
        elif key == "flag":
            bits = 0
            for name in values:
                if name.lower() not in FLAG_NAMES:
                    known = ", ".join(FLAG_NAMES)
                    raise ValueError(f"filter: unknown flag {name!r} (flags: {known})")
                bits |= FLAG_NAMES[name.lower()]
            fields["flags"] = bits
        else:
            raise ValueError(
                f"filter: unknown key {key!r} (keys: kind core space tag name addr flag)"
            )
    return EventFilter(**fields)


def _parse_core(text: str) -> dict[str, Any]:
    lowered = text.strip().lower()
    kind = lowered.rstrip("0123456789")
    number = lowered[len(kind) :]
    if kind not in ("", "aiv", "aic", "aicore", "host") or (not number and kind != "host"):
        raise ValueError(f"filter: core {text!r}: expected a number or aiv3 / aic0 / aicore1")
    return {"core_kind": kind or None, "core": int(number) if number else None}


def _parse_number(text: str) -> int:
    text = text.strip()
    if text.lower().startswith("0x"):
        return int(text, 16)
    return parse_size(text)


def _parse_range(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    try:
        lo = _parse_number(low)
        hi = _parse_number(high) if sep else lo + 1
    except ValueError:
        raise ValueError(f"filter: addr {text!r}: expected 0x100-0x200 or one address") from None
    if hi <= lo:
        raise ValueError(f"filter: addr {text!r}: the end must be above the start")
    return lo, hi


def _category_codes(column: pd.Series, wanted: Iterable[str]) -> np.ndarray:
    """Boolean mask of a Categorical column's rows whose value is in ``wanted``."""
    categories = [str(c) for c in column.cat.categories]
    codes = [categories.index(w) for w in wanted if w in categories]
    return np.isin(column.cat.codes.to_numpy(), np.array(codes, dtype=np.int64))


def filter_rows(events: pd.DataFrame, flt: EventFilter) -> np.ndarray | None:
    """Positions of the events ``flt`` keeps (None: all of them)."""
    if flt.empty:
        return None
    mask = np.ones(len(events), dtype=bool)
    if flt.kinds:
        mask &= _category_codes(events["kind"], flt.kinds)
    if flt.core_kind is not None:
        mask &= _category_codes(events["core_kind"], [flt.core_kind])
    if flt.core is not None:
        mask &= events["core"].to_numpy() == flt.core
    if flt.spaces:
        mask &= _category_codes(events["space"], flt.spaces)
    if flt.tags:
        mask &= _category_codes(events["tag"], flt.tags)
    if flt.names:
        mask &= _category_codes(events["name"], flt.names) | _category_codes(
            events["tensor"], flt.names
        )
    if flt.addr_lo is not None and flt.addr_hi is not None:
        addr = events["addr"].to_numpy()
        extent = np.maximum(
            np.maximum(events["size"].to_numpy(), events["aligned_size"].to_numpy()), 1
        )
        mask &= (addr < flt.addr_hi) & (addr + extent > flt.addr_lo)
    if flt.flags:
        mask &= (events["flags"].to_numpy() & flt.flags) != 0
    return np.flatnonzero(mask)


def finding_rows(ctx: Any, finding: Finding) -> np.ndarray:
    """Sorted event positions a finding points at (empty when it names none)."""
    selected = ctx.events_for(finding)
    if selected is None:
        return np.zeros(0, dtype=np.int64)
    array = np.asarray(selected)
    if array.dtype == bool:
        return np.flatnonzero(array)
    return np.sort(array.astype(np.int64))
