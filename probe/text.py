"""Make text taken from input files safe to show in a terminal.

Names in a trace or a vendor log may hold control characters (an ESC sequence
that retitles the terminal, clears the screen or writes the clipboard) or
bidirectional overrides that reorder what is shown. They are replaced by a
visible escape (``\\x1b``, ``\\u202e``) where text is read, so every view
shows them literally.
"""

from __future__ import annotations

import re
from typing import Any

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Messages may keep their tabs and line breaks: those cannot drive a terminal.
_UNSAFE_IN_PROSE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with control and direction-override characters escaped."""
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def printable_prose(text: str) -> str:
    """Like :func:`printable` but keeping tabs and line breaks (messages, suggestions)."""
    return _UNSAFE_IN_PROSE.sub(_escape, text) if _UNSAFE_IN_PROSE.search(text) else text


def printable_tree(value: Any) -> Any:
    """:func:`printable` applied to every string (keys too) in nested JSON data."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable_tree(k): printable_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [printable_tree(item) for item in value]
    return value


def unique_printable(labels: list[str]) -> list[str]:
    """:func:`printable` labels kept distinct (for renaming categories)."""
    seen: set[str] = set()
    out = []
    for label in labels:
        safe = printable(label)
        while safe in seen:
            safe += "'"
        seen.add(safe)
        out.append(safe)
    return out


__all__ = ["printable", "printable_tree", "unique_printable"]
