"""A twin run the kernel stopped keeps its trace, and `analyze` says why in
the user's words: the kernel's line and problem, not a Python class name, in
lines that wrap under the warning without trailing spaces."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.source_lines import write_source
from ubscope.cli import main
from ubscope.probe.errors import EmulationError
from ubscope.probe.trace import stop_reason

pytestmark = pytest.mark.ascendc_twin

# Two 240,000 B buffers (60,000 floats each) cannot be placed in a 192 KiB UB.
KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void huge(GM_ADDR x, GM_ADDR z) {
    TPipe pipe;
    TQue<QuePosition::VECIN, 2> inQ;
    pipe.InitBuffer(inQ, 2, 60000 * sizeof(float));
    LocalTensor<float> a = inQ.AllocTensor<float>();
    inQ.FreeTensor(a);
}
"""


def test_analyze_of_a_stopped_twin_run_names_the_line_not_the_class(tmp_path: Path, capsys) -> None:
    source = write_source(tmp_path, "huge.cpp", KERNEL)
    trace = tmp_path / "huge.ubtrace"
    tensors = ["--input", "x=float32:64", "--output", "z=float32:64"]
    assert main(["run", str(source), *tensors, "-o", str(trace)]) == 2
    capsys.readouterr()
    main(["analyze", str(trace)])
    out = capsys.readouterr().out
    warning = " ".join(out[out.index("warning:") :].split("\n\n")[0].split())
    assert "recording stopped: " in warning and "huge.cpp:6: InitBuffer" in warning
    # 2 buffers of 60,000 x 4 = 240,000 B from UB 0x0 end at 480,000 = 0x75300,
    # past the 196,608 B (192 KiB) of a 910B's UB
    assert "2 x 240000 B at UB 0x0 would end at 0x75300 (480000 B), past the 196608 B" in warning
    assert "EmulationError" not in warning
    assert not [line for line in out.splitlines() if line.endswith(" ")]


def test_a_crash_keeps_its_exception_class() -> None:
    assert stop_reason(ZeroDivisionError("division by zero")) == (
        "recording stopped by an error: ZeroDivisionError: division by zero"
    )
    assert stop_reason(EmulationError("k.cpp:3: no room")) == "recording stopped: k.cpp:3: no room"
