"""Guard pages around the GM buffers the host passes: a kernel that reads or
writes through a raw ``__gm__`` pointer past its tensor stops with one line
naming the buffer and the last recorded call site; in-bounds raw accesses work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.errors import EmulationError, PartialReadWarning
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
}
"""


def run_raw(tmp_path: Path, defines: tuple[str, ...] = (), trace: Path | None = None) -> np.ndarray:
    source = tmp_path / "raw.cpp"
    source.write_text(RAW_KERNEL)
    x = np.arange(8, dtype=np.float32)
    inputs, outputs = {"x": x}, {"z": np.zeros(8, np.float32)}
    done = run_ascendc(source, "raw", 1, inputs, outputs, CHIP, trace, defines=defines)
    return done.outputs["z"]


def test_in_bounds_raw_pointer_accesses_work(tmp_path: Path) -> None:
    np.testing.assert_array_equal(run_raw(tmp_path), 2 * np.arange(8, dtype=np.float32))


def test_raw_write_past_its_buffer_names_the_buffer_and_last_call(tmp_path: Path) -> None:
    trace = tmp_path / "raw.ubtrace"
    with pytest.raises(EmulationError) as caught:
        run_raw(tmp_path, ("RAW_PAST_END",), trace)
    assert str(caught.value) == (
        f"{tmp_path / 'raw.cpp'}: kernel raw read or wrote GM buffer 'z' (32 B) at byte 32, "
        "past its end, through a raw pointer (a guard page) after its last recorded call "
        "at raw.cpp:12"
    )
    with pytest.warns(PartialReadWarning, match="truncated"):
        assert not read_trace(trace).complete
