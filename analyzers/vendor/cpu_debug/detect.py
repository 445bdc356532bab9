"""Which files are CPU-debug logs: text logs whose start holds a check record."""

from __future__ import annotations

from ubscope.analyzers.vendor.cpu_debug.reader import is_cpu_debug_log
from ubscope.analyzers.vendor.tool import Candidate


def is_cpu_debug_output(candidate: Candidate) -> bool:
    return candidate.is_text_log and is_cpu_debug_log(candidate.head)
