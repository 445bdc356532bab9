"""The HTML report as a whole: self-contained, offline, escaped, written atomically."""

from __future__ import annotations

import json
import re

import pytest
from plotly.offline import get_plotlyjs

from tests.helpers.advice import whole_run_advice
from tests.helpers.html_injection import EVIL
from tests.helpers.vendor_csv import write_op_basic_info
from ubscope import __version__
from ubscope.analyzers import analyze_path
from ubscope.probe.errors import InputError
from ubscope.reports import report as report_module
from ubscope.reports.escape import text
from ubscope.reports.report import build_report, write_report
from ubscope.reports.tables import findings_table

SECTIONS = (
    "verdict",
    "findings",
    "vendor",
    "summary",
    "occupancy",
    "allocations",
    "fragmentation",
    "traffic",
    "roofline",
)


def _figures(page: str) -> list[dict]:
    blocks = re.findall(
        r'<script type="application/json" class="ubscope-figure"[^>]*>(.*?)</script>', page, re.S
    )
    return [json.loads(block) for block in blocks]


def _outside_plotly(page: str) -> str:
    bundle = get_plotlyjs()
    assert page.count(bundle) == 1, "plotly.js must be embedded exactly once"
    return page.replace(bundle, "")


def test_report_is_self_contained_and_requests_nothing(overflow_analysis):
    page = build_report(overflow_analysis)
    own = _outside_plotly(page)
    assert not re.search(r"https?://", own), "no URL outside the embedded plotly.js"
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#)""", own), "only in-page links"
    assert "@import" not in own and "url(" not in own
    assert "default-src 'none'" in own and "connect-src 'none'" in own
    figures = _figures(page)
    assert len(figures) == page.count('class="figure"') == 4  # no fragmentation here
    assert all(f["layout"].get("title") for f in figures)
    # top-down: the verdict and the findings come before any chart
    starts = [page.index(f'<section id="{anchor}">') for anchor in SECTIONS]
    assert starts == sorted(starts)


def test_header_names_chip_kernel_params_version_and_trace_file(overflow_analysis):
    page = build_report(overflow_analysis)
    header = page[page.index("<header>") : page.index("</header>")]
    trace = overflow_analysis.trace
    for expected in (
        trace.path.name,
        "Ascend910B2",
        "pool_demo",
        "pool_no_reset",
        "allocator=bump",
        f"ubscope {__version__}",
    ):
        assert expected in header
    assert str(trace.path.parent) not in header  # the file name, not where it lives


def test_findings_table_lists_codes_severity_explanation_and_suggestion(overflow_analysis):
    page = build_report(overflow_analysis)
    findings = page[page.index('<section id="findings">') : page.index('<section id="vendor">')]
    first = overflow_analysis.findings[0]
    assert first.code == "UB001" and "UB001" in findings and "sev-error" in findings
    assert text(first.suggestion) in findings and "why it matters" in findings


def test_a_suggestion_of_numbered_lines_keeps_its_lines(overflow_analysis):
    # the advisor's suggestions are "1. ...\n2. ...": shown as two lines, not run together
    finding = whole_run_advice("1. check HBM usage\n2. reduce <batch> size")
    table = findings_table([finding], empty="none")
    assert '<span class="fix">1. check HBM usage\n2. reduce &lt;batch&gt; size</span>' in table
    assert ".fix { white-space: pre-line; }" in build_report(overflow_analysis)
    assert "<small>" not in table  # it points nowhere: no "-" under the message


SANITIZER_LOG = f"""\
====== ERROR: illegal write of size 768
======    at 0x30000 on UB in "pool_demo_bump"
======    in block aiv(0) on device 0
======    code in pc current 0x65c (serialNo:12)
====== ERROR: illegal write of size 64
======    at 0x0 on UB in "{EVIL}"
======    in block aiv(1) on device 0
======    code in pc current 0x70 (serialNo:13)
"""


def test_vendor_findings_carry_their_correlation_marks(overflow_trace, tmp_path):
    log = tmp_path / "sanitizer.log"
    log.write_text(SANITIZER_LOG)
    page = build_report(analyze_path(overflow_trace, sanitizer=log))
    own = page[page.index('<section id="findings">') : page.index('<section id="vendor">')]
    vendor = page[page.index('<section id="vendor">') :]
    assert "&#10003; confirmed by msSanitizer (serialNo 12)" in own
    assert "sanitizer.log" in vendor and "SAN001" in vendor
    assert "&#10003; explained by UB002" in vendor
    assert '<div class="mark unmatched">&#10007; not explained by the trace' in vendor
    assert EVIL not in page and text(EVIL) in vendor


def test_the_header_says_what_a_profile_measured_as_text(overflow_trace, tmp_path):
    folder = write_op_basic_info(tmp_path / "OPPROF_1", EVIL, 12.5)
    page = build_report(analyze_path(overflow_trace, msprof_op=folder))
    header = page[page.index("<header>") : page.index("</header>")]
    assert f"<dt>measured</dt><dd>{text(EVIL)} (vector): 12.50 µs, block dim 1</dd>" in header
    assert EVIL not in page


def test_hostile_names_stay_text_everywhere(hostile_analysis):
    page = build_report(hostile_analysis)
    assert EVIL not in page and EVIL.lower() not in page.lower()
    assert text(EVIL) in page[page.index("<header>") : page.index("</header>")]
    # in the figures' data the names arrive HTML-escaped, which plotly shows as text
    labels = json.dumps(_figures(page))
    assert EVIL not in labels and json.dumps(text(EVIL))[1:-1] in labels


def test_compare_shows_both_traces_side_by_side(overflow_analysis, fragmented_analysis):
    single = len(_figures(build_report(overflow_analysis)))
    page = build_report(overflow_analysis, compare=fragmented_analysis)
    a, b = overflow_analysis.trace.path.name, fragmented_analysis.trace.path.name
    assert f"A: {a}" in page and f"B: {b}" in page
    assert "A: run under test; B: baseline; delta = A - B" in page and "gm.read_bytes" in page
    assert page.count('class="pair"') >= 4
    # B adds its own figures (fragmentation exists only in B: A's side says why not)
    figures = _figures(page)
    assert len(figures) > single and f"A: {a}: nothing to show: no fragmentation finding" in page
    # paired charts share one y scale: B's 192 KiB peak and A's 240 KiB overflow read alike
    occupancy = [f for f in figures if f["layout"]["title"]["text"].startswith("UB occupancy")]
    assert len(occupancy) == 2
    assert occupancy[0]["layout"]["yaxis"]["range"] == occupancy[1]["layout"]["yaxis"]["range"]


def test_write_report_replaces_the_file_only_when_complete(
    overflow_analysis, tmp_path, monkeypatch
):
    target = tmp_path / "report.html"
    assert write_report(overflow_analysis, target) == target
    first = target.read_text()
    assert first.startswith("<!DOCTYPE html>") and first.rstrip().endswith("</html>")

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            raise OSError(28, "No space left on device")

    real = report_module.atomic_output

    def failing(path):
        class Wrapper:
            def __enter__(self):
                self.context = real(path)
                return FullDisk(self.context.__enter__())

            def __exit__(self, *exc):
                return self.context.__exit__(*exc)

        return Wrapper()

    monkeypatch.setattr(report_module, "atomic_output", failing)
    with pytest.raises(InputError, match="No space left on device"):
        write_report(overflow_analysis, target)
    assert target.read_text() == first
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_the_verdict_and_findings_come_first_and_link_to_their_charts(overflow_analysis):
    page = build_report(overflow_analysis)
    verdict = page[page.index('<section id="verdict">') : page.index('<section id="findings">')]
    assert "Problems found:" in verdict and "error findings" in verdict
    charts = set(re.findall(r'<div id="(chart-[^"]+)">', page))
    links = re.findall(r'<a href="#(chart-[^"]+)">', page)
    assert links and set(links) <= charts  # every link lands on a chart of the page
    # the UB overflow (UB001 on aiv cores) points at UB occupancy and the aiv UB map
    row = re.search(r"<td>UB001</td>.*?</tr>", page, re.S).group(0)
    assert '<a href="#chart-occupancy-UB">' in row and '<a href="#chart-allocations-aiv-UB">' in row
