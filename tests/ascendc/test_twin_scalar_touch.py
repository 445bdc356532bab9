"""A scalar ``LocalTensor::SetValue`` / ``GetValue`` is a use of its buffer: a
table a kernel fills element by element and reads with a vector instruction is
not UB011 "allocated but never used", and the twin records one event for the
first scalar access of each buffer life, not one per call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.same_analysis import assert_same_analysis
from tests.helpers.source_lines import line_of, write_source
from ubscope.analyzers.api import analyze_path
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.events import Flag
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
TILE, TILES = 64, 2

# Per tile: a TBuf ramp 0..63 written with SetValue, added (as Add's second
# operand) to a tile of x; the first element of
# the sum read back with GetValue and written with SetValue. SPARE adds a TBuf
# the kernel never touches.
RAMP_KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
constexpr int32_t TILE = 64;
constexpr int32_t TILES = 2;
extern "C" __global__ __aicore__ void ramp(GM_ADDR x, GM_ADDR z) {
    TPipe pipe;
    TQue<QuePosition::VECIN, 1> inQueue;
    TQue<QuePosition::VECOUT, 1> outQueue;
    TBuf<QuePosition::VECCALC> rampBuf;
    GlobalTensor<float> xGm, zGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, TILE * TILES);
    zGm.SetGlobalBuffer((__gm__ float*)z, TILE * TILES);
    pipe.InitBuffer(inQueue, 1, TILE * sizeof(float));
    pipe.InitBuffer(outQueue, 1, TILE * sizeof(float));
    pipe.InitBuffer(rampBuf, TILE * sizeof(float));
#ifdef SPARE
    TBuf<QuePosition::VECCALC> spareBuf;
    pipe.InitBuffer(spareBuf, TILE * sizeof(float));
#endif
    for (int32_t i = 0; i < TILES; ++i) {
        LocalTensor<float> ramp = rampBuf.Get<float>();
        for (int32_t j = 0; j < TILE; ++j) {
            ramp.SetValue(j, static_cast<float>(j));  // fill
        }
        LocalTensor<float> in = inQueue.AllocTensor<float>();
        DataCopy(in, xGm[i * TILE], TILE);
        LocalTensor<float> out = outQueue.AllocTensor<float>();
        Add(out, in, ramp, TILE);
        out.SetValue(0, out.GetValue(0) + 0.5f);  // bump
        DataCopy(zGm[i * TILE], out, TILE);
        inQueue.FreeTensor(in);
        outQueue.FreeTensor(out);
    }
}
"""


def run_ramp(folder: Path, *defines: str) -> Path:
    """The kernel on one block: its trace and its output, checked against x + ramp."""
    source = write_source(folder, "ramp.cpp", RAMP_KERNEL)
    x = np.arange(TILE * TILES, dtype=np.float32) * 3
    trace = folder / "ramp.ubtrace"
    done = run_ascendc(
        source, "ramp", 1, {"x": x}, {"z": np.zeros_like(x)}, CHIP, trace, defines=defines
    )
    expected = x + np.tile(np.arange(TILE, dtype=np.float32), TILES)
    expected[::TILE] += 0.5
    np.testing.assert_array_equal(done.outputs["z"], expected)
    return trace


def scalar_events(trace: Path) -> pd.DataFrame:
    events = read_trace(trace).events
    return events[(events["flags"] & int(Flag.SCALAR_ACCESS)) != 0]


def test_a_table_filled_with_set_value_is_used(tmp_path: Path) -> None:
    trace = run_ramp(tmp_path)
    assert_same_analysis(trace)
    analysis = analyze_path(trace)
    assert [f.message for f in analysis.findings if f.code == "UB011"] == []
    # the roofline's compute events are the two Adds (one per tile), the scalar
    # accesses none: FLOPs 2 tiles x 64 elements = 128, as without them
    roofline = analysis.context.roofline
    assert (roofline["compute_events"], roofline["flops"]) == (TILES, TILES * TILE)


def test_a_truly_unused_buffer_is_still_flagged(tmp_path: Path) -> None:
    trace = run_ramp(tmp_path, "SPARE")
    assert_same_analysis(trace)
    unused = [f for f in analyze_path(trace).findings if f.code == "UB011"]
    assert [f.message.split("'")[1] for f in unused] == ["spareBuf"]


def test_one_scalar_event_per_buffer_life(tmp_path: Path) -> None:
    trace = run_ramp(tmp_path)
    source = (tmp_path / "ramp.cpp").read_text()
    fill, bump = (f"ramp.cpp:{line_of(source, marker)}" for marker in ("// fill", "// bump"))
    scalar = scalar_events(trace)
    # 2 tiles x 64 SetValue calls on rampBuf (one life per Get): 2 events; on
    # outQueue 2 tiles x (1 GetValue, then 1 SetValue) (one life per
    # AllocTensor): 2 events, the GetValue first; inQueue: none. 4 in all.
    assert len(scalar) == 4
    # UB blocks from InitBuffer, 64 floats = 256 B each: inQueue 0, outQueue
    # 256, rampBuf 512. A SetValue writes element 0 (its destination), a
    # GetValue reads it (its source); 4 B each, no FLOPs, no time.
    rows = [
        (r.name, r.tag, r.space, r.addr, r.src_space, r.src_addr, r.size, r.aligned_size)
        for r in scalar.itertuples()
    ]
    set_value = ("SetValue", fill, "UB", 512, "NONE", 0, 4, 4)
    get_value = ("GetValue", bump, "NONE", 0, "UB", 256, 4, 0)
    assert rows == [set_value, get_value] * TILES
    assert (scalar["arg"] == 0).all() and (scalar["dur_ps"] == 0).all()
    # the first fill starts at the core's scalar time, where InitBuffer left it
    events = read_trace(trace).events
    first_alloc = events[events["kind"] == "alloc"]["start_ps"].iloc[0]
    assert scalar["start_ps"].iloc[0] == first_alloc


def test_add_names_both_its_sources(tmp_path: Path) -> None:
    events = read_trace(run_ramp(tmp_path)).events
    adds = events[events["name"] == "Add"]
    # UB blocks from InitBuffer: inQueue 0, outQueue 256, rampBuf 512 (256 B
    # each). Add(out, in, ramp): out at 256, in its first source, ramp its
    # second (arg2, flagged SECOND_SOURCE), in both tiles.
    rows = [(r.space, r.addr, r.src_space, r.src_addr, r.arg2) for r in adds.itertuples()]
    assert rows == [("UB", 256, "UB", 0, 512)] * TILES
    assert ((adds["flags"] & int(Flag.SECOND_SOURCE)) != 0).all()


# ReduceSum's third operand is the scratch the device keeps its intermediate
# results in: a TBuf used only there is used.
REDUCE_KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void total(GM_ADDR x, GM_ADDR z) {
    TPipe pipe;
    TQue<QuePosition::VECIN, 1> inQueue;
    TQue<QuePosition::VECOUT, 1> outQueue;
    TBuf<QuePosition::VECCALC> workBuf;
    GlobalTensor<float> xGm, zGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, 64);
    zGm.SetGlobalBuffer((__gm__ float*)z, 8);
    pipe.InitBuffer(inQueue, 1, 64 * sizeof(float));
    pipe.InitBuffer(outQueue, 1, 8 * sizeof(float));
    pipe.InitBuffer(workBuf, 64 * sizeof(float));
    LocalTensor<float> in = inQueue.AllocTensor<float>();
    DataCopy(in, xGm, 64);
    LocalTensor<float> out = outQueue.AllocTensor<float>();
    LocalTensor<float> work = workBuf.Get<float>();
    ReduceSum(out, in, work, 64);
    DataCopy(zGm, out, 8);
    inQueue.FreeTensor(in);
    outQueue.FreeTensor(out);
}
"""


def test_a_buffer_used_only_as_a_reductions_work_is_used(tmp_path: Path) -> None:
    source = write_source(tmp_path, "total.cpp", REDUCE_KERNEL)
    x = np.arange(64, dtype=np.float32)
    trace = tmp_path / "total.ubtrace"
    done = run_ascendc(source, "total", 1, {"x": x}, {"z": np.zeros(8, np.float32)}, CHIP, trace)
    assert done.outputs["z"][0] == 63 * 64 / 2  # 0 + 1 + ... + 63
    findings = analyze_path(trace).findings
    assert [f.message for f in findings if f.code == "UB011"] == []
