"""Issue 16, done when: a planted bug in an article kernel, run on the CPU twin,
is reported at its source line in ``ubscope analyze``, the HTML report and the
TUI, which group the findings by call site (file:line).

The kernel is layernorm_inplace.cpp with ``UBSCOPE_PLANT_TAIL`` and
``LN_HIDDEN=1000``: every row copy moves 2000 B with the DataCopy count form,
62 whole 32 B blocks and 16 B that the device drops (ALN002)."""

from __future__ import annotations

import asyncio
import html
import json
import re
from pathlib import Path

import pytest

import ubscope.kernels
from tests.helpers.source_lines import call_site
from tests.tui.helpers import screen_text, wait_for_views
from ubscope.analyzers import Analysis, analyze_path
from ubscope.analyzers.findings import CallSiteGroup
from ubscope.cli import main
from ubscope.tui.app import UbscopeApp
from ubscope.tui.widgets.findings_panel import describe_finding

pytestmark = pytest.mark.ascendc_twin
LAYERNORM = Path(ubscope.kernels.__file__).parent / "ascendc" / "layernorm_inplace.cpp"
# The kernel's one DataCopy (CopyRow), found in the source, not from a trace.
SITE = call_site(LAYERNORM, "DataCopy(dst, src, HIDDEN)")
# 20 rows over 8 blocks: 3 a block, so blocks 0-6 work. Copies: gamma and beta
# once per working block (14) and x in, residual in, x out per row (60): 74,
# each dropping 2000 - 62 * 32 = 16 B, 1184 B in all.
# The code on that line, as a finding shows it (the source's indent left out).
CODE = "DataCopy(dst, src, HIDDEN);"
DROPPED = "74 DataCopy call(s)"
DROPPED_BYTES = "(1184 B)"


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    trace = tmp_path_factory.mktemp("views") / "tail.ubtrace"
    tensors = [
        *("--output", "x=float16:20x1000:randn"),
        *("--input", "residual=float16:20x1000:randn"),
        *("--input", "gamma=float16:1000:randn", "--input", "beta=float16:1000:randn"),
    ]
    defines = ["-D", "LN_ROWS=20", "-D", "LN_HIDDEN=1000", "-D", "UBSCOPE_PLANT_TAIL"]
    command = ["run", str(LAYERNORM), "--block-dim", "8", *tensors, *defines, "-o", str(trace)]
    assert main(command) == 0
    return trace


@pytest.fixture(scope="module")
def analysis(planted: Path) -> Analysis:
    return analyze_path(planted)


def at_site(analysis: Analysis) -> list:
    """The findings that point at the row copy, picked by their location alone."""
    return [f for f in analysis.findings if f.location.tag == SITE]


def test_analyze_names_the_row_copy_line(planted: Path, capsys) -> None:
    rc = main(["analyze", str(planted)])
    out = " ".join(capsys.readouterr().out.split())  # the text wraps at 80 columns
    assert rc == 1
    assert f"ALN002 {DROPPED} at call site '{SITE}'" in out and DROPPED_BYTES in out
    assert f"@{SITE}" in out
    assert f"code: {CODE}" in out


def test_each_view_shows_the_code_on_the_line(
    planted: Path, analysis: Analysis, tmp_path: Path
) -> None:
    """The trace keeps the code of each call site's line, so the findings show
    it wherever the trace is read, the source at hand or not: in JSON, in SARIF
    (the region's snippet, beside its line) and in the TUI's detail pane."""
    assert LAYERNORM.read_text().splitlines()[int(SITE.rpartition(":")[2]) - 1].strip() == CODE
    assert {f.location.code for f in at_site(analysis)} == {CODE}
    sarif_path = tmp_path / "tail.sarif"
    assert main(["analyze", str(planted), "--format", "sarif", "-o", str(sarif_path)]) == 1
    sarif = json.loads(sarif_path.read_text())
    [region] = {
        json.dumps(r["locations"][0]["physicalLocation"]["region"])
        for r in sarif["runs"][0]["results"]
        if r["ruleId"] == "ALN002"
    }
    assert json.loads(region) == {
        "startLine": int(SITE.rpartition(":")[2]),
        "snippet": {"text": CODE},
    }
    json_path = tmp_path / "tail.json"
    assert main(["analyze", str(planted), "--format", "json", "-o", str(json_path)]) == 1
    document = json.loads(json_path.read_text())
    assert {f["location"].get("code") for f in document["findings"] if f["code"] == "ALN002"} == {
        CODE
    }
    [aln002] = [f for f in at_site(analysis) if f.code == "ALN002"]
    assert f"\ncode {CODE}\n" in describe_finding(aln002).plain


def test_the_report_shows_the_line_in_its_findings_and_groups_by_it(
    planted: Path, analysis: Analysis, tmp_path: Path
) -> None:
    page = tmp_path / "tail.html"
    assert main(["report", str(planted), "-o", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    findings = re.search(r'<table class="findings">.*?</table>', text, re.DOTALL)
    assert findings is not None
    row = next(r for r in findings.group(0).split("<tr>") if "<td>ALN002</td>" in r)
    assert html.escape(f"{DROPPED} at call site '{SITE}'") in row and f"@{SITE}" in row
    assert f"<code>{html.escape(CODE)}</code>" in row
    # The call-site table: the row copy first (it holds the error), with every
    # finding whose location names it.
    sites = re.search(r'<table class="call-sites">(.*?)</table>', text, re.DOTALL)
    assert sites is not None
    first = sites.group(1).split("</tr>")[1]
    codes = ", ".join(sorted({f.code for f in at_site(analysis)}))
    assert first == (
        f'<tr><td>{html.escape(SITE)}</td><td><span class="sev sev-error">error</span></td>'
        f'<td class="num">{len(at_site(analysis))}</td><td>{codes}</td>'
    )


def test_the_tui_shows_the_line_and_groups_the_findings_under_it(analysis: Analysis) -> None:
    async def drive() -> tuple[str, str, list, str]:
        app = UbscopeApp(analysis=analysis)
        async with app.run_test(size=(150, 45)) as pilot:
            await wait_for_views(pilot, app)
            await pilot.press("2")  # the Findings view
            await pilot.pause()
            flat = screen_text(app)
            panel = app.screen.query_one("#findings-panel")
            await pilot.press("g")  # group by call site
            await pilot.pause()
            rows = list(panel.rows)
            grouped = screen_text(app)
            panel.table.move_cursor(row=0)
            await pilot.pause()
            detail = str(panel.query_one("#finding-detail").render())
        return flat, grouped, rows, detail

    flat, grouped, rows, detail = asyncio.run(drive())
    assert f"{DROPPED} at call site '{SITE}'" in flat
    expected = at_site(analysis)
    header = rows[0]
    assert isinstance(header, CallSiteGroup) and header.site == SITE
    # The header row, then its findings (by index), then the next call site.
    members = rows[1 : 1 + len(expected)]
    assert [analysis.findings[i] for i in members] == expected
    assert len(rows) == 1 + len(expected) or isinstance(rows[1 + len(expected)], CallSiteGroup)
    codes = ", ".join(sorted({f.code for f in expected}))
    assert f"▾ {SITE}: {codes}" in grouped
    assert detail.startswith(SITE) and f"{len(expected)} finding(s), worst error" in detail
