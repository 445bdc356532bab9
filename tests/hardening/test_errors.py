"""One error hierarchy, caught at the top of every command: a missing input
gives exit 2 and one line on stderr, never a traceback; ``--debug`` shows
the traceback for bug reports."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import pytest

from ubscope.analyzers.vendor.registry import TOOLS
from ubscope.cli import build_parser, main
from ubscope.probe import errors

MISSING = "no_such_dir/nothere"


def _command_names() -> list[str]:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(commands.choices)


def _missing_input_runs(out: Path) -> dict[str, list[list[str]]]:
    """Per command, argument lists that name an input that does not exist (or,
    for the commands that read no file, an unknown name)."""
    trace, yaml = f"{MISSING}.ubtrace", f"{MISSING}.yaml"
    return {
        "demo": [["demo", "--chip", yaml, "--out", str(out / "demo")]],
        "run": [["run", "pool_demo", "--chip", yaml, "-o", str(out / "r.ubtrace")]],
        "kernels": [["kernels", "no_such_kernel"]],
        "sweep": [
            ["sweep", yaml, "-o", str(out / "sweep")],
            ["sweep", "no_such_kernel", "-o", str(out / "sweep")],
        ],
        "chips": [["chips", yaml]],
        "analyze": [
            ["analyze", trace],
            ["analyze", "--sanitizer", f"{MISSING}.log"],
            ["analyze", "--torch-npu", MISSING],
            ["analyze", "--config", yaml, trace],
        ],
        "rules": [],  # reads nothing
        "rule": [["rule", "NOPE999"]],
        "trace": [["trace", "info", trace]],
        "tui": [["tui", trace], ["tui", trace, "--chip", yaml]],
        "report": [["report", trace, "-o", str(out / "r.html")]],
        "export": [
            ["export", trace, "-o", str(out / "e.json")],
            ["export", trace, "--format", "csv", "-o", str(out / "e.csv")],
        ],
        "check": [
            ["check", trace, "--baseline", str(out / "base")],
            ["check", trace, "--budget", yaml],
        ],
        "baseline": [["baseline", trace, "-o", str(out / "base")]],
    }


def _cases() -> list[tuple[str, list[str]]]:
    runs = _missing_input_runs(Path("OUT"))
    return [(name, argv) for name in _command_names() for argv in runs.get(name, [[name, "?"]])]


@pytest.fixture(autouse=True)
def _restore_showwarning():
    """main() installs its one-line warning printer; keep other tests unaffected."""
    original = warnings.showwarning
    yield
    warnings.showwarning = original


def _with_out(argv: list[str], out: Path) -> list[str]:
    return [arg.replace("OUT", str(out)) if arg.startswith("OUT") else arg for arg in argv]


def test_every_command_has_a_missing_input_case(tmp_path):
    """A new command must be added to the table above."""
    assert set(_command_names()) == set(_missing_input_runs(tmp_path))


@pytest.mark.parametrize(
    ("command", "argv"), _cases(), ids=lambda v: "-".join(v)[:50] if isinstance(v, list) else v
)
def test_missing_input_is_one_line_exit_2(capsys, tmp_path, command, argv):
    code = main(_with_out(argv, tmp_path))
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2, captured
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("ubscope: error: ")
    assert "Traceback" not in captured.err + captured.out
    if "nothere" in " ".join(argv):
        assert "nothere" in lines[0]


@pytest.mark.parametrize(
    ("command", "argv"), _cases(), ids=lambda v: "-".join(v)[:50] if isinstance(v, list) else v
)
def test_debug_shows_the_traceback(capsys, tmp_path, command, argv):
    code = main(["--debug", *_with_out(argv, tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("ubscope: error: ")


@pytest.mark.parametrize("tool", TOOLS, ids=lambda tool: tool.name)
def test_a_folder_without_the_tools_output_is_one_line_exit_2(capsys, tmp_path, tool):
    # A folder is what users pass most (an output directory); one holding some
    # other tool's CSV must not reach a reader that only opens files.
    folder = tmp_path / "unrelated"
    folder.mkdir()
    (folder / "notes.csv").write_text("a,b\n1,2\n")
    code = main(["analyze", tool.option, str(folder)])
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2, captured
    assert len(lines) == 1 and lines[0].startswith(f"ubscope: error: {folder}"), captured.err
    assert "Traceback" not in captured.err + captured.out


def test_rules_reads_nothing_and_succeeds(capsys):
    assert main(["rules"]) == 0
    assert "UB001" in capsys.readouterr().out


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["analyze", "--format", "yaml", "x"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1


def test_one_error_hierarchy():
    """Every error class ubscope raises for user problems derives from
    UbscopeError and exits 2; warnings of partial reads are their own category."""
    classes = [getattr(errors, name) for name in dir(errors)]
    user_errors = [
        c
        for c in classes
        if isinstance(c, type) and issubclass(c, Exception) and not issubclass(c, Warning)
    ]
    assert {c.__name__ for c in user_errors} >= {
        "UbscopeError",
        "InputError",
        "TraceError",
        "ChipProfileError",
        "ConfigError",
        "VendorFormatError",
        "ParameterError",
        "EmulationError",
    }
    for error_class in user_errors:
        assert issubclass(error_class, errors.UbscopeError) and error_class.exit_code == 2
    assert issubclass(errors.PartialReadWarning, UserWarning)
