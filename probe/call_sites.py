"""Call-site tags that name a source line: ``add_custom.cpp:42``.

The CPU twin tags each event with its call site's file name and line; the
runner reads the line's code and queue names from them, the analysis the
file and line a finding points at."""

from __future__ import annotations


def split_call_site(site: str) -> tuple[str, int] | None:
    """``add_custom.cpp:42`` -> ``("add_custom.cpp", 42)``; None for a tag that
    names no file and line (a Python kernel's ``copy_in``)."""
    name, _, line = site.rpartition(":")
    if name and line.isascii() and line.isdigit() and len(line) <= 9:
        return name, int(line)
    return None
