"""The twin's pipe synchronisation: every call recorded as a MARK event (name =
the API, tag = the call site, arg = event ID, arg2 = HardEvent code), paired by
SYN001 (SetFlag without WaitFlag, WaitFlag without SetFlag, AllocEventID never
released) at the kernel's lines; event-ID misuse stops the run at its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from ubscope.analyzers import Severity, analyze_trace
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


# Two blocks, each: a ping-pong loop primed before it and drained after it, a
# set_flag/wait_flag pair, an allocated ID released; the -D defines plant one
# problem each.
PAIRING = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void pairing(GM_ADDR x, GM_ADDR z) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> buf;
    GlobalTensor<float> xGm, zGm;
    xGm.SetGlobalBuffer((__gm__ float*)x + 256 * GetBlockIdx(), 256);
    zGm.SetGlobalBuffer((__gm__ float*)z + 256 * GetBlockIdx(), 256);
    pipe.InitBuffer(buf, 64 * sizeof(float));
    LocalTensor<float> t = buf.Get<float>();
    TEventID load = pipe.AllocEventID<HardEvent::MTE2_V>();
    TEventID store = pipe.AllocEventID<HardEvent::MTE3_MTE2>();
    SetFlag<HardEvent::MTE3_MTE2>(store);  // primes the loop
    for (int i = 0; i < 4; ++i) {
        WaitFlag<HardEvent::MTE3_MTE2>(store);
        DataCopy(t, xGm[64 * i], 64);
        SetFlag<HardEvent::MTE2_V>(load);  // the load's flag
#ifndef NO_WAIT
        WaitFlag<HardEvent::MTE2_V>(load);
#endif
        Muls(t, t, 2.0f, 64);
        set_flag(PIPE_V, PIPE_MTE3, EVENT_ID2);
        wait_flag(PIPE_V, PIPE_MTE3, EVENT_ID2);
        DataCopy(zGm[64 * i], t, 64);
        SetFlag<HardEvent::MTE3_MTE2>(store);
    }
    WaitFlag<HardEvent::MTE3_MTE2>(store);  // drains the loop
#ifdef WAIT_FIRST
    WaitFlag<HardEvent::V_S>(3);  // nothing sets it
#endif
    pipe.ReleaseEventID<HardEvent::MTE2_V>(load);
#ifndef KEEP_ID
    pipe.ReleaseEventID<HardEvent::MTE3_MTE2>(store);
#endif
}
"""


def line_of(text: str) -> str:
    """``pairing.cpp:N``, N the line of PAIRING that holds ``text``."""
    (number,) = [n for n, line in enumerate(PAIRING.splitlines(), 1) if text in line]
    return f"pairing.cpp:{number}"


def sync_findings(tmp_path: Path, *defines: str) -> list[tuple[str, Severity, str, list[int]]]:
    """(code, severity, call site, cores) of each SYN001 finding of a 2-block run."""
    source = tmp_path / "pairing.cpp"
    source.write_text(PAIRING)
    trace = tmp_path / "pairing.ubtrace"
    x = np.arange(512, dtype=np.float32)
    run = run_ascendc(
        source,
        "pairing",
        2,
        {"x": x},
        {"z": np.zeros(512, np.float32)},
        CHIP,
        trace,
        defines=defines,
    )
    np.testing.assert_array_equal(run.outputs["z"], x * 2)
    findings = analyze_trace(read_trace(trace)).findings
    return [
        (f.code, f.severity, f.location.tag or "", f.evidence["cores"])
        for f in findings
        if f.code == "SYN001"
    ]


def test_paired_flags_loops_and_released_ids_pass(tmp_path: Path) -> None:
    assert sync_findings(tmp_path) == []


def test_set_flag_without_its_wait_is_an_error_at_its_line(tmp_path: Path) -> None:
    # Every round's SetFlag<MTE2_V> but the last is followed by the next round's
    # SetFlag of the same ID (illegal on a set flag), the last by nothing.
    assert sync_findings(tmp_path, "NO_WAIT") == [
        ("SYN001", Severity.ERROR, line_of("the load's flag"), [0, 1])
    ]


def test_wait_flag_without_a_set_is_an_error_at_its_line(tmp_path: Path) -> None:
    assert sync_findings(tmp_path, "WAIT_FIRST") == [
        ("SYN001", Severity.ERROR, line_of("nothing sets it"), [0, 1])
    ]


def test_event_id_never_released_is_a_warning_at_its_alloc(tmp_path: Path) -> None:
    assert sync_findings(tmp_path, "KEEP_ID") == [
        ("SYN001", Severity.WARNING, line_of("store = pipe.AllocEventID"), [0, 1])
    ]
