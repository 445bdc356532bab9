"""Where a marker stands in a kernel source: the line numbers and call-site tags
(``file.cpp:LINE``) the twin records and the findings point at."""

from __future__ import annotations

import textwrap
from pathlib import Path


def line_of(text: str, marker: str) -> int:
    """The 1-based number of the one line of ``text`` that contains ``marker``."""
    lines = [number for number, line in enumerate(text.splitlines(), 1) if marker in line]
    assert len(lines) == 1, (marker, lines)
    return lines[0]


def call_site(source: Path, marker: str) -> str:
    """``file.cpp:LINE`` of the one line of ``source`` that contains ``marker``."""
    return f"{source.name}:{line_of(source.read_text(), marker)}"


def write_source(folder: Path, name: str, text: str) -> Path:
    """``text`` (dedented: the tests indent their kernels) as ``folder/name``."""
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path
