"""The Textual terminal UI: ``ubscope tui TRACE`` or ``ubscope tui DIR``."""

from __future__ import annotations

import os
import shlex


def tui_command(path: str | os.PathLike[str]) -> str:
    """The shell command that opens the TUI on ``path`` (a trace or a folder)."""
    return f"ubscope tui {shlex.quote(os.fspath(path))}"


__all__ = ["tui_command"]
