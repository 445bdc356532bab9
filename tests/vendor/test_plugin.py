"""A vendor tool is a plugin: a tool registered in the registry alone is
detected, read, its rule runs, and its finding shows in ``ubscope analyze``."""

from __future__ import annotations

import os

import pytest

from ubscope.analyzers.findings import Finding, Location, Severity
from ubscope.analyzers.rules import load_rules
from ubscope.analyzers.rules.base import REGISTRY, register
from ubscope.analyzers.vendor import registry
from ubscope.analyzers.vendor.common import VendorReport
from ubscope.analyzers.vendor.registry import detect_vendor_input
from ubscope.analyzers.vendor.rule import ReportedFindingRule
from ubscope.analyzers.vendor.tool import Candidate, VendorTool
from ubscope.cli import main

FAKE_LABEL = "fakechk"
FAKE_LOG = "FAKECHK: buffer x overruns UB by 64 bytes\n"


def _read_fake(path: str | os.PathLike[str]) -> VendorReport:
    report = VendorReport(tool=FAKE_LABEL, path=os.fspath(path))
    for line in open(path, encoding="utf-8"):
        if line.startswith("FAKECHK: "):
            report.findings.append(
                Finding(
                    code="FAKE001",
                    severity=Severity.ERROR,
                    message=line.removeprefix("FAKECHK: ").strip(),
                    location=Location(space="UB"),
                    source=FAKE_LABEL,
                )
            )
    return report


def _is_fake_log(candidate: Candidate) -> bool:
    return candidate.is_text_log and candidate.head.startswith("FAKECHK: ")


FAKE_TOOL = VendorTool(
    name="fakechk",
    sources=(FAKE_LABEL,),
    what="a fake checker's log",
    metavar="LOG",
    help="the fake checker's log",
    detect=_is_fake_log,
    read=_read_fake,
    rules=__name__,
)


@pytest.fixture
def fake_tool(monkeypatch):
    load_rules()  # the built-in rules first, so the fake one is the only addition
    monkeypatch.setattr(registry, "TOOLS", (*registry.TOOLS, FAKE_TOOL))

    class FakeOverrun(ReportedFindingRule):
        """fakechk: a buffer overruns the UB.

        ## What it does

        Reports each ``FAKECHK:`` line of the fake checker's log.

        ## Why it matters

        An overrun corrupts the neighbouring buffer.

        ## Example

        ``FAKECHK: buffer x overruns UB by 64 bytes``

        ## How to fix

        Shrink buffer x to fit the UB.
        """

        code = "FAKE001"
        name = "fake-overrun"
        input_kind = "fakechk"
        severity = Severity.ERROR

    # recorded as absent first, so the test's end removes it (register adds it itself)
    monkeypatch.setitem(REGISTRY, "FAKE001", FakeOverrun)
    register(FakeOverrun)
    return FAKE_TOOL


def test_registered_tool_is_detected_read_and_analyzed(fake_tool, write, capsys):
    log = write("run.log", FAKE_LOG)
    assert detect_vendor_input(log) == "fakechk"
    assert main(["analyze", str(log)]) == 1
    out = capsys.readouterr().out
    assert "FAKE001" in out and "buffer x overruns UB by 64 bytes" in out
    assert "Shrink buffer x to fit the UB." in out


def test_unregistered_tool_is_not_a_rule_input(write):
    class Stray(ReportedFindingRule):
        """stray: never registered as a tool.

        ## What it does

        Nothing.

        ## Why it matters

        Nothing.

        ## Example

        Nothing.

        ## How to fix

        Nothing.
        """

        code = "FAKE002"
        name = "stray"
        input_kind = "fakechk"

    with pytest.raises(ValueError, match="unknown input_kind 'fakechk'"):
        register(Stray)
    assert detect_vendor_input(write("run.log", FAKE_LOG)) is None


def test_a_reported_finding_suggests_its_rules_fix(write):
    from ubscope.analyzers.api import analyze_path

    log = write(
        "run.log",
        "====== ERROR: illegal write of size 32 byte(s)\n"
        "======    at 0x100 on UB in add_custom\n"
        "======    #0 add_custom.cpp:40:3\n",
    )
    (finding,) = analyze_path(None, sanitizer=log).findings
    assert finding.code == "SAN001"
    assert finding.suggestion == REGISTRY["SAN001"].fix()
    assert finding.suggestion.startswith("Check the offset and length at the reported file:line")
