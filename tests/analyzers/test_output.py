"""Reports: terminal text (markup-safe), JSON and SARIF 2.1.0."""

from __future__ import annotations

import io
import json
import re

from rich.console import Console

from ubscope.analyzers.findings import Location
from ubscope.analyzers.metrics import SCHEMA
from ubscope.analyzers.output import render, to_json, to_sarif

METRIC_KEYS = {
    "schema",
    "kernel",
    "preset",
    "params",
    "chip",
    "config_key",
    "modelled_time_ps",
    "peak_bytes",
    "high_water_bytes",
    "total_alloc_bytes",
    "gm",
    "fragmentation",
    "kv_cache",
    "roofline",
    "findings",
}


def markup_trace(kit):
    s = kit.Synthetic(kernel="[bold red]kern[/]")
    for _ in range(2):
        s.rec.redzone_write(1, 0, 2, 190 * kit.KIB, 4 * kit.KIB, 2 * kit.KIB, "[bold red]x[/]", 0)
    return s.trace()


def test_text_report_prints_trace_strings_literally(kit):
    analysis = kit.analyze(markup_trace(kit))
    out = io.StringIO()
    render(analysis, "text", Console(file=out, width=200, color_system=None, highlight=False))
    text = out.getvalue()
    assert "[bold red]x[/]" in text and "[bold red]kern[/]" in text
    assert "ERROR (1)" in text and "UB002" in text


def test_text_report_lines_never_end_in_a_space(kit):
    """At 40 columns the summary, the warnings and every finding wrap; a
    wrapped line ends at a word, not in the space before the next one."""
    analysis = kit.analyze(markup_trace(kit))
    analysis.warnings.append("a warning long enough to wrap onto a second line at forty columns")
    out = io.StringIO()
    render(analysis, "text", Console(file=out, width=40, color_system=None, highlight=False))
    lines = out.getvalue().splitlines()
    assert any(line.startswith("1 error, 0 warnings") for line in lines)
    assert [line for line in lines if line.endswith(" ")] == []


def test_json_has_findings_and_documented_metrics(kit):
    analysis = kit.analyze(markup_trace(kit))
    document = json.loads(json.dumps(to_json(analysis)))
    assert document["metrics"]["schema"] == SCHEMA
    assert set(document["metrics"]) == METRIC_KEYS
    assert document["findings"][0]["code"] == "UB002"
    assert document["findings"][0]["location"]["tag"] == "[bold red]x[/]"
    assert document["metrics"]["findings"]["by_code"] == {"UB002": 1}


def test_sarif_structure(kit):
    s, _ = kit.Synthetic(), None
    s.alloc(0, 100 * kit.KIB, "a", tag="tiles")
    s.alloc(100 * kit.KIB, 100 * kit.KIB, "b", tag="tiles")  # overflow: error
    analysis = kit.analyze(s.trace())
    log = json.loads(json.dumps(to_sarif(analysis)))
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        if rule["id"].startswith(("UB", "ALN", "FRG", "GM")):
            assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
            assert "## Why it matters" in rule["help"]["text"]
    levels = {"error", "warning", "note"}
    for result in run["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in levels and result["message"]["text"]
        logical = result["locations"][0]["logicalLocations"]
        assert logical[0] == {
            "name": "synthetic",
            "fullyQualifiedName": "synthetic",
            "kind": "function",
        }
    overflow = next(r for r in run["results"] if r["ruleId"] == "UB001")
    assert overflow["level"] == "error"
    names = [part["name"] for part in overflow["locations"][0]["logicalLocations"]]
    assert names == ["synthetic", "aiv0", "tiles"]
    assert overflow["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]


def test_a_location_points_anywhere_only_when_it_shows_a_place():
    # what decides whether the text output, the TUI and the report print an
    # "at" line: any field describe() prints; a core kind alone prints nothing,
    # and event 0 and address 0 are places (a truthiness test would drop them)
    assert not Location().points_anywhere
    assert not Location(core_kind="aiv").points_anywhere
    assert Location(first_seq=0).points_anywhere
    assert Location(space="UB", addr_start=0).points_anywhere
    assert Location(kernel="add").describe() == "add"
    assert Location().describe() == "-"


def test_counts_in_the_text_report_have_thousands_separators(kit):
    """A big trace's counts stay readable: 1,200 red-zone writes at one site
    are "1,200 write(s)", and the header's event count (those writes plus the
    few events the synthetic trace adds) is grouped the same way."""
    s = kit.Synthetic()
    for _ in range(1200):
        s.rec.redzone_write(1, 0, 2, 190 * kit.KIB, 4 * kit.KIB, 2 * kit.KIB, "x", 0)
    out = io.StringIO()
    render(kit.analyze(s.trace()), "text", Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    assert "1,200 write(s)" in text
    assert re.search(r", 1,2\d\d events, modelled", text)
