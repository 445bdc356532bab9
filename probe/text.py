"""Make text taken from input files safe to show in a terminal or a CI log.

Names in a trace or a vendor log may hold control characters (an ESC sequence
that retitles the terminal, clears the screen or writes the clipboard) or
bidirectional overrides that reorder what is shown. They are replaced by a
visible escape (``\\x1b``, ``\\u202e``) where text is read, so every view
shows them literally.

A CI runner executes any output line that starts with ``::`` (after leading
whitespace) as a workflow command: ``::add-mask::``, ``::stop-commands::``,
``::warning ...``. Terminals and Rich wrap lines at whitespace, so a ``::`` at
the start of a word can begin a line; its first colon is written ``\\x3a``.
A ``::`` inside a word (``aten::add``, ``AscendC::DataCopy``) is kept.
"""

from __future__ import annotations

import os
import re
from typing import Any

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Messages may keep their tabs and line breaks: those cannot drive a terminal.
_UNSAFE_IN_PROSE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


# A workflow command can start wherever a line can: at the start of the text or
# after any whitespace (Rich and terminals wrap there; runners strip it).
_COMMAND_AT_WORD_START = re.compile(r"(?:^|(?<=\s))::")
_COMMAND_AT_LINE_START = re.compile(r"^([^\S\r\n]*):(?=:)")
COLON_ESCAPE = "\\x3a"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _no_commands(text: str) -> str:
    return _COMMAND_AT_WORD_START.sub(lambda _: COLON_ESCAPE + ":", text) if "::" in text else text


def printable(text: str) -> str:
    """``text`` with control and direction-override characters escaped, and
    no ``::`` at the start of a word."""
    return _no_commands(_UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text)


def printable_prose(text: str) -> str:
    """Like :func:`printable` but keeping tabs and line breaks (messages, suggestions)."""
    safe = _UNSAFE_IN_PROSE.sub(_escape, text) if _UNSAFE_IN_PROSE.search(text) else text
    return _no_commands(safe)


def printable_path(path: str | os.PathLike[str]) -> str:
    """A file or folder name as :func:`printable` text (names on disk are input too)."""
    return printable(os.fspath(path))


def no_command_at_line_start(line: str) -> str:
    """``line`` with the first colon of a leading ``::`` escaped: whatever
    wrapping made of it, it cannot be read as a workflow command."""
    return _COMMAND_AT_LINE_START.sub(lambda m: m.group(1) + COLON_ESCAPE, line)


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


__all__ = [
    "COLON_ESCAPE",
    "no_command_at_line_start",
    "printable",
    "printable_path",
    "printable_prose",
    "printable_tree",
    "unique_printable",
]
