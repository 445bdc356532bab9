"""The report of a trace bigger than memory (issue 17): drawn from a streamed
analysis in bounded memory, with the charts one pass can draw exactly and a
reason for the ones it cannot."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ubscope.analyzers import analyze_path
from ubscope.analyzers.streaming import decide
from ubscope.cli import main
from ubscope.reports.report import build_report

KIB = 1024
SAMPLES = Path(__file__).resolve().parents[2] / "sample_profiles"


def _section(page: str, anchor: str) -> str:
    start = page.index(f'<section id="{anchor}">')
    return page[start : page.index("</section>", start)]


def _figures(html: str) -> list[dict]:
    blocks = re.findall(
        r'<script type="application/json" class="ubscope-figure"[^>]*>(.*?)</script>', html, re.S
    )
    return [json.loads(block) for block in blocks]


def _values(values: list | dict) -> np.ndarray:
    """A trace's x or y: plotly writes numpy arrays as base64 of their bytes."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values)


def test_a_streamed_report_draws_occupancy_and_traffic_and_says_what_it_left_out(
    hostile_trace,
):
    page = build_report(analyze_path(hostile_trace, stream=True))
    assert "streamed analysis" in _section(page, "summary")
    assert "not drawn" not in _section(page, "allocations")
    assert "not drawn" not in _section(page, "roofline")
    # the allocation map holds the blocks live at the overflowing core's peak:
    # core 0's four 64 KiB tiles at 0, 64, 128 and 192 KiB, freed together at
    # the end; core 1's peak (six 32 KiB blocks) is not the one mapped
    (allocations,) = _figures(_section(page, "allocations"))
    title = allocations["layout"]["title"]["text"]
    assert "aiv0" in title and "4 blocks live at its peak (streamed analysis)" in title
    tiles = [shape for shape in allocations["data"] if shape.get("fill") == "toself"]
    corners = sorted(
        (float(np.nanmin(_values(tile["y"]))), float(np.nanmax(_values(tile["y"]))))
        for tile in tiles
    )
    assert corners == [(0, 64), (64, 128), (128, 192), (192, 256)]
    # core 0 of the hostile trace (tests/reports/conftest.py) holds four 64 KiB
    # tiles at once: its UB line peaks at 256 KiB; core 1 holds six 32 KiB blocks
    # (192 KiB) before freeing half of them
    (occupancy,) = _figures(_section(page, "occupancy"))
    peaks = {
        line["name"]: _values(line["y"]).max()
        for line in occupancy["data"]
        if line.get("mode") == "lines"
    }
    assert peaks == {"aiv0": 256, "aiv1": 192}
    # GM traffic: four 64 KiB tiles read, one written, named by their tensor
    (traffic,) = _figures(_section(page, "traffic"))
    bars = [bar for bar in traffic["data"] if bar["type"] == "bar"]
    assert sum(_values(bar["y"]).sum() for bar in bars) == 5 * 64
    # distinct bytes from the streamed byte ranges
    assert all("distinct bytes" in bar["hovertemplate"] for bar in bars)
    assert "<script>alert" not in page.replace("&lt;script&gt;", "")


def test_report_streams_a_trace_too_big_for_memory_on_its_own(hostile_trace, tmp_path, monkeypatch):
    # 1 KiB available: no trace's in-memory analysis fits in half of it
    monkeypatch.setattr(decide.psutil, "virtual_memory", lambda: SimpleNamespace(available=1024))
    out = tmp_path / "report.html"
    assert main(["report", str(hostile_trace), "-o", str(out)]) == 0
    assert "streamed analysis" in out.read_text()


def test_report_stream_flag_streams_any_trace(hostile_trace, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", "--stream", str(hostile_trace), "-o", str(out)]) == 0
    assert "streamed analysis" in out.read_text()
    assert main(["report", str(hostile_trace), "-o", str(out)]) == 0
    assert "streamed analysis" not in out.read_text()


def test_a_streamed_report_draws_fragmentation_as_the_whole_trace_does():
    # the sample's free list fragments (FRG002): the streamed chart keeps every
    # point of each core's series (fewer than the sketch's limit), so its lines
    # are the in-memory report's, point for point
    sample = SAMPLES / "pool_demo_freelist_fragmentation.ubtrace"
    pages = [build_report(analyze_path(sample, stream=stream)) for stream in (False, True)]
    whole, streamed = (_figures(_section(page, "fragmentation")) for page in pages)
    assert "not drawn" not in _section(pages[1], "fragmentation")
    assert len(whole) == len(streamed) == 1
    lines = [
        {line["name"]: _values(line["y"]).tolist() for line in figure[0]["data"]}
        for figure in (whole, streamed)
    ]
    assert lines[0] == lines[1]
    assert max(max(y) for y in lines[1].values()) > 0.5  # FRG002's default threshold
