"""The Events view's filter: ``kind=copy core=aiv3 space=UB tag=copyin ...``
parsed into an :class:`EventFilter` and applied to the events frame (vectorized)."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ubscope.probe.event_table import EventTable
from ubscope.probe.events import EventKind, Flag, Space, category_codes
from ubscope.probe.units import parse_size

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
            fields["kinds"] = _known("kind", values, KIND_NAMES, str.lower)
        elif key == "space":
            fields["spaces"] = _known("space", values, SPACE_NAMES, str.upper)
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


def _known(
    what: str, values: tuple[str, ...], names: list[str], spelling: Callable[[str], str]
) -> tuple[str, ...]:
    """``values`` in the spelling of ``names`` when each is one of them; else a
    one-line reason naming the first that is not."""
    unknown = [v for v in values if spelling(v) not in names]
    if unknown:
        raise ValueError(f"filter: unknown {what} {unknown[0]!r} ({what}s: {', '.join(names)})")
    return tuple(spelling(v) for v in values)


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
    return np.isin(category_codes(column), np.array(codes, dtype=np.int64))


def filter_rows(table: EventTable, flt: EventFilter) -> np.ndarray | None:
    """Positions of the events ``flt`` keeps (None: all of them)."""
    if flt.empty:
        return None
    events = table.events
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
        mask &= (addr < flt.addr_hi) & (addr + table.reach() > flt.addr_lo)
    if flt.flags:
        mask &= (events["flags"].to_numpy() & flt.flags) != 0
    return np.flatnonzero(mask)
