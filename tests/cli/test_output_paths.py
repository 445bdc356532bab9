"""Every command writes through one output-path policy (probe/outputs.py).

Missing folders are created; a folder, an unwritable place or one of the
command's own inputs is a one-line error with exit 2 before any work; files
are replaced atomically, devices are written to, symlinks are followed; an
interrupted recording is never 'complete'.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers.cli import run_ubscope
from ubscope.cli import main
from ubscope.probe.errors import TraceError
from ubscope.probe.trace import read_metadata, read_trace

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_profiles" / "pool_demo_healthy.ubtrace"
BASELINES = REPO / "sample_profiles" / "baselines"
# Emulating LLaMA-2-13B attention takes far longer than any test waits.
LONG_RUN = ("run", "sparse_attention", "--preset", "llama2_13b")


def one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """The one-line error of a user error (exit 2), checked for ``fragments``
    (warnings before it are allowed: a truncated trace is announced as such)."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if not line.startswith("ubscope: warning:") and line]
    assert len(errors) == 1 and errors[0].startswith("ubscope: error: "), result.stderr
    for fragment in fragments:
        assert fragment in errors[0]
    return errors[0]


@pytest.fixture
def trace(tmp_path) -> Path:
    copy = tmp_path / "pool.ubtrace"
    shutil.copyfile(SAMPLE, copy)
    return copy


def read_quietly(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_trace(path)


def has_header(path: Path) -> bool:
    try:
        return bool(read_metadata(path))
    except (TraceError, OSError):  # not written yet, or just renamed
        return False


def interrupt_when_recording(
    argv: list[str], folder: Path, name: str, signum: int = signal.SIGINT
) -> subprocess.Popen:
    """Start ``ubscope ARGV``, wait until a trace ``name`` (a glob) is being written
    (its temporary file holds the header) and send ``signum`` (SIGINT: Ctrl-C)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ubscope", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not any(map(has_header, folder.glob(f".{name}.*.partial"))):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the trace was never started"
        time.sleep(0.01)
    process.send_signal(signum)
    process.communicate(timeout=120)
    return process


@pytest.mark.slow
@pytest.mark.parametrize(
    "signum, exit_code, reason",
    [
        (signal.SIGINT, 130, "recording interrupted by SIGINT (Ctrl-C)"),
        (signal.SIGTERM, 143, "recording terminated by SIGTERM"),
    ],
)
def test_an_interrupted_run_leaves_a_truncated_trace_that_check_and_baseline_refuse(
    tmp_path, signum, exit_code, reason
):
    folder = tmp_path / "traces"  # missing: run creates it, as in the docs' CI example
    output = folder / "attn.ubtrace"
    process = interrupt_when_recording([*LONG_RUN, "-o", output], folder, output.name, signum)
    assert process.returncode == exit_code
    assert [p.name for p in folder.iterdir()] == [output.name]  # kept for a post-mortem

    recorded = read_quietly(output)
    assert not recorded.complete
    assert recorded.problems == [reason]
    assert recorded.kernel == "sparse_attention" and recorded.meta["preset"] == "llama2_13b"
    info = run_ubscope("trace", "info", output)
    assert f"state: truncated ({reason})" in info.stdout

    one_line_error(run_ubscope("check", output, "--baseline", BASELINES), "truncated")
    one_line_error(run_ubscope("baseline", output, "-o", tmp_path / "baselines"), "truncated")


def test_baseline_refuses_a_truncated_trace_before_creating_its_output_folder(
    trace, tmp_path, capsys
):
    data = trace.read_bytes()
    trace.write_bytes(data[: len(data) * 3 // 4])
    output = tmp_path / "missing" / "baselines"
    assert main(["baseline", str(trace), "-o", str(output)]) == 2
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert error.startswith("ubscope: error: ") and "truncated" in error
    assert not (tmp_path / "missing").exists()


@pytest.mark.slow
def test_ctrl_c_during_demo_leaves_a_truncated_trace(tmp_path):
    # The demo's first run takes about half a second: if Ctrl-C lands just after
    # it finished, the trace is rightly complete and the test tries again.
    for attempt in range(3):
        folder = tmp_path / f"demo{attempt}"
        process = interrupt_when_recording(["demo", "--out", folder], folder, "*.ubtrace")
        assert process.returncode == 130
        interrupted = [p for p in folder.glob("*.ubtrace") if not read_quietly(p).complete]
        if interrupted:
            break
    assert interrupted, "Ctrl-C never landed during a recording"
    (truncated,) = interrupted
    assert read_quietly(truncated).problems == ["recording interrupted by SIGINT (Ctrl-C)"]
    assert not list(folder.glob(".*.partial"))
    one_line_error(run_ubscope("check", truncated, "--baseline", BASELINES), "truncated")


def test_run_creates_missing_folders_and_writes_atomically(tmp_path):
    output = tmp_path / "traces" / "ci" / "pool.ubtrace"
    result = run_ubscope("run", "pool_demo", "-p", "n=16384", "-o", output)
    assert result.returncode == 0, result.stderr
    assert read_trace(output).complete
    assert [p.name for p in output.parent.iterdir()] == ["pool.ubtrace"]


@pytest.mark.parametrize(
    "args, message",
    [
        (("run", "pool_demo", "-o", "{tmp}"), "is a directory"),
        (("run", "pool_demo", "-o", "{blocker}/x.ubtrace"), "a file is in the way"),
        (("run", "pool_demo", "-o", "-"), "cannot be standard output"),
        (("demo", "--out", "{blocker}"), "is not a folder"),
        (("demo", "--out", "{blocker}/sub"), "a file is in the way"),
        (("analyze", "{trace}", "-o", "{tmp}"), "is a directory"),
        (("check", "{trace}", "--budget", "{tmp}/b.yaml", "--junit", "{tmp}"), "is a directory"),
        (("check", "{trace}", "--budget", "{tmp}/b.yaml", "--markdown", "{trace}"), "is an input"),
        (("report", "{trace}", "-o", "{blocker}/r.html"), "a file is in the way"),
        (("export", "{trace}", "-o", "{tmp}"), "is a directory"),
        (("baseline", "{trace}", "-o", "{blocker}/sub"), "a file is in the way"),
    ],
)
def test_bad_output_paths_are_one_line_errors_before_any_work(tmp_path, trace, args, message):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    # The budgets file does not exist: a command that read its inputs before
    # checking its outputs would fail on it instead.
    values = {"tmp": tmp_path, "blocker": blocker, "trace": trace}
    before = sorted(p.name for p in tmp_path.iterdir())
    one_line_error(run_ubscope(*(a.format(**values) for a in args), cwd=tmp_path), message)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert blocker.read_text() == "a file, not a folder"


@pytest.mark.parametrize(
    "args, give",
    [
        (("analyze", "{trace}", "-o", ""), "give a file name, or - for standard output"),
        (("report", "{trace}", "-o", ""), "give a file name, or - for standard output"),
        (("export", "{trace}", "-o", ""), "give a file name, or - for standard output"),
        (("run", "pool_demo", "-o", ""), "give a file name"),
        (("check", "{trace}", "--budget", "{tmp}/b.yaml", "--junit", ""), "give a file name"),
        (("check", "{trace}", "--budget", "{tmp}/b.yaml", "--markdown", ""), "give a file name"),
        (("baseline", "{trace}", "-o", ""), "give a folder name"),
        (("demo", "--out", ""), "give a folder name"),
        (("sweep", "pool_demo", "--grid", "n=16384", "-o", ""), "give a folder name"),
    ],
)
def test_an_empty_output_path_is_a_one_line_error(tmp_path, trace, args, give):
    # `-o "$UNSET"`: not standard output, the default name or the current folder.
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = [a.format(tmp=tmp_path, trace=trace) for a in args]
    result = run_ubscope(*argv, cwd=tmp_path)
    one_line_error(result, "the output path is empty", give)
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_folder_is_a_one_line_error(tmp_path, trace):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        for args in (
            ("run", "pool_demo", "-o", locked / "x.ubtrace"),
            ("demo", "--out", locked),
            ("analyze", trace, "-o", locked / "a.txt"),
        ):
            one_line_error(run_ubscope(*args), "permission denied")
    finally:
        locked.chmod(stat.S_IRWXU)


@pytest.mark.parametrize(
    "args",
    [
        ("analyze", "{trace}", "-o", "{trace}"),
        ("report", "{trace}", "-o", "{trace}"),
        ("export", "{trace}", "--format", "csv", "-o", "{trace}"),
        ("baseline", "{trace}", "-o", "{trace}"),
        ("baseline", "{trace}", "-o", "{trace}", "--update"),
        ("check", "{trace}", "--baseline", "{tmp}/b", "--junit", "{link}"),
    ],
)
def test_no_command_overwrites_its_own_input(tmp_path, trace, args):
    link = tmp_path / "link.xml"
    link.symlink_to(trace)
    original = trace.read_bytes()
    values = {"tmp": tmp_path, "trace": trace, "link": link}
    one_line_error(run_ubscope(*(a.format(**values) for a in args)), "is an input of this command")
    assert trace.read_bytes() == original


def test_an_output_symlink_is_followed_and_kept(tmp_path, trace):
    """One rule for every writer: the file the link points to is replaced."""
    for command, option in (
        (("analyze", trace, "--format", "json"), "-o"),
        (("check", trace, "--baseline", tmp_path / "b", "--missing-baseline", "new"), "--junit"),
        (("export", trace, "--format", "csv"), "-o"),
    ):
        target, link = tmp_path / "target.out", tmp_path / "link.out"
        target.write_text("old")
        link.symlink_to(target)
        result = run_ubscope(*command, option, link)
        assert result.returncode in (0, 1), result.stderr
        assert link.is_symlink() and os.readlink(link) == str(target)
        assert target.read_text() not in ("", "old")
        link.unlink()
        target.unlink()


def test_pipes_and_devices_are_written_to_never_replaced(tmp_path, trace):
    """A named pipe stands for /dev/null and /dev/stdout here: replacing a real
    device node as root (what this guards against) would break the machine."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for args, start in (
        (("report", trace), b"<!DOCTYPE html>"),
        (("export", trace, "--format", "csv"), b"seq,kind,"),
        (("analyze", trace, "--format", "json"), b"{"),
        (("run", "pool_demo", "-p", "n=16384"), b"\xff\xff\xff\xff"),
    ):
        with ThreadPoolExecutor(1) as pool:
            received = pool.submit(fifo.read_bytes)
            result = run_ubscope(*args, "-o", fifo, cwd=tmp_path)
            if not received.done():  # the command never wrote: release the reader
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            assert result.returncode in (0, 1), result.stderr
            assert received.result(timeout=60).lstrip().startswith(start)
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe", "pool.ubtrace"]


def test_dash_writes_to_stdout(tmp_path, trace):
    exported = run_ubscope("export", trace, "--format", "csv", "-o", "-", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith("seq,kind,core_kind,core,space,")
    assert "written to" not in exported.stdout
    report = run_ubscope("report", trace, "-o", "-", cwd=tmp_path)
    assert report.returncode == 0 and report.stdout.lstrip().startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["pool.ubtrace"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [("report", "{trace}"), ("export", "{trace}"), ("analyze", "{trace}"), ("run", "pool_demo")],
)
def test_a_full_disk_is_a_one_line_error(trace, args):
    values = {"trace": trace}
    result = run_ubscope(*(a.format(**values) for a in args), "-o", "/dev/full")
    one_line_error(result, "/dev/full", "disk is full")


def _small_file_limit() -> None:
    """In the child: files larger than 64 KiB cannot be written (EFBIG), as
    when a disk fills up mid-write."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_a_failed_trace_write_leaves_no_file(tmp_path):
    output = tmp_path / "big.ubtrace"
    result = run_ubscope("run", "paged_attention", "-o", output, preexec_fn=_small_file_limit)
    one_line_error(result, str(output), "cannot write")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("options", [(), ("--format", "csv"), ("--stream",)])
def test_a_reader_that_leaves_early_is_not_an_error(trace, options):
    """`ubscope export T -o - | head` is normal use: when the reader closes the
    pipe, the export stops quietly with exit 0 (as `analyze | head` does), not
    with "cannot write (Broken pipe)" and exit 2."""
    argv = [sys.executable, "-m", "ubscope", "export", str(trace), *options, "-o", "-"]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # the reader is gone before the first byte is written
    stderr = child.stderr.read().decode()
    assert child.wait(timeout=120) == 0, stderr
    assert stderr == ""


@pytest.mark.parametrize("options", [(), ("--format", "json")])
def test_an_analysis_whose_reader_leaves_early_ends_quietly(trace, options):
    """`ubscope analyze T | head` stops with exit 0 when head has its lines:
    exit 1 would say the trace has problems, which this one has not."""
    argv = [sys.executable, "-m", "ubscope", "analyze", str(trace), *options]
    assert subprocess.run(argv, capture_output=True).returncode == 0  # no finding fails it
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # the reader is gone before the first line is printed
    stderr = child.stderr.read().decode()
    assert child.wait(timeout=120) == 0, stderr
    assert stderr == ""


@pytest.mark.parametrize("options", [(), ("--format", "json")])
def test_problems_found_still_exit_1_when_the_reader_leaves_early(tmp_path, options):
    """`set -o pipefail; ubscope analyze T | head -3` must fail when T has
    problems: the reader leaving drops the rest of the text, not the exit code."""
    overflowing = tmp_path / "overflow.ubtrace"
    assert main(["run", "pool_demo", "--preset", "pool_no_reset", "-o", str(overflowing)]) == 1
    argv = [sys.executable, "-m", "ubscope", "analyze", str(overflowing), *options]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # the reader is gone before the first line is printed
    stderr = child.stderr.read().decode()
    assert child.wait(timeout=120) == 1, stderr
    assert stderr == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize(
    "args",
    [
        ("analyze", "{trace}"),
        ("analyze", "{trace}", "--format", "json"),
        ("trace", "info", "{trace}", "--json"),
        ("kernels",),
        ("rules",),
        ("chips",),
    ],
)
def test_a_full_disk_on_standard_output_is_one_line(trace, args):
    """`ubscope analyze T > /dev/full`: the text cannot be written (ENOSPC), as
    an output file on a full disk cannot: one line and exit 2, no traceback."""
    argv = [sys.executable, "-m", "ubscope", *(arg.format(trace=trace) for arg in args)]
    with open("/dev/full", "w") as full:
        result = subprocess.run(argv, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    one_line_error(result, "standard output", "disk is full")


@pytest.mark.parametrize("command", ["export", "analyze"])
def test_a_closed_standard_output_is_not_a_traceback(trace, command):
    """Started with standard output closed (`ubscope analyze T >&-`), Python has
    no `sys.stdout`: the command runs and its output goes nowhere."""
    result = run_ubscope(command, trace, "-o", "-", preexec_fn=lambda: os.close(1))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
