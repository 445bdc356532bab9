"""Output people read and grep, and inputs the commands accept (issue 11, items 9 and 10)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pyarrow as pa
import pytest
from rich.console import Console

from tests.helpers.cli import run_ubscope
from tests.helpers.msadvisor_inputs import ROWS, advisor_workbook
from tests.helpers.rebatch import rebatch
from ubscope.analyzers import analyze_inputs
from ubscope.analyzers.rules import load_rules
from ubscope.check.measure import measure_traces
from ubscope.check.terminal import print_results
from ubscope.check.tolerances import tolerances_from_options
from ubscope.check.verdicts import check_measurement
from ubscope.cli import main
from ubscope.commands import common
from ubscope.commands.common import advance, progress
from ubscope.kernels.catalog import get_kernel
from ubscope.probe.units import count_cores, format_exact_bytes, plural

FINDING_HEAD = re.compile(r"^  [A-Z]{2,4}\d{3} ")


@pytest.fixture(scope="session")
def traces(tmp_path_factory) -> Path:
    """A folder with a healthy pool_demo trace and one that overflows UB."""
    folder = tmp_path_factory.mktemp("traces")
    assert main(["run", "pool_demo", "-p", "n=16384", "-o", str(folder / "ok.ubtrace")]) == 0
    bad = folder / "bad.ubtrace"
    # exit 1: it writes past UB, which faults on the device (its numerics mean nothing)
    assert main(["run", "pool_demo", "--preset", "pool_no_reset", "-o", str(bad)]) == 1
    return folder


# --- item 9: output a person can read and grep ---------------------------------------


def test_rules_in_a_pipe_print_one_whole_line_per_rule():
    result = run_ubscope("rules", columns=40)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    rules = load_rules()
    assert len(lines) == 1 + len(rules)  # the header, then one line per rule
    for code, rule in rules.items():
        [line] = [line for line in lines if line.startswith(code + " ")]
        assert rule.name in line.split() and line.endswith(rule.summary())


def test_wrapped_finding_lines_hang_under_their_first_line(traces):
    result = run_ubscope("analyze", str(traces / "bad.ubtrace"), columns=60)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    heads = [i for i, line in enumerate(lines) if FINDING_HEAD.match(line)]
    assert len(heads) >= 3
    for i in heads:
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("      at:"))
        assert end > i + 1, "the message should wrap at 60 columns"
        # "  UB001 " is 8 columns: continuation lines start under the message.
        assert all(line.startswith(" " * 8) and line[8] != " " for line in lines[i + 1 : end])
    assert "3 errors, 2 warnings, 3 info" in result.stdout


def test_a_finding_that_points_nowhere_has_no_location_line(tmp_path):
    # the advisor's problems are about a whole run: no "at: -" under them
    workbook = advisor_workbook(tmp_path / "mstt_advisor_20240101120000.xlsx", rows=ROWS[1:2])
    result = run_ubscope("analyze", "--msadvisor", str(workbook), columns=100)
    lines = result.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("  ADV002 "))
    fix = next(i for i, line in enumerate(lines) if line.startswith("      fix: 1. For AscendCL"))
    # between them only the message's own wrapped lines
    assert head < fix and all(line.startswith(" " * 34) for line in lines[head + 1 : fix])
    assert not any(line.strip().startswith("at:") for line in lines)


def test_counts_are_pluralised():
    assert [plural(n, "block") for n in (0, 1, 2)] == ["0 blocks", "1 block", "2 blocks"]
    assert count_cores(8, "aiv") == "8 aiv cores"
    assert count_cores(1, "aic") == "1 aic core"
    assert count_cores(4, "aicore") == "4 AI cores"


def test_byte_values_of_a_row_share_one_exact_unit():
    # 142,592 B = 139.25 KiB and 165,888 B = 162 KiB: both exact in KiB with 2 decimals.
    assert format_exact_bytes([142_592, 165_888]) == ["139.25 KiB", "162.00 KiB"]
    # 142,593 B is no whole number of hundredths of a KiB: both in bytes.
    assert format_exact_bytes([142_593, 165_888]) == ["142,593 B", "165,888 B"]
    assert format_exact_bytes([98_304, 0]) == ["96.0 KiB", "0.0 KiB"]
    assert format_exact_bytes([512, 1]) == ["512 B", "1 B"]


def _clean_lines(text: str, width: int) -> list[str]:
    """The lines of ``text``, checked to fit ``width`` and to end in no space."""
    lines = text.splitlines()
    assert [line for line in lines if len(line) > width or line != line.rstrip()] == []
    return lines


def _wrapped_onto(lines: list[str], first: int, column: int) -> list[str]:
    """The lines that line ``first`` wraps onto, each checked to start at ``column``
    (the next entry starts further left)."""
    after = []
    for line in lines[first + 1 :]:
        if not line.startswith(" " * column):
            break
        assert line[column] != " ", f"wrapped onto no column: {line!r}"
        after.append(line)
    return after


def test_kernel_parameters_line_up_and_wrap_under_their_descriptions():
    spec = get_kernel("int4_gemm")
    result = run_ubscope("kernels", "int4_gemm", columns=60)
    assert result.returncode == 0, result.stderr
    lines = _clean_lines(result.stdout, 60)
    entries = [(i, re.match(r"  (\w+)=\S* +", line)) for i, line in enumerate(lines)]
    entries = [(i, match) for i, match in entries if match]
    assert [match.group(1) for _, match in entries] == [param.name for param in spec.params]
    # Every description starts one column past the longest NAME=DEFAULT.
    longest = max(len(f"{param.name}={param.default}") for param in spec.params)
    assert {match.end() for _, match in entries} == {2 + longest + 1}
    wrapped = [_wrapped_onto(lines, i, 2 + longest + 1) for i, _ in entries]
    assert any(wrapped), "a description should wrap at 60 columns"
    presets = [i for i, line in enumerate(lines) if line.startswith("  --preset ")]
    assert len(presets) == len(spec.presets)
    assert all(_wrapped_onto(lines, i, 4) for i in presets)  # each wraps, 4 columns in


def test_the_fault_headline_of_a_run_wraps_under_itself(tmp_path):
    small = ("-p", "m=2", "-p", "k=1024", "-p", "n=256")
    result = run_ubscope(
        "run", "int4_gemm", "--preset", "ub_overflow", *small, "-o", "t.ubtrace", cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr  # it would fault on the device
    lines = _clean_lines(result.stdout, 80)
    [first] = [i for i, line in enumerate(lines) if line.startswith("  would fault on the device:")]
    wrapped = _wrapped_onto(lines, first, 4)
    assert wrapped, "the fault should wrap at 80 columns"
    text = " ".join(line.strip() for line in [lines[first], *wrapped])
    assert re.fullmatch(r"would fault on the device: .* past the UB capacity.*", text)
    assert lines[first + 1 + len(wrapped)].startswith(("  note:", "trace written"))


@pytest.mark.parametrize("show_all", [False, True])
def test_check_table_at_80_columns_keeps_metric_names_and_numbers_whole(traces, show_all):
    [measurement] = measure_traces([traces / "ok.ubtrace"])
    result = check_measurement(measurement, dict(measurement.metrics), tolerances_from_options([]))
    out = io.StringIO()
    print_results([result], Console(file=out, width=80, color_system=None), show_all=show_all)
    text = out.getvalue()
    assert "…" not in text
    assert all(len(line) <= 80 for line in text.splitlines() if not line.startswith("pool_demo["))
    words = set(re.findall(r"[\w.*]+", text))
    shown = [row.metric for row in result.rows if show_all or row.notable]
    assert set(shown) <= words
    if show_all:  # the longest metric name is among the rows --all lists, and whole
        assert "fragmentation.failed_allocs_with_enough_free" in words


# --- item 10: smaller ones ---------------------------------------------------------------


def test_trace_info_takes_several_files(traces, tmp_path):
    result = run_ubscope(
        "trace", "info", "ok.ubtrace", "missing.ubtrace", "bad.ubtrace", cwd=traces
    )
    assert result.returncode == 2
    files = [line for line in result.stdout.splitlines() if line.startswith("file: ")]
    assert files == ["file: ok.ubtrace", "file: bad.ubtrace"]
    [error] = result.stderr.strip().splitlines()
    assert "missing.ubtrace" in error and "no such file" in error
    result = run_ubscope("trace", "info", "--json", "ok.ubtrace", "bad.ubtrace", cwd=traces)
    assert result.returncode == 0
    assert [info["file"] for info in json.loads(result.stdout)] == ["ok.ubtrace", "bad.ubtrace"]


def test_analyze_folder_reports_every_trace_with_the_worst_exit_code(traces):
    result = run_ubscope("analyze", str(traces))
    assert result.returncode == 1  # bad.ubtrace has errors, ok.ubtrace none
    reports = [line for line in result.stdout.splitlines() if line.startswith("  trace: ")]
    assert sorted(Path(line.split(": ", 1)[1]).name for line in reports) == [
        "bad.ubtrace",
        "ok.ubtrace",
    ]
    documents = json.loads(run_ubscope("analyze", "--format", "json", str(traces)).stdout)
    assert sorted(Path(d["trace"]).name for d in documents) == ["bad.ubtrace", "ok.ubtrace"]
    log = json.loads(run_ubscope("analyze", "--format", "sarif", str(traces)).stdout)
    assert len(log["runs"]) == 2


def test_analyze_folder_with_an_unreadable_trace_reports_the_rest(traces, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "ok.ubtrace").write_bytes((traces / "ok.ubtrace").read_bytes())
    (folder / "broken.ubtrace").write_bytes(b"not a trace at all")
    result = run_ubscope("analyze", str(folder))
    assert result.returncode == 2
    assert "  trace: " in result.stdout and "ok.ubtrace" in result.stdout
    [error] = result.stderr.strip().splitlines()
    assert "broken.ubtrace" in error and "Traceback" not in result.stderr


def test_analyze_files_with_a_missing_one_reports_the_rest(traces, tmp_path):
    """As for a folder: a missing file or one that is neither trace nor vendor
    output among several is one line, and the other traces are still analyzed."""
    notes = tmp_path / "notes.txt"
    notes.write_text("not a trace, not vendor output\n")
    result = run_ubscope(
        "analyze", "ok.ubtrace", "missing.ubtrace", "bad.ubtrace", notes, cwd=traces
    )
    assert result.returncode == 2  # an input could not be read: worse than bad.ubtrace's 1
    reports = [line for line in result.stdout.splitlines() if line.startswith("  trace: ")]
    assert [Path(line.split(": ", 1)[1]).name for line in reports] == [
        "ok.ubtrace",
        "bad.ubtrace",
    ]
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and "Traceback" not in result.stderr
    assert "missing.ubtrace: no such file" in errors[0]
    assert "notes.txt: neither a .ubtrace nor recognised vendor output" in errors[1]


def test_vendor_output_is_not_analyzed_without_a_trace_that_cannot_be_read(traces, tmp_path):
    """`analyze TRACE --sanitizer LOG` with a mistyped TRACE must not analyze the
    log alone, as if no trace went with it."""
    log = tmp_path / "sanitizer.log"
    log.write_text("")
    result = run_ubscope("analyze", "missing.ubtrace", "--sanitizer", log, cwd=traces)
    assert result.returncode == 2 and result.stdout == ""
    [error] = result.stderr.strip().splitlines()
    assert "missing.ubtrace: no such file" in error


def test_analyze_names_ubscopes_own_outputs(traces, tmp_path):
    trace = traces / "ok.ubtrace"
    outputs = {
        "perfetto.json": (["export", str(trace), "-o"], "Perfetto export of ok.ubtrace"),
        "events.csv": (["export", str(trace), "--format", "csv", "-o"], "CSV export"),
        "report.json": (["analyze", str(trace), "--format", "json", "-o"], "JSON report"),
        "report.sarif": (["analyze", str(trace), "--format", "sarif", "-o"], "SARIF report"),
    }
    for name, (command, what) in outputs.items():
        path = tmp_path / name
        main([*command, str(path)])
        result = run_ubscope("analyze", str(path))
        assert result.returncode == 2
        [error] = result.stderr.strip().splitlines()
        assert what in error and "analyze the .ubtrace" in error, error
        assert "torch_npu" not in error


def test_run_warns_when_the_output_is_not_named_ubtrace(tmp_path):
    result = run_ubscope("run", "pool_demo", "-p", "n=16384", "-o", "out.html", cwd=tmp_path)
    assert result.returncode == 0
    assert "ubscope: warning: out.html: the name does not end in .ubtrace" in result.stderr
    quiet = run_ubscope("run", "pool_demo", "-p", "n=16384", "-o", "out.ubtrace", cwd=tmp_path)
    assert "warning" not in quiet.stderr


def test_a_progress_bar_counts_the_events_of_the_trace_being_read(tmp_path):
    """`ubscope analyze`, `export` and `report` show how many of a trace's
    events were read (a streamed analysis: the whole work)."""
    sample = Path(__file__).resolve().parents[2] / "sample_profiles" / "layernorm_healthy.ubtrace"
    with pa.ipc.open_stream(sample) as reader:
        events = reader.read_all().num_rows  # counted by Arrow, not by ubscope
    trace = rebatch(sample, tmp_path / "t.ubtrace", 500)
    with progress("analyzing", None, unit="events", counts_reads=True) as bar:
        assert (bar.tasks[0].completed, bar.tasks[0].total) == (0, None)
        analyze_inputs(trace, stream=True)
        assert (bar.tasks[0].completed, bar.tasks[0].total) == (events, events)
    # a bar for other work is not moved by a read
    with progress("demo", 3, unit="runs") as bar:
        analyze_inputs(trace, stream=True)
        assert (bar.tasks[0].completed, bar.tasks[0].total) == (0, 3)


def test_a_progress_bar_shows_a_file_name_as_it_is(monkeypatch):
    # "[reverse]" in a file name is text, not rich markup that hides itself
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100, highlight=False)
    monkeypatch.setattr(common, "console", lambda stderr=False: terminal)
    with progress("exporting x[reverse]y.ubtrace", None) as bar:
        bar.refresh()
    assert "exporting x[reverse]y.ubtrace" in screen.getvalue()


def test_a_progress_bar_escapes_terminal_controls_in_a_file_name(monkeypatch):
    """A file named with an OSC sequence ("ESC ] 0 ;" sets the terminal's
    title) is shown escaped, as every name from the disk is, and sends the
    terminal no control of its own."""
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100, highlight=False)
    monkeypatch.setattr(common, "console", lambda stderr=False: terminal)
    with progress("compiling sc\x1b]0;owned\x07ale.cpp", None) as bar:
        bar.refresh()
        advance(bar, "running sc\x1b]0;owned\x07ale", amount=0)
        bar.refresh()
    shown = screen.getvalue()
    assert "compiling sc\\x1b]0;owned\\x07ale.cpp" in shown
    assert "running sc\\x1b]0;owned\\x07ale" in shown
    assert "\x1b]0;" not in shown and "\x07" not in shown
