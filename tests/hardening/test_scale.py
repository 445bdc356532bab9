"""Scale: a 10-million-event trace and a 1 GB torch_npu operator_memory.csv
are analyzed within 2 GB of peak RSS.

Each analysis runs in a fresh subprocess so its peak RSS is its own. These
take minutes, so they are skipped unless ``UBSCOPE_SCALE_TESTS=1``; run them
with ``-s`` to see the figures (RELIABILITY.md records them).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.peak_memory import child_script

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("UBSCOPE_SCALE_TESTS") != "1",
        reason="takes minutes and GBs of disk; set UBSCOPE_SCALE_TESTS=1 to run",
    ),
]

REPO = Path(__file__).resolve().parents[2]
RSS_LIMIT = 2 << 30
TRACE_EVENTS = 10_000_000
CSV_BYTES = 1 << 30
# Runs in the child: analyze, render the JSON output, print seconds and peak RSS.
CHILD = child_script(
    """
import io, json, sys, time
from rich.console import Console
from ubscope.analyzers.api import analyze_path
from ubscope.analyzers.output import render
start = time.perf_counter()
kind, path = sys.argv[1], sys.argv[2]
analysis = analyze_path(path) if kind == "trace" else analyze_path(None, torch_npu=path)
render(analysis, "json", Console(file=io.StringIO()))
print(json.dumps({
    "seconds": time.perf_counter() - start,
    "rss_bytes": peak_rss_bytes(),
    "events": analysis.trace.event_count if analysis.trace is not None else None,
    "findings": len(analysis.findings),
    "tables": {k: len(v) for r in analysis.vendor for k, v in r.tables.items()},
}))
"""
)
REPORT_CHILD = child_script(
    """
import sys
from ubscope.cli import main
code = main(["report", sys.argv[1], "-o", sys.argv[2]])
print(peak_rss_bytes())
sys.exit(code)
"""
)
# Rows in the format torch_npu writes (CRLF, a TAB after each timestamp, empty
# release cells for blocks still alive at the end), sizes and times varied.
OPERATOR_MEMORY_HEADER = (
    "Name,Size(KB),Allocation Time(us),Release Time(us),Active Release Time(us),Duration(us),"
    "Active Duration(us),Allocation Total Allocated(MB),Allocation Total Reserved(MB),"
    "Allocation Total Active(MB),Release Total Allocated(MB),Release Total Reserved(MB),"
    "Release Total Active(MB),Stream Ptr,Device Type\r\n"
)
OPERATORS = (
    "aten::empty_strided",
    "aten::mm",
    "aten::add",
    "aten::layer_norm",
    "aten::_softmax",
    "npu::npu_incre_flash_attention",
    "aten::cat",
    "aten::copy_",
)


def _analyze_in_child(kind: str, path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(path)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _operator_memory_block(rows: int, start_us: int) -> str:
    lines = []
    for index in range(rows):
        alloc = start_us + index * 37
        size = 0.5 + (index * 7919) % 65536
        allocated = 900 + (index % 500) * 0.25
        if index % 11:
            duration = 13 + index % 977
            release = f"{alloc + duration}.250\t,{alloc + duration}.250\t,{duration}.0,{duration}.0"
            after = f"{allocated - size / 1024:.4f},1452.0,{allocated - size / 1024:.4f}"
        else:
            release, after = ",,,", ",,"
        lines.append(
            f"{OPERATORS[index % len(OPERATORS)]},{size},{alloc}.810\t,{release},"
            f"{allocated:.4f},1452.0,{allocated:.4f},{after},897357296,NPU:0\r\n"
        )
    return "".join(lines)


def _write_operator_memory(path: Path, target_bytes: int) -> int:
    """Repeat a 20 000-row block (times shifted per block) until ``target_bytes``."""
    block = _operator_memory_block(20_000, 1_736_408_883_694_624).encode()
    written = 0
    with open(path, "wb") as handle:
        handle.write(OPERATOR_MEMORY_HEADER.encode())
        while written < target_bytes:
            handle.write(block)
            written += len(block)
    return written


@pytest.fixture(scope="module")
def big_trace(tmp_path_factory) -> tuple[Path, int]:
    """A 10-million-event trace written by bench/make_big_trace.py (run as a script)."""
    path = tmp_path_factory.mktemp("big") / "big.ubtrace"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "make_big_trace.py"), str(TRACE_EVENTS), str(path)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = re.fullmatch(r"wrote (\d+) events to .*", done.stdout.strip())
    assert report is not None, done.stdout
    written = int(report.group(1))
    print(
        f"\n10M-event trace: {written} events, {path.stat().st_size / 1e6:.0f} MB on disk, "
        f"written in {time.perf_counter() - start:.0f} s"
    )
    return path, written


def test_ten_million_event_trace_within_2_gb(big_trace):
    path, written = big_trace
    result = _analyze_in_child("trace", path)
    print(
        f"\n10M-event trace: analyze_path + JSON output {result['seconds']:.1f} s, "
        f"peak RSS {result['rss_bytes'] / 2**30:.2f} GiB"
    )
    assert result["events"] == written >= TRACE_EVENTS
    assert result["rss_bytes"] <= RSS_LIMIT


def test_report_of_ten_million_events_within_2_gb_and_10_mb(big_trace, tmp_path):
    """``ubscope report`` decimates: the page stays small and RSS bounded."""
    path, _ = big_trace
    output = tmp_path / "big.html"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", REPORT_CHILD, str(path), str(output)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rss = int(done.stdout.strip().splitlines()[-1])
    print(
        f"\n10M-event trace: ubscope report {time.perf_counter() - start:.1f} s, "
        f"{output.stat().st_size / 1e6:.1f} MB, peak RSS {rss / 2**30:.2f} GiB"
    )
    assert output.stat().st_size <= 10_000_000
    assert rss <= RSS_LIMIT


def test_one_gb_operator_memory_csv_within_2_gb(tmp_path):
    folder = tmp_path / "rank0_ascend_pt" / "ASCEND_PROFILER_OUTPUT"
    folder.mkdir(parents=True)
    path = folder / "operator_memory.csv"
    written = _write_operator_memory(path, CSV_BYTES)
    rows = written // (len(_operator_memory_block(20_000, 0).encode()) // 20_000)
    result = _analyze_in_child("torch_npu", folder.parent)
    print(
        f"\n1 GiB operator_memory.csv: {written / 2**30:.2f} GiB, ~{rows / 1e6:.1f} M rows; "
        f"analyze_path + JSON output {result['seconds']:.0f} s, "
        f"peak RSS {result['rss_bytes'] / 2**30:.2f} GiB; tables {result['tables']}"
    )
    assert result["tables"]["operator_memory_by_name"] == len(OPERATORS)
    assert result["rss_bytes"] <= RSS_LIMIT
