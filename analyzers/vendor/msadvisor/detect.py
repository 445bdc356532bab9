"""Which files are advisor output: msadvisor result JSON, and the msprof-analyze
advisor's workbook and HTML page."""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

from ubscope.analyzers.vendor.tool import SNIFF_BYTES, Candidate

_ERROR_CODE_KEY = re.compile(r'"error_?code\s*"\s*:', re.IGNORECASE)
# what msprof-analyze advisor writes: mstt_advisor_{%Y%m%d%H%M%S}.html, and the
# .xlsx of the same run under log/
ADVISOR_REPORT = re.compile(r"mstt_advisor_(\d+)\.(xlsx|html)", re.IGNORECASE)


def is_advisor_workbook(path: Path) -> bool:
    """An xlsx whose workbook has the advisor's problems sheet."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open("xl/workbook.xml") as part:
            workbook = part.read(SNIFF_BYTES).decode("utf-8", "replace")
    except (
        zipfile.BadZipFile,
        zlib.error,
        KeyError,
        OSError,
        ValueError,
        EOFError,
        RuntimeError,
        NotImplementedError,
    ):
        return False
    return 'name="problems"' in workbook or "问题综述" in workbook


def is_advisor_output(candidate: Candidate) -> bool:
    if candidate.is_dir:
        return any(ADVISOR_REPORT.fullmatch(name) for name in candidate.names)
    if candidate.suffix == ".xlsx":
        return is_advisor_workbook(candidate.path)
    if candidate.suffix in (".html", ".htm"):
        return "collapsible-header" in candidate.head
    if candidate.suffix == ".json":
        head = candidate.head
        return _ERROR_CODE_KEY.search(head) is not None and '"summary"' in head.lower()
    return False
