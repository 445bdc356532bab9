"""The twin's pipe synchronisation: every call recorded as a MARK event (name =
the API, tag = the call site, arg = event ID, arg2 = HardEvent code) so a rule
can pair SetFlag with WaitFlag; event-ID misuse stops the run at its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.errors import EmulationError
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")

KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void flags(GM_ADDR x, GM_ADDR z) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> buf;
    GlobalTensor<float> xGm, zGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, 64);
    zGm.SetGlobalBuffer((__gm__ float*)z, 64);
    pipe.InitBuffer(buf, 64 * sizeof(float));
    LocalTensor<float> t = buf.Get<float>();
    DataCopy(t, xGm, 64);
    TEventID load = pipe.AllocEventID<HardEvent::MTE2_V>();
    SetFlag<HardEvent::MTE2_V>(load);
    WaitFlag<HardEvent::MTE2_V>(load);
    pipe.ReleaseEventID<HardEvent::MTE2_V>(load);
    Muls(t, t, 2.0f, 64);
    PipeBarrier<PIPE_V>();
    event_t store = static_cast<event_t>(pipe.FetchEventID(HardEvent::V_MTE3));
    SetFlag<HardEvent::V_MTE3>(store);
    WaitFlag<HardEvent::V_MTE3>(store);
    DataCopy(zGm, t, 64);
    set_flag(PIPE_MTE3, PIPE_S, EVENT_ID1);
    PipeBarrier<PIPE_ALL>();
}
"""

# HardEvent codes: positions in the documented enum (MTE2_V is the 5th, V_MTE3 the 8th).
MTE2_V, V_MTE3 = 4, 7
PIPE_V, PIPE_ALL = 1, 6
# set_flag(PIPE_MTE3=5, PIPE_S=0): no HardEvent, recorded as -1 - (5 * 16 + 0).
MTE3_TO_S = -81


def test_sync_calls_are_recorded_with_ids_codes_and_lines(tmp_path: Path) -> None:
    source = tmp_path / "sync.cpp"
    source.write_text(KERNEL)
    x = np.arange(64, dtype=np.float32)
    trace = tmp_path / "sync.ubtrace"
    run = run_ascendc(source, "flags", 1, {"x": x}, {"z": np.zeros(64, np.float32)}, CHIP, trace)
    np.testing.assert_array_equal(run.outputs["z"], x * 2)
    frame = read_trace(trace).events
    marks = frame[frame.kind == "mark"]
    columns = (marks["name"].astype(str), marks["arg"], marks["arg2"], marks["tag"].astype(str))
    got = list(zip(*columns, strict=True))
    assert got == [
        ("AllocEventID", 0, MTE2_V, "sync.cpp:12"),
        ("SetFlag", 0, MTE2_V, "sync.cpp:13"),
        ("WaitFlag", 0, MTE2_V, "sync.cpp:14"),
        ("ReleaseEventID", 0, MTE2_V, "sync.cpp:15"),
        ("PipeBarrier", -1, PIPE_V, "sync.cpp:17"),
        ("FetchEventID", 0, V_MTE3, "sync.cpp:18"),
        ("SetFlag", 0, V_MTE3, "sync.cpp:19"),
        ("WaitFlag", 0, V_MTE3, "sync.cpp:20"),
        ("SetFlag", 1, MTE3_TO_S, "sync.cpp:22"),
        ("PipeBarrier", -1, PIPE_ALL, "sync.cpp:23"),
    ]
    # The one SetFlag with no WaitFlag of the same (code, id): what a rule will flag.
    sets = marks[marks["name"] == "SetFlag"][["arg", "arg2"]].itertuples(index=False)
    waits = set(marks[marks["name"] == "WaitFlag"][["arg", "arg2"]].itertuples(index=False))
    assert [tuple(s) for s in sets if s not in waits] == [(1, MTE3_TO_S)]
    # WaitFlag<MTE2_V> holds the vector pipe until the load has landed: Muls
    # starts no earlier than the MTE2 copy ends.
    load = frame[frame.kind == "copy"].iloc[0]
    muls = frame[(frame.kind == "compute") & (frame["name"] == "Muls")].iloc[0]
    assert muls["start_ps"] >= load["start_ps"] + load["dur_ps"]


def test_alloc_event_id_beyond_eight_stops_at_its_line(tmp_path: Path) -> None:
    source = tmp_path / "ids.cpp"
    source.write_text(
        textwrap.dedent("""\
        #include "kernel_operator.h"
        using namespace AscendC;
        extern "C" __global__ __aicore__ void ids(GM_ADDR z) {
            TPipe pipe;
            for (int i = 0; i < 9; ++i) {
                pipe.AllocEventID<HardEvent::S_V>();
            }
        }
        """)
    )
    with pytest.raises(EmulationError, match=r"ids\.cpp:6: AllocEventID: all 8 event IDs"):
        run_ascendc(source, "ids", 1, {}, {"z": np.zeros(8, np.float32)}, CHIP)
