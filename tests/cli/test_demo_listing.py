"""The demo names every planted run under its table: with the errors or new
warnings it has, with new info findings where the chip makes the problem cheap
(labelled so), and with "nothing flagged" where the chip's sizes hide it."""

from __future__ import annotations

import pytest

from ubscope.analyzers import Analysis, Finding, Severity
from ubscope.commands import demo
from ubscope.probe.chip import load_chip

CHIP = load_chip("Ascend310B1")


def _analysis(*findings: Finding) -> Analysis:
    return Analysis(trace=None, chip=CHIP, findings=list(findings), metrics={})


def _finding(code: str, severity: Severity) -> Finding:
    return Finding(code, severity, f"{code} message")


@pytest.fixture
def printed(capsys, monkeypatch):
    def listing(analyses: dict[str, Analysis]) -> str:
        monkeypatch.setenv("COLUMNS", "80")
        demo._print_problems(analyses)
        return capsys.readouterr().out

    return listing


def test_a_planted_problem_that_is_only_info_on_this_chip_is_listed_as_such(printed):
    healthy = _analysis(_finding("UB009", Severity.INFO))
    planted = _analysis(_finding("UB009", Severity.INFO), _finding("ALN003", Severity.INFO))
    out = printed({"int4_gemm_healthy": healthy, "int4_gemm_gm_misaligned": planted})
    assert "int4_gemm_gm_misaligned: ALN003 (only info on Ascend310B1)" in out
    assert "ALN003 message" in out
    assert "UB009" not in out  # the healthy run has it too: not the planted problem


def test_a_planted_run_with_nothing_flagged_is_named(printed):
    out = printed({"int4_gemm_healthy": _analysis(), "int4_gemm_gm_misaligned": _analysis()})
    assert "int4_gemm_gm_misaligned: nothing flagged on Ascend310B1" in out
    assert "int4_gemm_healthy" not in out  # a healthy run with nothing to say stays quiet


def test_warnings_still_come_before_infos(printed):
    planted = _analysis(_finding("ALN003", Severity.INFO), _finding("GM002", Severity.WARNING))
    out = printed({"int4_gemm_healthy": _analysis(), "int4_gemm_gm_misaligned": planted})
    assert "int4_gemm_gm_misaligned: GM002\n" in out
    assert "ALN003" not in out and "only info" not in out


def test_the_table_shows_an_unknown_gm_ratio_as_a_dash():
    # a run stopped short of its end has no ratio to the whole run's minimum
    assert demo._ratio(None) == "-"
    assert demo._ratio(1.5) == "1.50x"
