"""The peak memory of a child process, measured by the child itself.

Tests and benchmarks that check memory run ``python -c child_script(BODY)``;
BODY calls ``peak_rss_bytes()`` when its work is done. The child reads VmHWM
from /proc/self/status, not ``ru_maxrss``: Linux carries the parent's peak RSS
into ``ru_maxrss`` across fork and exec, so a child of a large pytest process
reported the parent's 1.2 GB instead of its own ~300 MB.
"""

from __future__ import annotations

import inspect
import textwrap


def peak_rss_bytes() -> int:
    """This process's peak resident set size (VmHWM), in bytes (Linux)."""
    import re  # here, not at the top: child_script sends this function's source alone

    with open("/proc/self/status", encoding="ascii") as status:
        found = re.search(r"VmHWM:\s*(\d+) kB", status.read())
    if found is None:
        raise RuntimeError("/proc/self/status has no VmHWM line (not Linux?)")
    return int(found.group(1)) * 1024


def child_script(body: str) -> str:
    """The source of ``peak_rss_bytes`` followed by ``body`` (dedented)."""
    return inspect.getsource(peak_rss_bytes) + "\n" + textwrap.dedent(body)
