"""No injection into CI logs, terminals or spreadsheets (docs/security.md §4).

* GitHub Actions runs every output line that starts with ``::`` (after leading
  whitespace) as a workflow command. Whatever the names in a trace, the text
  of a vendor report or the terminal width, the only such lines ubscope prints
  are its own annotations, with their payload escaped as GitHub documents.
* File and folder names are printed through the same sanitizer as event names.
* CSV cells that a spreadsheet would run as a formula get a leading ``'``.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import re
from pathlib import Path

import pytest

from ubscope.check.annotations import annotation
from ubscope.cli import main
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip
from ubscope.probe.text import printable, printable_prose
from ubscope.workflow_commands import CommandGuard, write_workflow_commands

from .hostile import HOSTILE_SPEC, _run

COMMANDS = "::warning title=INJECTED::x ::add-mask::secret ::stop-commands::token"
# Words that end in a workflow command at every offset up to 40 columns, so
# that Rich, folding a long word at the terminal width, cuts right before one.
FOLDED = "".join("a" * n + "::error::folded" for n in range(1, 41))
HOSTILE_NAMES = tuple(f"{part} {COMMANDS} {FOLDED}" for part in "ktbx")
COMMANDS_SPEC = dataclasses.replace(
    HOSTILE_SPEC,
    name=HOSTILE_NAMES[0],
    run=lambda device, params: _run(device, params, HOSTILE_NAMES),
)
VENDOR_SUMMARY = "x\n::warning title=INJECTED::owned\n::add-mask::hidden\n  ::stop-commands::tok"
# ubscope's annotations: a level, escaped properties (no raw ':' or ','), the
# title ubscope writes, then the message (escaped: no raw line break).
OWN_ANNOTATION = re.compile(
    r"::(error|warning|notice) (file=[^:,]*,(line=\d+,)?)?title=ubscope [^:,]*::"
)
LINE_BREAK = re.compile(r"\r\n|\r|\n")


@pytest.fixture(scope="module")
def commands_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("commands") / "commands.ubtrace"
    run_kernel(COMMANDS_SPEC, {"n": 256}, load_chip(), path)
    return path


@pytest.fixture(scope="module")
def hostile_advisor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = {
        "classType": "0",
        "errorCode": "0",
        "summary": VENDOR_SUMMARY,
        "extendResult": [
            {
                "type": "1",
                "extendTitle": "::error::title",
                "dataType": ["0", "2"],
                "key": ["Op Name", "Bandwidth Usage"],
                "value": [[f"::notice::op {FOLDED}", "0.93"]],
            }
        ],
    }
    path = tmp_path_factory.mktemp("advisor") / "result.json"
    path.write_text(json.dumps(result), encoding="utf-8")
    return path


def _command_lines(text: str) -> list[str]:
    return [line for line in LINE_BREAK.split(text) if line.lstrip().startswith("::")]


def _regressed_baseline(folder: Path) -> None:
    """Every metric of the recorded baselines set to 0: ``check`` finds
    regressions and, under GitHub Actions, writes its error annotations."""
    for path in folder.glob("*.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        document["metrics"] = dict.fromkeys(document["metrics"], 0)
        path.write_text(json.dumps(document), encoding="utf-8")


@pytest.mark.parametrize("columns", ["40", "80", "200"])
def test_no_output_line_is_a_workflow_command_but_ubscope_annotations(
    commands_trace, hostile_advisor, tmp_path, monkeypatch, capsys, columns
):
    monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.chdir(tmp_path)
    trace = str(commands_trace)
    assert main(["baseline", trace, "-o", "base"]) == 0
    _regressed_baseline(tmp_path / "base")
    runs = [
        ["analyze", trace, "--msadvisor", str(hostile_advisor)],
        ["analyze", "--msadvisor", str(hostile_advisor)],
        ["trace", "info", trace],
        ["baseline", trace, "-o", "base2"],
        ["check", trace, "--baseline", "base"],
    ]
    annotations = []
    for argv in runs:
        main(argv)
        captured = capsys.readouterr()
        for stream in (captured.out, captured.err):
            lines = _command_lines(stream)
            foreign = [line for line in lines if not OWN_ANNOTATION.match(line)]
            assert not foreign, (argv, foreign)
            annotations += lines
    # check regressed, so its own annotations are there (and passed the test above)
    assert any(line.startswith("::error ") for line in annotations)


def test_annotation_payload_is_escaped_as_github_documents():
    # By hand from GitHub's "workflow commands" page: % -> %25, CR -> %0D,
    # LF -> %0A in the message; also : -> %3A and , -> %2C in properties.
    line = annotation("error", "50% a\r\n::warning x", "ubscope k: a, b", "f:1,2", 7)
    assert (
        line == "::error file=f%3A1%2C2,line=7,title=ubscope k%3A a%2C b::50%25 a%0D%0A::warning x"
    )


def test_the_sanitizer_breaks_commands_where_a_line_can_start():
    assert printable("::warning x") == "\\x3a:warning x"
    assert printable("k ::add-mask::s") == "k \\x3a:add-mask::s"  # Rich may wrap at the space
    assert printable("aten::add AscendC::DataCopy") == "aten::add AscendC::DataCopy"  # C++ names
    assert printable("a\n::b") == "a\\x0a::b"  # a name has no line break at all
    assert printable_prose("x\n  ::add-mask::y") == "x\n  \\x3a:add-mask::y"
    assert printable(printable("::x")) == printable("::x")


def test_the_output_guard_holds_across_writes_and_lets_own_annotations_through(monkeypatch):
    target = io.StringIO()
    guard = CommandGuard(target)
    for piece in ("ok\n", ":", ":warning a\n", "  ", "::b\r", "::c", " d::e\n", "x ::f\n", ":"):
        guard.write(piece)
    guard.finish()
    assert target.getvalue() == "ok\n\\x3a:warning a\n  \\x3a:b\r\\x3a:c d::e\nx ::f\n:"
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", CommandGuard(out))
    write_workflow_commands(["::notice title=ubscope t::m"])
    assert out.getvalue() == "::notice title=ubscope t::m\n"


ESC_NAME = "adv\x1b]0;pwned\x07\x1b[2J.json"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def test_file_names_reach_the_terminal_escaped(
    hostile_advisor, hostile_trace, tmp_path, capsys, monkeypatch
):
    """A file name is input too: in analyze's list of inputs, trace info, the
    command check proposes, and errors."""
    monkeypatch.setenv("COLUMNS", "400")
    trace = tmp_path / "t\x1b[2J.ubtrace"
    trace.write_bytes(hostile_trace.read_bytes())
    main(["trace", "info", str(trace)])
    assert main(["check", str(trace), "--baseline", str(tmp_path / "none")]) == 1
    named = tmp_path / ESC_NAME
    named.write_bytes(hostile_advisor.read_bytes())
    main(["analyze", "--msadvisor", str(named)])
    torch_npu = tmp_path / "run\x1b]0;pwned\x07_ascend_pt"
    (torch_npu / "ASCEND_PROFILER_OUTPUT").mkdir(parents=True)
    (torch_npu / "ASCEND_PROFILER_OUTPUT" / "memory_record.csv").write_text("garbage\n")
    assert main(["analyze", "--torch-npu", str(torch_npu)]) == 2
    assert main(["trace", "info", str(tmp_path / "gone\x1b[2J.ubtrace")]) == 2
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "adv\\x1b]0;pwned\\x07\\x1b[2J.json" in text and "run\\x1b]0;pwned" in text
    assert "gone\\x1b[2J.ubtrace: no such file" in text
    assert text.count("t\\x1b[2J.ubtrace") >= 2  # trace info's file, check's command
    assert not CONTROL.search(text)


def test_the_folder_picker_shows_file_names_escaped(hostile_trace, tmp_path):
    from ubscope.probe.trace import find_traces
    from ubscope.tui.app import UbscopeApp
    from ubscope.tui.loading import TraceRequest

    folder = tmp_path / "runs\x1b[31m"
    folder.mkdir()
    (folder / "t\x1b]0;pwned\x07.ubtrace").write_bytes(hostile_trace.read_bytes())
    app = UbscopeApp(request=TraceRequest(folder), folder=str(folder), entries=find_traces(folder))
    shown = []

    async def scenario() -> None:
        async with app.run_test(size=(160, 24)) as pilot:
            await pilot.pause()
            shown.extend(strip.text for strip in app.screen._compositor.render_strips())

    asyncio.run(scenario())
    screen = "\n".join(shown)
    assert "t\\x1b]0;pwned\\x07.ubtrace" in screen and "runs\\x1b[31m" in screen
    assert not CONTROL.search(screen)


FORMULAS = {"name": '=HYPERLINK("http://x")', "tag": "+1+1", "buffer": "-2-2", "tensor": "@SUM(A1)"}


def test_csv_export_defuses_formulas(tmp_path):
    """OWASP's CSV-injection rule: a cell starting with = + - @ (or tab, CR)
    gets a leading '. Numbers stay numbers (a core of -1 is not a formula)."""
    names = (FORMULAS["name"], FORMULAS["tag"], FORMULAS["buffer"], FORMULAS["tensor"])
    spec = dataclasses.replace(
        HOSTILE_SPEC, name=names[0], run=lambda device, params: _run(device, params, names)
    )
    trace = tmp_path / "f.ubtrace"
    run_kernel(spec, {"n": 256}, load_chip(), trace)
    output = tmp_path / "f.csv"
    assert main(["export", str(trace), "--format", "csv", "-o", str(output)]) == 0
    rows = list(csv.DictReader(output.open(encoding="utf-8", newline="")))
    cells = {row[column] for row in rows for column in ("name", "tensor", "tag")}
    for formula in FORMULAS.values():
        assert formula not in cells
    assert {"'" + formula for formula in FORMULAS.values()} <= cells
    assert "-1" in {row["core"] for row in rows}  # the host's core number, unprefixed
