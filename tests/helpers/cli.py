"""``python -m ubscope`` in a child process, as a user runs it from a shell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

TIMEOUT_S = 300


def run_ubscope(
    *args: object, cwd: Path | None = None, columns: int = 80, **options: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``ubscope ARGS`` (each argument as ``str``) in ``cwd`` with a terminal
    ``columns`` wide; stdout and stderr captured as text. ``options`` go to
    :func:`subprocess.run` (a ``preexec_fn``, say)."""
    env = {**os.environ, "COLUMNS": str(columns)}
    argv = [sys.executable, "-m", "ubscope", *map(str, args)]
    return subprocess.run(
        argv, capture_output=True, text=True, cwd=cwd, env=env, timeout=TIMEOUT_S, **options
    )
