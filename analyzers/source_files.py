"""Source files of call sites: a CPU-twin finding's ``file:line`` tag as a path.

The twin tags each event with its call site's file name and line
(``add_custom.cpp:42``) and lists the kernel's source files in the trace's
``source_files`` metadata (see docs/trace-format.md). A finding whose tag names
one of them by file name gets ``location.file``, the path and line code
scanning annotates (SARIF ``physicalLocation``, JSON ``location.file``), and
``location.code``, the line's code from the trace's ``source_lines``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import Any

from ubscope.analyzers.findings import Finding
from ubscope.probe.call_sites import split_call_site
from ubscope.probe.trace import SOURCE_LINES_FIELD


def paths_by_name(meta: Mapping[str, Any]) -> dict[str, str]:
    """The trace's source files by file name; a name two files share is left
    out (its tag cannot say which one it is)."""
    files = meta.get("source_files")
    if not isinstance(files, list):
        return {}
    by_name: dict[str, str | None] = {}
    for path in files:
        if isinstance(path, str) and path:
            name = PurePath(path).name
            by_name[name] = None if name in by_name else path
    return {name: path for name, path in by_name.items() if path is not None}


def attach_source_files(findings: Iterable[Finding], meta: Mapping[str, Any]) -> None:
    """Set ``location.file`` of the findings whose call-site tag is a line of
    one of the trace's source files (findings that already name a file keep it),
    and ``location.code`` to the code on that line, as the trace recorded it."""
    by_name = paths_by_name(meta)
    if not by_name:
        return
    code_lines = meta.get(SOURCE_LINES_FIELD)
    code_of = code_lines if isinstance(code_lines, dict) else {}
    for finding in findings:
        location = finding.location
        if location.file or not location.tag:
            continue
        place = split_call_site(location.tag)
        path = by_name.get(place[0]) if place is not None else None
        if place is not None and path is not None:
            location.file = f"{path}:{place[1]}"
            location.code = code_of.get(location.tag)
