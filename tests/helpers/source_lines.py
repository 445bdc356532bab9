"""Where a marker stands in a kernel source: the line numbers and call-site tags
(``file.cpp:LINE``) the twin records and the findings point at, and the run
stopped at one of them."""

from __future__ import annotations

import re
import textwrap
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from ubscope.probe.errors import EmulationError


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


def stops_at(
    file_name: str, kernel: str, marker: str, problem: str
) -> AbstractContextManager[pytest.ExceptionInfo[EmulationError]]:
    """Expect the twin to stop the run of ``kernel`` (saved as ``file_name``)
    with the one line a user reads, ``file_name:LINE: PROBLEM``, LINE being
    the line that holds ``marker``. ``problem`` is the message's literal text,
    not a pattern: its dots and brackets mean themselves."""
    where = f"{file_name}:{line_of(kernel, marker)}"
    return pytest.raises(EmulationError, match=re.escape(f"{where}: {problem}"))
