"""A real browser opens a report offline: plotly draws every figure, the page
logs nothing to the console and makes no network request.

Runs headless Chromium (Debian's ``chromium`` package); skipped where it is
not installed. Requests Chromium itself makes in the background (component
updates, sign-in) are told apart from the page's by their initiator.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.helpers.html_injection import EVIL
from ubscope.reports.report import write_report

CHROMIUM = next(
    (
        p
        for p in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium")
        if p and Path(p).is_file()
    ),
    None,
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)"
)
BROWSER_INITIATED = "not an origin"


def _chromium(page: Path, workdir: Path, *mode: str) -> tuple[str, str, Path]:
    """Open ``page`` from a file:// URL with every network name unresolvable;
    returns stdout, stderr and the net log."""
    net_log = workdir / f"net-{len(list(workdir.iterdir()))}.json"
    profile = workdir / "profile"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
        f"--log-net-log={net_log}",
        "--virtual-time-budget=15000",
        *mode,
        page.resolve().as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    shutil.rmtree(profile, ignore_errors=True)
    return result.stdout, result.stderr, net_log


def _console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def _page_requests(net_log: Path) -> list[str]:
    """http(s) URLs the page (not the browser itself) asked for."""
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        event["params"]["url"]
        for event in log["events"]
        if event["type"] == start_job
        and re.match(r"https?://", event.get("params", {}).get("url", ""))
        and event["params"].get("initiator") != BROWSER_INITIATED
    ]


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_the_checks_catch_a_page_that_errs_and_fetches(tmp_path):
    """The detectors below are real: a page that logs an error and fetches fails them."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><img src="https://example.com/x.png">'
        '<script>console.error("boom"); fetch("http://example.org/d.json");</script>'
    )
    _, stderr, net_log = _chromium(page, tmp_path, "--dump-dom")
    assert any("boom" in message for message in _console_messages(stderr))
    assert set(_page_requests(net_log)) >= {
        "https://example.com/x.png",
        "http://example.org/d.json",
    }


def test_report_renders_offline_without_errors_or_requests(hostile_analysis, tmp_path):
    report = write_report(hostile_analysis, tmp_path / "report.html")
    figures = report.read_text().count('class="figure"')
    screenshot = tmp_path / "report.png"
    dom, stderr, net_log = _chromium(
        report, tmp_path, "--dump-dom", f"--screenshot={screenshot}", "--window-size=1400,3000"
    )
    assert _console_messages(stderr) == []
    assert _page_requests(net_log) == []
    assert dom.count('class="main-svg"') >= figures >= 6  # plotly drew every figure
    assert dom.count('class="figure js-plotly-plot"') == figures
    assert EVIL not in dom  # the hostile names stayed text
    assert _png_size(screenshot) == (1400, 3000) and screenshot.stat().st_size > 50_000


# Appended to a copy of a report: once plotly has drawn, record where each
# section and chart sits and whether each chart has any non-zero value.
MEASURE = """<script>
addEventListener("load", function () { setTimeout(function () {
  var out = {sections: {}, charts: []};
  document.querySelectorAll("section").forEach(function (s) {
    out.sections[s.id] = s.getBoundingClientRect().top + scrollY;
  });
  document.querySelectorAll(".js-plotly-plot").forEach(function (g) {
    var drawn = g._fullData.some(function (t) {  // _fullData: y decoded from base64
      return Array.prototype.some.call(t.y || [], function (v) { return v > 0; });
    });
    out.charts.push({section: g.closest("section").id, drawn: drawn,
                     top: g.getBoundingClientRect().top + scrollY});
  });
  var pre = document.createElement("pre");
  pre.id = "measured";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 1000); });
</script>"""


@pytest.mark.parametrize("width", [1400, 800])
def test_compared_report_reads_top_down_without_empty_charts(
    overflow_analysis, fragmented_analysis, tmp_path, width
):
    report = write_report(overflow_analysis, tmp_path / "report.html", compare=fragmented_analysis)
    page = tmp_path / "measured.html"
    page.write_text(report.read_text().replace("</body>", MEASURE + "</body>"))
    dom, stderr, _ = _chromium(page, tmp_path, "--dump-dom", f"--window-size={width},1000")
    assert _console_messages(stderr) == []
    measured = json.loads(re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S).group(1))
    sections, charts = measured["sections"], measured["charts"]
    # the verdict, then what changed (findings new / fixed, metric deltas), then charts
    first_chart = min(chart["top"] for chart in charts)
    assert sections["verdict"] < sections["changes"] < sections["summary"] < first_chart
    # A's bump pool has no fragmentation: its side says why instead of a flat line
    assert all(chart["drawn"] for chart in charts if chart["section"] == "fragmentation")
    assert "nothing to show: no fragmentation finding and no allocation failed" in dom
