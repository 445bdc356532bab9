"""``ubscope analyze`` / ``rules`` / ``rule`` through the real entry point."""

from __future__ import annotations

import json

import pytest

from ubscope.cli import main


def test_exit_codes(pool_demo_traces, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", str(pool_demo_traces("healthy_tpipe"))]) == 0
    assert main(["analyze", str(pool_demo_traces("pool_no_reset"))]) == 1
    assert main(["analyze", str(tmp_path / "missing.ubtrace")]) == 2
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01binary")
    assert main(["analyze", str(garbage)]) == 2
    assert "neither a .ubtrace nor recognised vendor output" in capsys.readouterr().err
    assert main(["analyze"]) == 2


def test_fail_on_and_ignore(pool_demo_traces, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trace = str(pool_demo_traces("healthy_freelist"))
    assert main(["analyze", trace]) == 0
    assert main(["analyze", trace, "--fail-on", "info"]) == 1
    assert main(["analyze", trace, "--fail-on", "info", "--select", "UB001"]) == 0
    no_reset = str(pool_demo_traces("pool_no_reset"))
    assert main(["analyze", no_reset, "--ignore", "UB001,UB002"]) == 0


def test_config_file_and_bad_config(pool_demo_traces, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ubscope.yaml").write_text("fail_on: warning\n")
    trace = str(pool_demo_traces("healthy_freelist"))
    assert main(["analyze", trace]) == 1  # healthy freelist has warnings
    bad = tmp_path / "bad.yaml"
    bad.write_text("fail-on: error\n")
    assert main(["analyze", trace, "--config", str(bad)]) == 2
    assert "bad.yaml: unknown key 'fail-on'" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_machine_formats_to_file(pool_demo_traces, tmp_path, monkeypatch, fmt):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / f"report.{fmt}"
    code = main(
        ["analyze", str(pool_demo_traces("pool_no_reset")), "--format", fmt, "-o", str(out)]
    )
    assert code == 1
    document = json.loads(out.read_text())
    if fmt == "json":
        assert document["metrics"]["peak_bytes"]["UB"] == 240 * 1024
    else:
        assert {r["ruleId"] for r in document["runs"][0]["results"]} >= {"UB001", "UB002"}


def test_vendor_directory_is_auto_detected(vendor_samples, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    log = vendor_samples / "mssanitizer_doc_examples" / "illegal_write_ub.txt"
    assert main(["analyze", str(log), "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["trace"] is None
    assert [f["code"] for f in document["findings"]] == ["SAN001"]


def test_rules_and_rule(capsys):
    assert main(["rules"]) == 0
    listing = capsys.readouterr().out
    for code in ("UB001", "ALN002", "FRG001", "GM001", "SAN001"):
        assert code in listing
    assert main(["rule", "frg002"]) == 0
    text = capsys.readouterr().out
    assert "Why it matters" in text and "max_external = 0.5" in text
    assert main(["rule", "NOPE123"]) == 2
