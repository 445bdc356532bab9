"""``ubscope report`` and ``ubscope export`` on the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ubscope.cli import main


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ubscope", *args], capture_output=True, text=True, cwd=cwd
    )


def test_report_writes_the_file_and_prints_its_path(
    overflow_trace, fragmented_trace, tmp_path, capsys
):
    out = tmp_path / "r.html"
    assert (
        main(["report", str(overflow_trace), "--compare", str(fragmented_trace), "-o", str(out)])
        == 0
    )
    assert f"report written to {out}" in capsys.readouterr().out
    assert out.read_text().count("A: run under test; B: baseline; delta = A - B") == 1


def test_report_defaults_to_the_trace_name_in_the_current_folder(
    overflow_trace, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(overflow_trace)]) == 0
    assert (tmp_path / f"{overflow_trace.stem}.html").is_file()


def test_export_perfetto_and_csv(overflow_trace, tmp_path):
    trace_json, events_csv = tmp_path / "t.json", tmp_path / "t.csv"
    assert main(["export", str(overflow_trace), "--format", "perfetto", "-o", str(trace_json)]) == 0
    assert main(["export", str(overflow_trace), "--format", "csv", "-o", str(events_csv)]) == 0
    phases = {e["ph"] for e in json.loads(trace_json.read_text())["traceEvents"]}
    assert phases == {"M", "X", "C", "i"}
    assert events_csv.read_text().startswith("seq,kind,core_kind,core,space,")


@pytest.mark.parametrize(
    "args, message",
    [
        (["report", "{bad}", "-o", "{out}"], "not a ubscope trace"),
        (["report", "{trace}", "-o", "{tmp}"], "is a directory"),
        (["report", "{trace}", "-o", "{trace}"], "is an input"),
        (["report", "{trace}", "--sanitizer", "{tmp}/nope.log", "-o", "{out}"], "nope.log"),
        (["export", "{bad}", "-o", "{tmp}/t.json"], "not a ubscope trace"),
        (["export", "{trace}", "--format", "xml"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_leaves_the_old_report(
    overflow_trace, tmp_path, args, message
):
    bad = tmp_path / "bad.ubtrace"
    bad.write_text("<html>not a trace</html>")
    out = tmp_path / "r.html"
    out.write_text("previous report")
    values = {"bad": bad, "out": out, "trace": overflow_trace, "tmp": tmp_path}
    result = run_cli(*(a.format(**values) for a in args), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert out.read_text() == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ubtrace", "r.html"]


def test_report_applies_the_project_configuration(overflow_trace, tmp_path):
    config = tmp_path / "ubscope.yaml"
    config.write_text("ignore: [UB009]\n")
    with_config, without = tmp_path / "with.html", tmp_path / "without.html"
    assert main(["report", str(overflow_trace), "-o", str(without)]) == 0
    assert (
        main(["report", str(overflow_trace), "--config", str(config), "-o", str(with_config)]) == 0
    )
    assert "UB009" in without.read_text() and "UB009" not in with_config.read_text()
