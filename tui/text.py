"""Text helpers for the TUI: strings from traces and vendor files are never markup.

Every kernel name, tag, tensor name and message goes through :func:`literal`,
which builds a :class:`rich.text.Text` directly, so ``[bold red]x[/]`` is shown
as those characters and never interpreted.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from ubscope.probe.text import printable_prose
from ubscope.probe.units import format_bytes, format_time_ps

StyleLike = Style | str


def literal(value: object, style: StyleLike = "") -> Text:
    """``value`` as plain text (no markup, no emoji codes, no control characters:
    file names reach here unsanitised)."""
    return Text(printable_prose(str(value)), style=style, no_wrap=False)


def short_bytes(nbytes: float) -> str:
    """Axis labels: ``196608`` -> ``192K``, ``1.5 MiB`` -> ``1.5M``."""
    value = float(nbytes)
    for unit in ("", "K", "M", "G"):
        if abs(value) < 1024 or unit == "G":
            return f"{value:.0f}{unit}" if value >= 10 or unit == "" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}G"


def percent(fraction: float) -> str:
    return f"{fraction * 100:.0f}%"


def bytes_of(used: float, capacity: float) -> str:
    """``150.0 KiB / 192.0 KiB (78%)``."""
    share = f" ({percent(used / capacity)})" if capacity else ""
    return f"{format_bytes(used)} / {format_bytes(capacity)}{share}"


def time_label(picoseconds: float) -> str:
    return format_time_ps(picoseconds)
