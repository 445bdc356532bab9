"""msadvisor / msprof-analyze advisor inputs built from the documented structure
(vendor_formats.md section 1): result JSON, the advisor xlsx and HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

RESULT = {
    "classType": "0",
    "errorCode": "0",
    "summary": "Memory-bound operators found",
    "extendResult": [
        {
            "type": "1",
            "extendTitle": "Top operators",
            "dataType": ["0", "2"],
            "key": ["Op Name", "Bandwidth Usage"],
            "value": [["Add_1", "0.93"], ["Mul_2", "0.88"]],
        },
        {"type": "0", "extendTitle": "Notes", "dataType": ["0"], "value": ["check tiling"]},
    ],
}

HEADER = [
    "category",
    "description",
    "suggestion",
    "problem count",
    "total_time(us)",
    "time ratio",
    "income(us)",
    "income ratio",
]


def advisor_workbook(
    path: Path,
    sheet: str = "problems",
    header: list[str] = HEADER,
    rows: Any = (),
    details: dict[str, list[list[Any]]] | None = None,
) -> Path:
    """An advisor xlsx at ``path``: ``header`` and ``rows`` on ``sheet``, then detail sheets."""
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    summary = workbook.active
    summary.title = sheet
    summary.append(header)
    for row in rows:
        summary.append(row)
    details = details or {
        "Memory Operator Issues": [
            ["name", "count", "duration(us)"],
            ["AscendCL@aclrtFree", 808, 940626.57],
        ]
    }
    for title, sheet_rows in details.items():
        detail = workbook.create_sheet(title)
        for row in sheet_rows:
            detail.append(row)
    workbook.save(path)
    return path


ROWS = [
    ["overall summary", "The Model E2E Time is 98071.907ms.", None, None, None, None, None, None],
    [
        "Memory Operator Issues",
        "Found 808 AscendCL@aclrtFreePhysical, cost 940626.57 us, which will lead to large amount of free time.",
        "1. For AscendCL@aclrtFreePhysical: check HBM usage\n2. reduce batch size",
        808,
        940626.57,
        0.12,
        None,
        None,
    ],
    [
        "Byte Alignment Analysis",
        "3 communication operators are not aligned.",
        "1. align data",
        3,
        None,
        None,
        None,
        None,
    ],
    [
        "AI Core Frequency",
        "15 operators are found during frequency reduction.",
        "1. check temperature",
        15,
        None,
        None,
        None,
        None,
    ],
]

HTML = """<!DOCTYPE html><html><head><style>h2 {margin: 0}</style></head><body>
<div class="content"><h1><b>Performance Optimization Suggestions</b></h1>
<div class="collapsible"><h2 class="collapsible-header">performance problem analysis</h2>
<div class="collapsible-content">
  <div class="collapsible"><h2 class="collapsible-header">memory</h2>
  <div class="collapsible-content">
    <div class="collapsible">
      <h2 class="collapsible-header" style="background-color: #B5495B;">Memory Operator Issues</h2>
      <div class="collapsible-content">
        <a style="font-weight: bold" id="rank">Analysis of rank 3. </a>
        <a style="font-weight: bold" id="memory_description">Found 808 AscendCL@aclrtFreePhysical, cost 940626.57 us, which will lead to large amount of free time.</a>
        <table><tr><th>Suggestions</th></tr>
          <tr><td>1. For AscendCL@aclrtFreePhysical: Please check HBM-Usage &amp; reduce batch size.</td></tr>
          <tr><td>2. For AscendCL@aclMallocMemInner: export PYTORCH_NPU_ALLOC_CONF=expandable_segments:True</td></tr>
        </table>
      </div>
    </div>
  </div></div>
  <div class="collapsible"><h2 class="collapsible-header">communication</h2>
  <div class="collapsible-content">
    <div class="collapsible">
      <h2 class="collapsible-header" style="background-color: #65c294;">Byte Alignment Analysis</h2>
      <div class="collapsible-content">
        <a id="byte_alignment_description">2 communication operators are not aligned.</a>
        <table><tr><th>Suggestions</th></tr><tr><td>1. Adjust the data size.</td></tr></table>
        <a id="detail_description">The details of top 2 abnormal communication operators are as follows:</a>
        <table><tr><th> op name </th><th> size </th></tr><tr><td>hcom_allReduce_1</td><td>1000</td></tr></table>
      </div>
    </div>
  </div></div>
</div></div>
<script>const x = "<h2 class='collapsible-header'>not a section</h2>";</script>
</div></body></html>"""
