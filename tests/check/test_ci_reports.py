"""JUnit XML, Markdown summary, GitHub annotations and the terminal table of a check."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

from rich.console import Console

from ubscope.analyzers import Severity
from ubscope.check.annotations import (
    annotation,
    escape_annotation_data,
    escape_annotation_property,
    github_annotations,
)
from ubscope.check.junit import junit_xml
from ubscope.check.markdown import markdown_summary
from ubscope.check.table import plain_table
from ubscope.check.terminal import print_results
from ubscope.check.tolerances import Tolerances
from ubscope.check.verdicts import CheckResult, Limit, Problem, check_measurement

NASTY = 'a<b>&"c\x01|d`e%f,g:h\nnext'


def _results(make_measurement):
    """A passing, an improving, a regressed and an over-budget configuration."""
    baseline = make_measurement().metrics
    passing = check_measurement(
        make_measurement(), baseline, Tolerances(), baseline_path="b/p.json"
    )
    improved = check_measurement(
        make_measurement(**{"peak_bytes.UB": 50_000, "params": {"n": 2}}),
        baseline,
        Tolerances(),
        baseline_path="b/i.json",
    )
    regressed = check_measurement(
        make_measurement(**{"peak_bytes.UB": 120_000, "params": {"label": NASTY}}),
        baseline,
        Tolerances(),
        baseline_path="b/r.json",
    )
    limit = {"gm.read_bytes": Limit(1024, "budget budgets.yaml:7", "budgets.yaml", 7)}
    over = check_measurement(
        make_measurement(**{"params": {"n": 3}}),
        None,
        Tolerances(),
        limits=limit,
        baseline_state="skipped",
    )
    return [passing, improved, regressed, over]


def test_junit_has_one_testcase_per_configuration_and_parses(make_measurement):
    results = _results(make_measurement)
    root = ET.fromstring(junit_xml(results).encode("utf-8"))
    assert root.tag == "testsuites" and root.get("tests") == "4" and root.get("failures") == "2"
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 4
    assert [case.find("failure") is not None for case in cases] == [False, False, True, True]
    regressed = cases[2]
    assert 'label=a<b>&"c\\x01|d`e%f,g:h\nnext' in regressed.get("name")
    failure = regressed.find("failure")
    assert failure.get("type") == "regression"
    assert "peak_bytes.UB regressed" in failure.get("message")
    assert "peak_bytes.UB" in failure.text and "REGRESSED" in failure.text
    assert cases[3].find("failure").get("type") == "budget"
    assert cases[0].find("system-out").text.startswith("metric")


def test_markdown_has_the_table_and_escapes_cells(make_measurement):
    text = markdown_summary(_results(make_measurement), "ubscope baseline k.ubtrace -o b --update")
    assert text.startswith("## ubscope check: 4 kernel configurations, 2 failed, 2 passed")
    assert "A: run under test; B: baseline; delta = A - B" in text
    assert "| metric | A | B | delta | tolerance | limit | status | note |" in text
    assert (
        "| `peak_bytes.UB` | 120,000 B | 100,000 B | +20,000 B (+20.0%) | 2% |  | REGRESSED "
        "| allowed +2,000 B |" in text
    )
    assert "❌" in text and "✅" in text
    assert "```sh\nubscope baseline k.ubtrace -o b --update\n```" in text
    # Text from traces cannot break the table or inject HTML.
    assert "<b>" not in text and "a&lt;b&gt;&amp;" in text and "\x01" not in text
    assert "### ❌ `pool_demo[label=a&lt;b&gt;&amp;\"c |d'e%f,g:h next]`: FAILED" in text
    separators = None
    for line in text.splitlines():
        if line.startswith("| metric |"):
            separators = line.count(" | ")  # one fewer than the table's columns
        if line.startswith("| `peak_bytes.UB`"):
            assert line.count(" | ") == separators


def test_annotation_escaping_follows_github_rules():
    assert escape_annotation_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_annotation_property("a:b,c%") == "a%3Ab%2Cc%25"
    line = annotation("error", "x\ny", "t:1,2", "budgets.yaml", 7)
    assert line == "::error file=budgets.yaml,line=7,title=t%3A1%2C2::x%0Ay"


def test_annotations_per_problem_and_improvement(make_measurement):
    lines = github_annotations(_results(make_measurement))
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == 2
    assert errors[0].startswith("::error file=b/r.json,title=ubscope regression%3A pool_demo::")
    assert "%0Anext" in errors[0] and "\n" not in errors[0]
    assert errors[1].startswith("::error file=budgets.yaml,line=7,title=ubscope budget%3A")
    notices = [line for line in lines if line.startswith("::notice ")]
    assert len(notices) == 1 and "improved: peak_bytes.UB" in notices[0]


def test_terminal_table_shows_changed_rows_and_problems(make_measurement):
    buffer = io.StringIO()
    print_results(_results(make_measurement), Console(file=buffer, width=200))
    text = buffer.getvalue()
    assert "FAILED" in text and "passed (improved)" in text
    assert "REGRESSED" in text and "OVER LIMIT" in text and "improved" in text
    assert "gm.read_bytes = 64.0 KiB exceeds the limit 1.0 KiB (budget budgets.yaml:7)" in text
    assert "total_alloc_bytes.L0C" not in text  # unchanged rows are folded
    assert "4 kernel configurations, 2 failed, 2 passed" in text


def test_an_improvement_is_noticed_beside_a_failure(make_measurement):
    baseline = make_measurement().metrics
    mixed = check_measurement(
        make_measurement(**{"peak_bytes.UB": 120_000, "gm.read_bytes": 1024}),
        baseline,
        Tolerances(),
        baseline_path="b/m.json",
    )
    lines = github_annotations([mixed])
    assert [line.split(" ", 1)[0] for line in lines] == ["::error", "::notice"]
    assert "peak_bytes.UB regressed" in lines[0]
    assert lines[1].startswith("::notice file=b/m.json,title=ubscope improvement%3A pool_demo::")
    assert lines[1].endswith("improved: gm.read_bytes; update the baseline to keep it")


def _printed(results, width: int = 200) -> str:
    buffer = io.StringIO()
    print_results(results, Console(file=buffer, width=width))
    return buffer.getvalue()


def _did_not_run(make_measurement):
    problem = Problem("run", "the configuration did not run to the end (crashed: boom)")
    return CheckResult(make_measurement(**{"params": {"n": 4}}), [], extra_problems=[problem])


def test_a_configuration_that_did_not_run_has_no_table(make_measurement):
    text = _printed([_did_not_run(make_measurement)])
    assert "did not run to the end (crashed: boom)" in text
    assert "metric" not in text and "┃" not in text and "━" not in text
    assert "A: run under test" not in text  # no table, nothing to explain
    assert "1 kernel configuration, 1 failed" in text
    assert "did not run" in junit_xml([_did_not_run(make_measurement)])
    assert plain_table(_did_not_run(make_measurement)) == ""
    summary = markdown_summary([_did_not_run(make_measurement)])
    assert "| metric" not in summary and "did not run to the end" in summary
    assert "A: run under test" not in summary


def test_without_a_baseline_there_is_no_b(make_measurement):
    over = _results(make_measurement)[3]  # limits only
    text = _printed([_did_not_run(make_measurement), over])
    assert text.splitlines()[0] == "A: run under test"
    [header] = [line for line in text.splitlines() if line.startswith("metric ")]
    assert [cell.strip() for cell in header.split("┃")] == ["metric", "A", "limit", "status"]
    summary = markdown_summary([over])
    assert "\nA: run under test\n" in summary and "B: baseline" not in summary
    assert "| metric | A | limit | status | note |\n|:---|---:|---:|:---|:---|" in summary
    assert plain_table(over).splitlines()[0].split() == ["metric", "A", "limit", "status", "note"]
    assert plain_table(over).endswith("\nA: run under test")
    # With a baseline anywhere, the legend is whole; that table keeps its B.
    text = _printed(_results(make_measurement))
    assert text.splitlines()[0] == "A: run under test; B: baseline; delta = A - B"
    headers = [line for line in text.splitlines() if line.startswith("metric ")]
    assert ["B" in [cell.strip() for cell in line.split("┃")] for line in headers] == [
        True,
        True,
        True,
        False,
    ]


def test_a_new_finding_code_points_at_its_source_line_a_grown_one_at_the_baseline(
    make_measurement,
):
    """A code the baseline had none of is new at every site, so its source
    line is where to look; when a count grows from 1 to 2 the new site is
    unknown and the annotation stays on the baseline file."""
    severities = {"ALN002": Severity.ERROR}
    current = make_measurement(severities, **{"findings.by_code.ALN002": 2})
    current.code_lines = {"ALN002": "kern/a.cpp:5"}
    lines = {}
    for before in (0, 1):
        baseline = make_measurement(severities, **{"findings.by_code.ALN002": before}).metrics
        result = check_measurement(current, baseline, Tolerances(), baseline_path="b/a.json")
        lines[before] = github_annotations([result])
    assert [line.split("::")[1] for line in lines[0]] == [
        "error file=kern/a.cpp,line=5,title=ubscope finding%3A pool_demo"
    ]
    assert [line.split("::")[1] for line in lines[1]] == [
        "error file=b/a.json,title=ubscope finding%3A pool_demo"
    ]
