"""Guard pages around the GM buffers the host passes: a kernel that reads or
writes through a raw ``__gm__`` pointer past its tensor stops there as the
device would fault: ``ubscope run`` says so and exits 1, the trace is complete
and holds the fault (tensor, byte, read or write, last recorded call), and
``ubscope analyze`` reports it as a GM004 error at that call site, and not
what the stopped run never reached (the pipe's frees, a WaitFlag after the
access) as UB005 or SYN001. In-bounds raw accesses work; a crash elsewhere
stays a one-line error (test_twin_api.py)."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import line_of
from ubscope.analyzers.api import analyze_inputs
from ubscope.cli import main
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin

CHIP = load_chip("Ascend910B1")

RAW_KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void raw(GM_ADDR x, GM_ADDR z) {
    __gm__ float* in = (__gm__ float*)x;
    __gm__ float* out = (__gm__ float*)z;
    TPipe pipe;
    TBuf<QuePosition::VECCALC> buf;
    pipe.InitBuffer(buf, 8 * sizeof(float));
    GlobalTensor<float> xGm;
    xGm.SetGlobalBuffer(in, 8);
    LocalTensor<float> t = buf.Get<float>();
    DataCopy(t, xGm, 8);
    for (int i = 0; i < 8; ++i) out[i] = 2 * in[i];
#ifdef RAW_PAST_END
    out[8] = 1.0f;
#endif
#ifdef RAW_READ_PAST_END
    out[0] = in[9];
#endif
}
"""
# The last call the twin records before the raw accesses: DataCopy, line 12.
LAST_CALL = "raw.cpp:12"
# The x86 page-fault error code says whether a fault was a read or a write.
KNOWS_ACCESS = platform.machine() in ("x86_64", "AMD64")


def write_kernel(tmp_path: Path) -> Path:
    source = tmp_path / "raw.cpp"
    source.write_text(RAW_KERNEL)
    return source


def test_in_bounds_raw_pointer_accesses_work(tmp_path: Path) -> None:
    x = np.arange(8, dtype=np.float32)
    done = run_ascendc(
        write_kernel(tmp_path), "raw", 1, {"x": x}, {"z": np.zeros(8, np.float32)}, CHIP
    )
    np.testing.assert_array_equal(done.outputs["z"], 2 * x)
    assert done.device_fault is None


def run_cli(tmp_path: Path, define: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    trace = tmp_path / "raw.ubtrace"
    tensors = ["--input", "x=float32:8:ones", "--output", "z=float32:8"]
    rc = main(["run", str(write_kernel(tmp_path)), *tensors, "-D", define, "-o", str(trace)])
    return rc, capsys.readouterr().out


def test_raw_write_past_its_tensor_is_a_device_fault_in_a_complete_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = run_cli(tmp_path, "RAW_PAST_END", capsys)
    assert rc == 1
    assert "would fault on the device" in " ".join(out.split())
    trace = read_trace(tmp_path / "raw.ubtrace")
    assert trace.complete
    fault = trace.device_fault
    assert fault is not None
    # z holds 8 float32 = 32 B; out[8] starts 8 x 4 = 32 B in: the first byte
    # of the guard page after z.
    assert (fault.space, fault.tensor, fault.offset, fault.tag) == ("GM", "z", 32, LAST_CALL)
    assert fault.access == ("write" if KNOWS_ACCESS else "")
    rc = main(["analyze", str(tmp_path / "raw.ubtrace")])
    report = " ".join(capsys.readouterr().out.split())
    assert rc == 1
    verb = "wrote" if KNOWS_ACCESS else "read or wrote"
    assert (
        f"GM004 a raw __gm__ pointer {verb} tensor 'z' at byte 32, past its end, after the "
        f"last recorded call at call site '{LAST_CALL}'"
    ) in report


def test_raw_read_past_its_tensor_names_the_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _ = run_cli(tmp_path, "RAW_READ_PAST_END", capsys)
    assert rc == 1
    trace = read_trace(tmp_path / "raw.ubtrace")
    fault = trace.device_fault
    assert trace.complete and fault is not None
    # in[9] is element 9 of x's 8 float32: byte 9 x 4 = 36, 4 B into the guard page.
    assert (fault.tensor, fault.offset, fault.tag) == ("x", 36, LAST_CALL)
    assert fault.access == ("read" if KNOWS_ACCESS else "")
    # The fault is the trace's last event: a one-byte out-of-bounds copy from GM.
    copies = trace.events[trace.events["kind"] == "copy"]
    last = copies.iloc[-1]
    assert (last["tensor"], last["tag"], last["size"]) == ("x", LAST_CALL, 1)


# A kernel with work still open when its raw write meets the guard page: the
# TBuf's block (freed when the TPipe goes away, at the kernel's end) and the
# SetFlag of EVENT_ID0 (consumed by the WaitFlag after the write). Event ID 1
# is set twice before the write: the first SetFlag is never consumed, a bug
# of the kernel whether the run stops or not.
OPEN_AT_FAULT = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void open_at_fault(GM_ADDR x, GM_ADDR z) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> buf;
    pipe.InitBuffer(buf, 8 * sizeof(float));
    GlobalTensor<float> xGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, 8);
    LocalTensor<float> t = buf.Get<float>();
    DataCopy(t, xGm, 8);
    SetFlag<HardEvent::MTE2_S>(EVENT_ID1);  // set twice
    SetFlag<HardEvent::MTE2_S>(EVENT_ID1);
    SetFlag<HardEvent::MTE2_S>(EVENT_ID0);
#ifdef FAULT
    ((__gm__ float*)z)[8] = 1.0f;
#endif
    WaitFlag<HardEvent::MTE2_S>(EVENT_ID0);
    WaitFlag<HardEvent::MTE2_S>(EVENT_ID1);
}
"""


@pytest.mark.parametrize("defines", [("FAULT",), ()], ids=["fault", "no-fault"])
def test_what_the_fault_left_open_is_not_a_finding(
    tmp_path: Path, defines: tuple[str, ...]
) -> None:
    source = tmp_path / "open_at_fault.cpp"
    source.write_text(OPEN_AT_FAULT)
    trace = tmp_path / "open.ubtrace"
    tensors = {"x": np.ones(8, np.float32)}
    run_ascendc(
        source,
        "open_at_fault",
        1,
        tensors,
        {"z": np.zeros(8, np.float32)},
        CHIP,
        trace,
        defines=defines,
    )
    analysis = analyze_inputs(trace)
    codes = {f.code for f in analysis.findings}
    # The stopped run never reached the TPipe's frees nor the WaitFlags:
    # neither is a never-freed block (UB005) nor an unconsumed flag (SYN001).
    assert ("GM004" in codes) == bool(defines)
    assert "UB005" not in codes
    # Only the SetFlag of ID 1 that the second one overwrites is the kernel's
    # own bug, found with or without the fault.
    unpaired = [f.location.tag for f in analysis.findings if f.code == "SYN001"]
    assert unpaired == [f"open_at_fault.cpp:{line_of(OPEN_AT_FAULT, '// set twice')}"]
