"""Which files are msSanitizer reports: text logs holding its record or banner marks."""

from __future__ import annotations

from ubscope.analyzers.vendor.tool import Candidate

MARKS = (
    "====== ERROR",
    "====== WARNING",
    "====== WARNNING",
    "====== INFO",
    "[mssanitizer]",
)


def is_sanitizer_output(candidate: Candidate) -> bool:
    return candidate.is_text_log and any(mark in candidate.head for mark in MARKS)
