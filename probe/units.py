"""Byte and time units shared by every view: KiB/MiB sizes, µs/ms times, counts (1.2 M),
rough durations and counted nouns."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

_SIZE = re.compile(r"^\s*([-+]?[0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B|B|[KMGT])?\s*$", re.IGNORECASE)
_FACTORS = {
    "": 1,
    "B": 1,
    "K": 1024,
    "KIB": 1024,
    "KB": 1000,
    "M": 1024**2,
    "MIB": 1024**2,
    "MB": 1000**2,
    "G": 1024**3,
    "GIB": 1024**3,
    "GB": 1000**3,
    "T": 1024**4,
    "TIB": 1024**4,
    "TB": 1000**4,
}


def parse_size(text: str | int | float, *, positive: bool = False) -> int:
    """``"160 KiB"`` -> 163840; ``"1.5 MB"`` -> 1500000; plain numbers are bytes.
    A size written negative (``"-5GiB"``) is a ValueError, and so is any size
    of zero or less when ``positive``. A negative number (an int or float, from
    YAML, say) is returned for the caller to refuse in its own terms."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value: float = text
    else:
        match = _SIZE.match(str(text))
        if not match:
            raise ValueError(f"expected a size like '160 KiB', '2 MB' or '4096', got {text!r}")
        number, unit = match.groups()
        value = float(number) * _FACTORS[(unit or "").upper()]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite size, got {text!r}")
    if positive and value <= 0:
        raise ValueError(f"a size must be positive, got {text!r}")
    if value < 0 and isinstance(text, str):
        raise ValueError(f"a size cannot be negative, got {text!r}")
    return int(value)


def format_bytes(nbytes: float) -> str:
    """Binary units with one decimal: ``196608`` -> ``192.0 KiB``."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def format_exact_bytes(values: Sequence[float]) -> list[str]:
    """Byte counts in one shared unit, each exact: the largest binary unit in
    which every value is a whole number of tenths or hundredths (``139.25 KiB``
    beside ``162.00 KiB``), else bytes (``142,593 B`` beside ``165,888 B``), so a
    change of a few bytes never reads as no change."""
    largest = max((abs(value) for value in values), default=0)
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if largest < scale:
            continue
        for decimals in (1, 2):
            if all((value / scale * 10**decimals).is_integer() for value in values):
                return [f"{value / scale:.{decimals}f} {unit}" for value in values]
    return [f"{int(value):,} B" for value in values]


# Nanoseconds per unit and the decimals shown, largest first; below 1 µs: ns.
_TIME_UNITS = ((1e9, "s", 3), (1e6, "ms", 2), (1e3, "µs", 2))


def format_time_ps(picoseconds: float) -> str:
    """Modelled device time: ``1_234_000`` ps -> ``1.23 µs``."""
    (text,) = format_times_ps([picoseconds])
    return text


def format_times_ps(values: Sequence[float]) -> list[str]:
    """Modelled device times in one shared unit, the one of the largest value
    (``1.50 µs`` beside ``0.50 µs``)."""
    ns = [value / 1000 for value in values]
    largest = max((abs(value) for value in ns), default=0)
    scale, unit, decimals = next(
        (choice for choice in _TIME_UNITS if largest >= choice[0]), (1, "ns", 1)
    )
    scaled = [value / scale for value in ns]
    # A small nonzero value (a delta beside large times) keeps a digit rather
    # than printing as zero.
    while decimals < 6 and any(value and round(value, decimals) == 0 for value in scaled):
        decimals += 1
    return [f"{value:.{decimals}f} {unit}" for value in scaled]


def format_rate(bytes_per_second: float) -> str:
    """``1.6e12`` -> ``1.60 TB/s`` (decimal units, as bandwidths are quoted)."""
    for unit, scale in (("TB/s", 1e12), ("GB/s", 1e9), ("MB/s", 1e6)):
        if bytes_per_second >= scale:
            return f"{bytes_per_second / scale:.2f} {unit}"
    return f"{bytes_per_second:.0f} B/s"


# The space between a figure and the unit after it ("4.0 KiB", "994.3 ns",
# "18.51 GB/s", "86 B/cycle", "1,024 FLOP", "1800 MHz", "70 %", "1.2 M"):
# what wraps as one word.
FIGURE_UNIT_SPACE = re.compile(
    r"(?<=\d) (?=(?:[KMGT]i?B|B|[KMGT]?B/(?:s|cycle)|ps|ns|µs|ms|s|[KMG]?Hz"
    r"|T?FLOPS?(?:/B)?|T?OPS|%|[kMG])(?![\w/]))"
)


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``1 block``, ``2 blocks``, ``0 blocks``; irregular nouns take ``plural_form``."""
    return f"{count:,} {noun if count == 1 else plural_form or noun + 's'}"


def count_cores(count: int, kind: str) -> str:
    """``8 aiv cores``, ``1 aic core``; coupled cores (``aicore``) are ``AI cores``."""
    return plural(count, "AI core" if kind == "aicore" else f"{kind} core")


def format_count(count: float) -> str:
    """``1234567`` -> ``1.2 M``."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{int(count)}"


def format_duration(seconds: float) -> str:
    """Wall time rounded to what an estimate can claim: ``< 1 s``, ``40 s``, ``25 min``, ``3.5 h``."""
    if seconds < 1:
        return "< 1 s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
