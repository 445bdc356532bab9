"""``ubscope run`` on a source: a missing source is the first thing said;
``--timeout`` stops a runaway kernel; the kernel's own printf reaches standard
error, bounded. (A case file's reference errors: test_twin_case.py.)"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ubscope.cli import main
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin

# ``rounds`` lines of output after a greeting per block; 0: print and loop forever.
CHATTY = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void chatty(GM_ADDR z, uint32_t rounds) {
    GlobalTensor<float> zGm;
    zGm.SetGlobalBuffer((__gm__ float*)z, 8);
    printf("hello from block %d\\n", (int)GetBlockIdx());
    for (uint32_t i = 0; rounds == 0 || i < rounds; ++i) {
        zGm.SetValue(0, (float)i);
        printf("round %u of the chatty kernel\\n", i);
    }
}
"""


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_missing_source_is_named_first(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nonexist.cpp"
    rc = main(["run", str(missing), "--block-dim", "1"])
    assert rc == 2
    assert one_error_line(capsys).endswith(
        f"{missing}: cannot read the kernel source (No such file or directory)"
    )


@pytest.fixture
def chatty(tmp_path: Path) -> Path:
    path = tmp_path / "chatty.cpp"
    path.write_text(CHATTY)
    return path


def test_timeout_stops_a_runaway_kernel_and_keeps_a_truncated_trace(chatty: Path, capsys) -> None:
    trace = chatty.parent / "t.ubtrace"
    args = ["run", str(chatty), "--output", "z=float32:8", "--scalar", "rounds=0", "-o", str(trace)]
    rc = main([*args, "--timeout", "1.5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert err[0] == "hello from block 0"  # printed before the kill, not lost in a buffer
    assert err[-1].startswith(
        f"ubscope: error: {chatty}: kernel chatty ran longer than --timeout 1.5 s"
    )
    loaded = read_trace(trace)
    assert not loaded.complete
    assert any("--timeout 1.5 s" in problem for problem in loaded.problems)


def test_timeout_must_be_positive(chatty: Path, capsys) -> None:
    rc = main(["run", str(chatty), "--output", "z=float32:8", "--timeout", "0"])
    assert rc == 2
    assert "--timeout 0: expected seconds, more than 0" in one_error_line(capsys)


def test_kernel_printf_reaches_stderr_bounded(chatty: Path, capsys) -> None:
    # 20 000 lines of 30 bytes: far more than the 64 KiB passed through.
    trace = chatty.parent / "t.ubtrace"
    rc = main(
        [
            "run",
            str(chatty),
            "--output",
            "z=float32:8",
            "--scalar",
            "rounds=20000",
            "--block-dim",
            "2",
            "-o",
            str(trace),
        ]
    )
    captured = capsys.readouterr()
    assert rc == 0
    assert "hello from block 0\n" in captured.err
    assert "round 0 of the chatty kernel\n" in captured.err
    assert "round 19999 of" not in captured.err
    dropped = [line for line in captured.err.splitlines() if "more bytes, dropped" in line]
    assert len(dropped) == 1
    assert len(captured.err) < 70 * 1024
    assert "hello from block" not in captured.out  # nothing of it on standard output


# Spins without an API call: nothing it writes would end it when its reader goes.
SPIN = """\
#include "kernel_operator.h"
extern "C" __global__ __aicore__ void spin(GM_ADDR z) {
    volatile uint32_t forever = 1;
    while (forever) {
    }
}
"""


def _twin_child(parent: psutil.Process, seconds: float) -> psutil.Process:
    """The compiled twin ``parent`` runs (its event file is /dev/fd/N), once started."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for child in parent.children(recursive=True):
            try:
                if child.cmdline()[-1:] and child.cmdline()[-1].startswith("/dev/fd/"):
                    return child
            except psutil.NoSuchProcess:
                continue
        time.sleep(0.2)
    raise AssertionError("the twin did not start")


def test_a_run_never_outlives_the_process_that_started_it(tmp_path: Path) -> None:
    """A sweep's --timeout kills its worker: the kernel the worker ran must
    not spin on as an orphan."""
    source = tmp_path / "spin.cpp"
    source.write_text(SPIN)
    argv = ["run", str(source), "--output", "z=float32:8", "-o", str(tmp_path / "t.ubtrace")]
    script = f"from ubscope.cli import main; main({argv!r})"
    parent = subprocess.Popen([sys.executable, "-c", script])
    twin = _twin_child(psutil.Process(parent.pid), seconds=240)
    try:
        parent.kill()
        parent.wait(timeout=30)
        _, alive = psutil.wait_procs([twin], timeout=30)
        assert not alive, "the twin ran on after the process that started it was killed"
    finally:
        for process in (twin, parent):
            try:
                psutil.Process(process.pid).kill()
            except psutil.NoSuchProcess:
                pass
