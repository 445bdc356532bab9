"""A rule is one unit: one file per code, its four documented parts checked at
registration, ``ubscope rule CODE`` showing them, and rules from other packages
discovered through the ``ubscope.rules`` entry point group."""

from __future__ import annotations

import importlib.metadata
import inspect
import json
from pathlib import Path

import pytest

import ubscope.analyzers.rules as rules_package
from ubscope.analyzers.findings import Severity
from ubscope.analyzers.rules import RulePluginWarning, load_plugins, load_rules
from ubscope.analyzers.rules.base import (
    DOC_SECTIONS,
    REGISTRY,
    Rule,
    RuleDocError,
    Threshold,
    missing_parts,
    register,
)
from ubscope.analyzers.rules.explain import explain_rule
from ubscope.cli import main

FAMILIES = {"UB": "ub", "ALN": "aln", "FRG": "frg", "GM": "gm", "SYN": "syn"}
COMPLETE_DOC = """A complete rule.

## What it does
Flags nothing.

## Why it matters
It shows what a rule documents.

## Example
Any trace.

## How to fix
Nothing to fix.
"""


def test_every_registered_rule_has_all_its_parts():
    incomplete = {code: missing_parts(rule) for code, rule in load_rules().items()}
    assert {code: parts for code, parts in incomplete.items() if parts} == {}
    for rule in REGISTRY.values():
        assert list(rule.sections()) == list(DOC_SECTIONS)


def test_each_trace_rule_is_one_file_in_its_family_folder():
    trace_rules = {code: rule for code, rule in load_rules().items() if rule.input_kind == "trace"}
    assert len(trace_rules) == 29
    for code, rule in trace_rules.items():
        family = FAMILIES[code.rstrip("0123456789")]
        path = Path(inspect.getsourcefile(rule))
        assert (path.parent.name, path.name) == (family, f"{code.lower()}.py")
        module = inspect.getmodule(rule)
        defined = [
            c for c in vars(module).values() if inspect.isclass(c) and c in REGISTRY.values()
        ]
        assert defined == [rule]


def make_rule(doc: str | None = COMPLETE_DOC, **attributes) -> type[Rule]:
    namespace = {"code": "TST001", "name": "test-rule", "__doc__": doc, **attributes}
    return type("TestRule", (Rule,), namespace)


@pytest.mark.parametrize(
    ("rule", "missing"),
    [
        (make_rule(name=""), "name"),
        (make_rule(COMPLETE_DOC.replace("## Example\nAny trace.\n", "")), "'## Example' section"),
        (make_rule(COMPLETE_DOC.replace("Nothing to fix.", "")), "'## How to fix' section"),
        (make_rule("## What it does\nx\n"), "docstring summary line"),
        (make_rule(COMPLETE_DOC + "\n## Notes\nmore\n"), "only the sections"),
        (make_rule(thresholds={"limit": 1.0}), "meaning of threshold 'limit'"),
        (make_rule(thresholds={"limit": Threshold(1.0, " ")}), "meaning of threshold 'limit'"),
    ],
)
def test_registration_names_the_rule_and_the_missing_part(rule, missing):
    with pytest.raises(RuleDocError, match=r"rule TST001 \(TestRule\) lacks: .*") as caught:
        register(rule)
    assert missing in str(caught.value)
    assert "TST001" not in REGISTRY


def test_a_complete_rule_registers_and_its_thresholds_keep_their_defaults(monkeypatch):
    rule = make_rule(thresholds={"limit": Threshold(2, "how many is too many")})
    monkeypatch.delitem(REGISTRY, "TST001", raising=False)
    assert register(rule) is rule
    assert rule().limits == {"limit": 2.0}
    assert rule({"limit": 3}).limits == {"limit": 3.0}
    REGISTRY.pop("TST001")


def test_rule_explains_its_parts_thresholds_and_source(capsys):
    assert main(["rule", "ub006"]) == 0
    text = capsys.readouterr().out
    for heading in DOC_SECTIONS:
        assert f"\n{heading}\n" in text
    meaning = REGISTRY["UB006"].thresholds["min_repeats"].meaning
    assert f"min_repeats = 2: {meaning}" in " ".join(text.split())

    assert main(["rule", "FRG002", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["code"] == "FRG002" and list(document["sections"]) == list(DOC_SECTIONS)
    assert {t["name"]: t["default"] for t in document["thresholds"]} == {
        "max_external": 0.5,
        "min_free_fraction": 0.1,
    }
    lines = Path(document["file"]).read_text(encoding="utf-8").splitlines()
    assert Path(document["file"]).name == "frg002.py"
    assert lines[document["line"] - 1].startswith("class ExternalFragmentation(")
    assert explain_rule(" frg002 ").to_dict() == document


PLUGIN = '''
from ubscope.analyzers.findings import Severity
from ubscope.analyzers.rules import Rule, register


class EventCount(Rule):
    """Counts the events of a trace.

    ## What it does
    Reports how many events the trace holds.

    ## Why it matters
    It shows that a rule from another package runs.

    ## Example
    Any trace.

    ## How to fix
    Nothing to fix.
    """

    code = "{code}"
    name = "event-count"
    severity = Severity.INFO

    def check(self, ctx):
        return [self.finding(f"{{len(ctx.events)}} events")]
'''


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """Fake installed distributions: ``entry(name, value)`` adds an entry point of
    the ``ubscope.rules`` group; registered rules are dropped afterwards."""
    (tmp_path / "plugin_by_module.py").write_text(
        PLUGIN.format(code="PLG001") + "\nregister(EventCount)\n", encoding="utf-8"
    )
    (tmp_path / "plugin_by_class.py").write_text(PLUGIN.format(code="PLG002"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(rules_package, "_loaded_plugins", set())
    entries: list[importlib.metadata.EntryPoint] = []

    def entry_points(group: str) -> list[importlib.metadata.EntryPoint]:
        return [entry for entry in entries if entry.group == group]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    before = dict(REGISTRY)
    yield lambda name, value: entries.append(
        importlib.metadata.EntryPoint(name, value, "ubscope.rules")
    )
    REGISTRY.clear()
    REGISTRY.update(before)


def test_rules_from_entry_points_are_listed_and_run(plugins, kit, capsys):
    plugins("by_module", "plugin_by_module")
    plugins("by_class", "plugin_by_class:EventCount")
    load_plugins()
    assert REGISTRY["PLG001"].severity is Severity.INFO and "PLG002" in REGISTRY
    assert main(["rules"]) == 0
    listing = capsys.readouterr().out
    assert "PLG001" in listing and "PLG002" in listing
    s = kit.Synthetic()
    s.alloc(0, 1024, "a")
    found = [f for f in kit.analyze(s.trace()).findings if f.code.startswith("PLG")]
    assert sorted(f.code for f in found) == ["PLG001", "PLG002"]
    assert all(f.message.endswith(" events") for f in found)


def test_a_broken_plugin_is_one_warning_and_the_other_rules_still_load(plugins):
    plugins("missing", "no_such_module_for_ubscope")
    plugins("not_a_rule", "plugin_by_class:Severity")
    plugins("incomplete", "plugin_by_class:Rule")
    plugins("by_class", "plugin_by_class:EventCount")
    with pytest.warns(RulePluginWarning) as warned:
        load_plugins()
    messages = [str(w.message) for w in warned]
    assert len(messages) == 3
    assert messages[0].startswith("rule plugin missing (no_such_module_for_ubscope) not loaded:")
    assert messages[1].startswith("rule plugin not_a_rule (plugin_by_class:Severity)")
    assert "incomplete" in messages[2] and all("\n" not in m for m in messages)
    assert "PLG002" in REGISTRY and "UB001" in REGISTRY


def test_rule_text_wraps_in_80_columns_under_each_line(capsys, monkeypatch):
    """FRG002's threshold meanings are wider than 80 columns with their names:
    each wraps at words onto lines 4 columns past its own indent (under the
    name, not at the margin), no line wider than 80 or ending in a space."""
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["rule", "FRG002"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert [line for line in lines if line.endswith(" ")] == []
    name = next(i for i, line in enumerate(lines) if line.startswith("  max_external = 0.5:"))
    assert lines[name + 1].startswith("      ") and not lines[name + 1].startswith("       ")
    meaning = REGISTRY["FRG002"].thresholds["max_external"].meaning
    joined = " ".join(line.strip() for line in lines[name : name + 2])
    assert joined == f"max_external = 0.5: {meaning}"
