"""The CPU twin checks DataCopy / DataCopyPad parameters against the device's
ranges as the Python probe does (ubscope.probe.memory.copy_ranges): each limit
itself passes, one past it is flagged PARAM_RANGE with the parameter's bit in
the event's arg, and ALN005 names it at the kernel's line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ubscope.analyzers.api import analyze_trace
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.events import Flag
from ubscope.probe.memory.copy_ranges import CopyParam
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin

# float: 8 elements are 32 B, the padding limit per side. 4096 rows of one
# 32 B block fit the 128 KiB TBuf, so blockCount 4096 is only a range error.
KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void ranges(GM_ADDR x, GM_ADDR z) {
    TPipe pipe;
    TBuf<TPosition::VECCALC> buf;
    GlobalTensor<float> xGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, 4096 * 8);
    pipe.InitBuffer(buf, 4096 * 32);
    LocalTensor<float> t = buf.Get<float>();
    DataCopy(t, xGm, DataCopyParams(4095, 1, 0, 0));
    DataCopy(t, xGm, DataCopyParams(4096, 1, 0, 0));
    DataCopy(t, xGm, DataCopyParams(1, 0, 0, 0));
    DataCopyPad(t, xGm, DataCopyExtParams(4095, 32, 0, 0), DataCopyPadExtParams<float>(true, 0, 8, 0));
    DataCopyPad(t, xGm, DataCopyExtParams(4096, 32, 0, 0), DataCopyPadExtParams<float>(true, 8, 0, 0));
    DataCopyPad(t, xGm, DataCopyExtParams(1, 32, 0, 0), DataCopyPadExtParams<float>(true, 0, 9, 0));
    DataCopyPad(t, xGm, DataCopyExtParams(1, 32, 0, 0), DataCopyPadExtParams<float>(true, 9, 0, 0));
    DataCopyPad(t, xGm, DataCopyExtParams(1, 30, 0, 0), DataCopyPadExtParams<float>(false, 0, 0, 0));
}
"""
# Per copy, in source order (lines 10-17): the bits of the parameters out of range.
EXPECTED = [
    0,  # blockCount 4095: the 12-bit limit
    CopyParam.BLOCK_COUNT,  # 4096
    CopyParam.BLOCK_LEN,  # DataCopy blockLen 0 (1..65535)
    0,  # DataCopyPad blockCount 4095, rightPadding 8 floats = 32 B
    CopyParam.BLOCK_COUNT,  # 4096 (leftPadding 8 = 32 B is fine)
    CopyParam.RIGHT_PADDING,  # 9 floats = 36 B
    CopyParam.LEFT_PADDING,  # 9 floats
    CopyParam.BLOCK_LEN,  # 30 B GM -> UB is 7.5 floats
]


def test_each_limit_passes_and_one_past_it_is_flagged(tmp_path: Path) -> None:
    source = tmp_path / "ranges.cpp"
    source.write_text(KERNEL)
    trace = tmp_path / "ranges.ubtrace"
    x = np.arange(4096 * 8, dtype=np.float32)
    outputs = {"z": np.zeros(8, np.float32)}
    run_ascendc(source, "ranges", 1, {"x": x}, outputs, load_chip("Ascend910B1"), trace)
    frame = read_trace(trace).events
    copies = frame[frame.kind == "copy"]
    assert copies["arg"].tolist() == [int(bits) for bits in EXPECTED]
    flagged = (copies["flags"] & int(Flag.PARAM_RANGE)) != 0
    assert flagged.tolist() == [bool(bits) for bits in EXPECTED]
    found = {
        f.location.tag: f.evidence["parameters"]
        for f in analyze_trace(read_trace(trace)).findings
        if f.code == "ALN005"
    }
    assert found == {
        "ranges.cpp:11": {"blockCount": 1},
        "ranges.cpp:12": {"blockLen": 1},
        "ranges.cpp:14": {"blockCount": 1},
        "ranges.cpp:15": {"rightPadding": 1},
        "ranges.cpp:16": {"leftPadding": 1},
        "ranges.cpp:17": {"blockLen": 1},
    }
