"""What the benchmarks that compare this tree with an older one share: child
processes timed, and an environment that imports an older tree's ubscope."""

from __future__ import annotations

import os
import resource
import subprocess
import time
from pathlib import Path

PACKAGES = ("probe", "kernels", "analyzers", "tui", "reports")


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds of the child (and its children), and its
    standard output; a failed child stops the benchmark with its error."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def older_tree(worktree: Path, into: Path) -> dict[str, str]:
    """An environment importing ``ubscope`` from ``worktree`` (a ``git worktree
    add`` of an older commit; its package folders linked under one
    ``ubscope`` in ``into`` as pyproject's package-dir maps them), ahead of
    this tree's editable install."""
    package = into / "ubscope"
    package.mkdir()
    for entry in (worktree / "ubscope").iterdir():
        (package / entry.name).symlink_to(entry)
    for name in PACKAGES:
        (package / name).symlink_to(worktree / name)
    return {**os.environ, "PYTHONPATH": str(into)}
