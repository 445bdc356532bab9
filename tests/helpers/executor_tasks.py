"""Tasks for the executors' tests: module-level, so worker processes and Ray
workers import them by reference."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


def square_or_fail(task: int | str) -> int:
    """``task**2`` for an even number. An odd one raises; a negative one ends the
    worker process at once with exit code ``-task`` (no reply, as a segfault
    would); a file name gets the worker's pid written to it, then the task
    outlasts any test's timeout."""
    if isinstance(task, str):
        Path(task).write_text(str(os.getpid()))
        time.sleep(120)
        return 0
    if task < 0:
        os._exit(-task)
    if task % 2:
        raise ValueError(f"odd number {task}")
    return task * task


def lock_of(_task: object) -> threading.Lock:
    """A value no pickle can send back."""
    return threading.Lock()


def fail_with_lines(lines: list[str]) -> None:
    """Raises an error whose message spans ``lines``, as a compiler's does."""
    raise ValueError("\n".join(lines))
