"""``check``, the TUI and the HTML report show one comparison in the same words.

Two pool_demo runs on TPipe queues differ only in their tile: B (baseline)
1024 fp16 elements, A (under test) 2048. Each run's UB holds 3 queues x 2
buffers x tile x 2 bytes: B = 3 * 2 * 1024 * 2 = 12,288 B = 12 KiB and
A = 24 KiB, so every view must show delta = A - B = +12 KiB, 12 / 12 = +100%.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ubscope.analyzers.api import analyze_path
from ubscope.analyzers.metric_catalog import flatten_metrics
from ubscope.check.markdown import markdown_summary
from ubscope.check.measurement import measurement_from_metrics
from ubscope.check.table import COLUMNS, row_cells
from ubscope.check.tolerances import Tolerances
from ubscope.check.verdicts import check_measurement
from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip
from ubscope.reports.report import build_report
from ubscope.tui.app import UbscopeApp

from .helpers import screen_text, wait_for_views

EXPECTED = ("24.0 KiB", "12.0 KiB", "+12.0 KiB (+100.0%)")
LEGEND_WORDS = ("A: run under test", "B: baseline", "delta = A - B")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    folder: Path = tmp_path_factory.mktemp("doubling")
    spec, chip = get_kernel("pool_demo"), load_chip()
    analyses = {}
    for side, tile in (("a", 2048), ("b", 1024)):
        params = spec.resolve(overrides={"n": 16384, "cores": 2, "tile": tile})
        path = folder / f"tile_{side}.ubtrace"
        run_kernel(spec, params, chip, path)
        analyses[side] = analyze_path(path)
    return analyses


def test_check_shows_the_doubling_as_a_minus_b(runs):
    a, b = runs["a"], runs["b"]
    result = check_measurement(
        measurement_from_metrics(a.metrics), flatten_metrics(b.metrics), Tolerances()
    )
    row = next(r for r in result.rows if r.metric == "peak_bytes.UB")
    cells = dict(zip(COLUMNS, row_cells(row), strict=True))
    assert (cells["A"], cells["B"], cells["delta"]) == EXPECTED
    summary = markdown_summary([result])
    assert all(word in summary for word in LEGEND_WORDS)


def test_report_shows_the_doubling_as_a_minus_b(runs):
    page = build_report(runs["a"], compare=runs["b"])
    row = re.search(r"<tr[^>]*><td>peak_bytes\.UB</td>(.*?)</tr>", page)
    assert row is not None
    cells = re.findall(r'<td class="num">(.*?)</td>', row.group(1))
    assert tuple(cells) == EXPECTED
    assert all(word in page for word in LEGEND_WORDS)


async def test_tui_shows_the_doubling_as_a_minus_b(runs):
    app = UbscopeApp(analysis=runs["a"], compare=runs["b"])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_views(pilot, app)
        await pilot.press("8")
        table = app.screen.query_one("#compare-metrics")
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [table.columns[k].label.plain for k in table.columns] == [
            "metric",
            "A",
            "B",
            "delta",
        ]
        assert tuple(next(r for r in rows if r[0] == "peak_bytes.UB")[1:]) == EXPECTED
        assert all(word in screen_text(app) for word in LEGEND_WORDS)
