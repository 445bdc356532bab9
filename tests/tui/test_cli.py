"""``ubscope tui`` on bad input: one line and exit 2 before the app starts."""

from __future__ import annotations

import pytest

from ubscope.cli import main


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d / "missing.ubtrace", "no such file"),
        (lambda d: _write(d / "foreign.ubtrace", b"PK\x03\x04 a zip"), "not a ubscope trace"),
        (lambda d: _write(d / "empty.ubtrace", b""), "empty file"),
        (lambda d: _write(d / "cut.ubtrace", b"\xff\xff\xff\xff\x10\x11"), "truncated or corrupt"),
        (lambda d: (d / "nothing").mkdir() or d / "nothing", "no .ubtrace files"),
    ],
)
def test_bad_trace_prints_one_line_and_exits_2(tmp_path, capsys, make, reason):
    path = make(tmp_path)
    assert main(["tui", str(path)]) == 2
    err = capsys.readouterr().err
    assert reason in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_truncated_trace_copy_is_refused_with_its_name(trace_dir, tmp_path, capsys):
    data = (trace_dir / "tpipe.ubtrace").read_bytes()
    cut = _write(tmp_path / "half.ubtrace", data[:100])
    assert main(["tui", str(cut)]) == 2
    assert "half.ubtrace" in capsys.readouterr().err


def test_missing_vendor_input_and_baseline_are_refused(trace_dir, capsys):
    trace = str(trace_dir / "tpipe.ubtrace")
    assert main(["tui", trace, "--sanitizer", "/no/such/log"]) == 2
    assert "--sanitizer" in capsys.readouterr().err
    assert main(["tui", trace, "--compare", "/no/such.ubtrace"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_without_a_terminal_it_says_so(trace_dir, capsys):
    assert main(["tui", str(trace_dir / "tpipe.ubtrace")]) == 2
    assert "interactive terminal" in capsys.readouterr().err


def _write(path, data: bytes):
    path.write_bytes(data)
    return path
