"""The command line: exit codes, one-line errors, the foundation commands."""

from __future__ import annotations

import pytest

from tests.helpers.cli import run_ubscope
from ubscope import __version__
from ubscope.cli import main


def test_version_and_help():
    result = run_ubscope("--version")
    assert result.returncode == 0 and __version__ in result.stdout
    for command in ("demo", "run", "kernels", "trace"):
        assert run_ubscope(command, "--help").returncode == 0


def test_run_then_trace_info(tmp_path, capsys):
    out = tmp_path / "pool.ubtrace"
    assert main(["run", "pool_demo", "--param", "n=16384", "-o", str(out)]) == 0
    assert "matches the float64 reference" in capsys.readouterr().out
    assert main(["trace", "info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "kernel: pool_demo" in info and "chip: Ascend910B2" in info and "state: complete" in info


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "no_such_kernel"], "unknown kernel"),
        (["run", "pool_demo", "--param", "tile=abc"], "expected int"),
        (["run", "pool_demo", "--param", "nope=1"], "has no parameter"),
        (["run", "pool_demo", "--preset", "nope"], "has no preset"),
        (["run", "pool_demo", "--chip", "Ascend999"], "unknown chip"),
        (["trace", "info", "/no/such/file.ubtrace"], "no such file"),
        (["--no-such-option"], "unrecognized arguments"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(args, message):
    result = run_ubscope(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--debug", "trace", "info", "/no/such/file.ubtrace"],
        ["trace", "--debug", "info", "/no/such/file.ubtrace"],
        ["trace", "info", "/no/such/file.ubtrace", "--debug"],
    ],
)
def test_debug_shows_the_traceback_wherever_it_is_given(args):
    result = run_ubscope(*args)
    assert result.returncode == 2 and "Traceback" in result.stderr


def test_garbage_trace_file_is_exit_2(tmp_path):
    bad = tmp_path / "x.ubtrace"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    result = run_ubscope("trace", "info", str(bad))
    assert result.returncode == 2 and "not a ubscope trace" in result.stderr


@pytest.mark.parametrize(
    "args, command",
    [
        (["report", "x.ubtrace", "--nonsense"], "ubscope report"),
        (["analyze", "x.ubtrace", "--nonsense"], "ubscope analyze"),
        (["report", "job", "--rank-outlier", "50%"], "ubscope report"),
        (["trace", "info", "x.ubtrace", "--nonsense"], "ubscope trace info"),
        (["--nonsense", "analyze", "x.ubtrace"], "ubscope"),
    ],
)
def test_an_unknown_option_names_the_help_of_its_command(args, command):
    # argparse hands a command's unknown options back to the top-level parser,
    # which named its own help: "ubscope: error: ... (see ubscope --help)".
    result = run_ubscope(*args)
    assert result.returncode == 2
    unknown = " ".join(arg for arg in args if arg in ("--nonsense", "--rank-outlier", "50%"))
    assert result.stderr.splitlines() == [
        f"{command}: error: unrecognized arguments: {unknown} (see {command} --help)"
    ]
