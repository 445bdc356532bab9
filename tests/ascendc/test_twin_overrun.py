"""UB014 on the CPU twin: a vector op that writes past the end of its queue
buffer into the next buffer is one finding at its source line, with the bytes
past the buffer's end worked out by hand; a healthy ping-pong kernel with
adjacent buffers, each written exactly to its end, has none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import call_site, write_source
from ubscope.analyzers.api import analyze_path
from ubscope.analyzers.findings import Severity
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")

# InitBuffer places blocks one after another from UB address 0: inQ [0, 1024),
# outQ (128 halves) [1024, 1280), spare [1280, 2304). Muls of 512 halves into y
# writes 1024 B from 1024: [1024, 2048), 2048 - 1280 = 768 B past y's end, in spare.
OVERRUN = """\
    #include "kernel_operator.h"
    using namespace AscendC;
    constexpr int32_t N = 128;
    extern "C" __global__ __aicore__ void overrun(GM_ADDR x, GM_ADDR z) {
        TPipe pipe;
        TQue<QuePosition::VECIN, 1> inQ;
        TQue<QuePosition::VECOUT, 1> outQ;
        TBuf<QuePosition::VECCALC> spare;
        GlobalTensor<half> xGm, zGm;
        xGm.SetGlobalBuffer((__gm__ half*)x, 4 * N);
        zGm.SetGlobalBuffer((__gm__ half*)z, N);
        pipe.InitBuffer(inQ, 1, 4 * N * sizeof(half));
        pipe.InitBuffer(outQ, 1, N * sizeof(half));
        pipe.InitBuffer(spare, 1024);
        LocalTensor<half> xl = inQ.AllocTensor<half>();
        DataCopy(xl, xGm, 4 * N);
        inQ.EnQue(xl);
        xl = inQ.DeQue<half>();
        LocalTensor<half> y = outQ.AllocTensor<half>();
        Muls(y, xl, (half)2.0, 4 * N);  // PLANTED: 512 halves into 128
        inQ.FreeTensor(xl);
        outQ.EnQue(y);
        y = outQ.DeQue<half>();
        DataCopy(zGm, y, N);
        outQ.FreeTensor(y);
    }
"""

# Double-buffered queues of 128 halves side by side and a TBuf of 256 halves
# whose halves (operator[]) are each written to their end: z = 2x + (x + 1).
HEALTHY = """\
    #include "kernel_operator.h"
    using namespace AscendC;
    constexpr int32_t TILE = 128, TILES = 4, BUFFER_NUM = 2;
    extern "C" __global__ __aicore__ void healthy(GM_ADDR x, GM_ADDR z) {
        TPipe pipe;
        TQue<QuePosition::VECIN, BUFFER_NUM> inQ;
        TQue<QuePosition::VECOUT, BUFFER_NUM> outQ;
        TBuf<QuePosition::VECCALC> work;
        GlobalTensor<half> xGm, zGm;
        xGm.SetGlobalBuffer((__gm__ half*)x, TILE * TILES);
        zGm.SetGlobalBuffer((__gm__ half*)z, TILE * TILES);
        pipe.InitBuffer(inQ, BUFFER_NUM, TILE * sizeof(half));
        pipe.InitBuffer(outQ, BUFFER_NUM, TILE * sizeof(half));
        pipe.InitBuffer(work, 2 * TILE * sizeof(half));
        LocalTensor<half> w = work.Get<half>();
        for (int32_t i = 0; i < TILES; ++i) {
            LocalTensor<half> xl = inQ.AllocTensor<half>();
            DataCopy(xl, xGm[i * TILE], TILE);
            inQ.EnQue(xl);
            xl = inQ.DeQue<half>();
            Muls(w, xl, (half)2.0, TILE);
            Adds(w[TILE], xl, (half)1.0, TILE);
            LocalTensor<half> yl = outQ.AllocTensor<half>();
            Add(yl, w, w[TILE], TILE);
            inQ.FreeTensor(xl);
            outQ.EnQue(yl);
            yl = outQ.DeQue<half>();
            DataCopy(zGm[i * TILE], yl, TILE);
            outQ.FreeTensor(yl);
        }
    }
"""


def test_a_vector_op_past_its_queue_buffer_is_flagged_at_its_line(tmp_path: Path) -> None:
    source = write_source(tmp_path, "overrun.cpp", OVERRUN)
    trace = tmp_path / "overrun.ubtrace"
    x = np.ones(512, dtype=np.float16)
    run_ascendc(source, "overrun", 1, {"x": x}, {"z": np.zeros(128, np.float16)}, CHIP, trace)
    (finding,) = [f for f in analyze_path(trace).findings if f.code == "UB014"]
    assert finding.severity == Severity.ERROR
    assert finding.location.tag == call_site(source, "PLANTED")
    assert (finding.location.addr_start, finding.location.addr_end) == (1280, 2048)
    assert finding.evidence["bytes_past_buffer_end"] == 768
    assert finding.evidence["first_op"] == "Muls"
    # the twin names a queue after the variable of its InitBuffer line
    assert finding.evidence["first_buffer"] == "outQ"
    assert finding.evidence["first_into"] == "spare"


def test_a_healthy_ping_pong_kernel_with_adjacent_buffers_is_not_flagged(tmp_path: Path) -> None:
    source = write_source(tmp_path, "healthy.cpp", HEALTHY)
    trace = tmp_path / "healthy.ubtrace"
    x = np.arange(512, dtype=np.float16) / 64
    run = run_ascendc(source, "healthy", 2, {"x": x}, {"z": np.zeros_like(x)}, CHIP, trace)
    np.testing.assert_allclose(run.outputs["z"], 3 * x.astype(np.float32) + 1, rtol=1e-3)
    errors = [f.code for f in analyze_path(trace).findings if f.severity >= Severity.ERROR]
    assert errors == []
