"""Misuse the twin used to miss or report badly: a scalar ``LocalTensor::SetValue``
past UB's capacity is a device fault as a vector write there is (a ``GetValue``
there reads the red zone unflagged, as a vector source does); an access beyond
the red zone names its address in hexadecimal; ``InitBuffer`` refuses a zero
length at its own line; and an API the twin lacks (high-level, math library or
basic vector) stops the build with one line at the user's call naming it, whatever
its template arguments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import write_source
from ubscope.probe.ascendc.build import CompileError
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.errors import EmulationError
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
UB_BYTES = 192 * 1024  # Ascend910B1's UB; the red zone behind it is as large again


SCALAR_KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void scal(GM_ADDR z) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> buf;
    pipe.InitBuffer(buf, 256);
    LocalTensor<float> t = buf.Get<float>();
    t.SetValue(INDEX, 3.5f);
    GlobalTensor<float> zGm;
    zGm.SetGlobalBuffer((__gm__ float*)z, 8);
    zGm.SetValue(0, t.GetValue(INDEX));
}
"""


def test_scalar_write_past_capacity_is_a_device_fault_at_its_line(tmp_path: Path) -> None:
    assert CHIP.space_capacity("UB") == UB_BYTES
    index = 50_000  # float 50000 is byte 200000: 3392 B past the capacity, in the red zone
    source = write_source(tmp_path, "scal.cpp", SCALAR_KERNEL)
    trace = tmp_path / "scal.ubtrace"
    done = run_ascendc(
        source,
        "scal",
        1,
        {},
        {"z": np.zeros(8, np.float32)},
        CHIP,
        trace,
        defines=(f"INDEX={index}",),
    )
    # The read back from the red zone gets what the write left there, unflagged.
    assert done.outputs["z"][0] == 3.5
    fault = done.device_fault
    assert fault is not None
    assert (fault.space, fault.addr, fault.nbytes, fault.tag) == ("UB", 4 * index, 4, "scal.cpp:8")
    assert fault.past_capacity == 4 and fault.writes == 1
    events = read_trace(trace).events
    redzone = events[events["kind"] == "redzone_write"]
    assert list(redzone["tag"]) == ["scal.cpp:8"]


def test_access_beyond_the_red_zone_names_its_address_in_hex(tmp_path: Path) -> None:
    source = write_source(tmp_path, "scal.cpp", SCALAR_KERNEL)
    # float 150000 is byte 600000 = 0x927c0, past the red zone (2 x 192 KiB).
    with pytest.raises(EmulationError, match=r"scal.cpp:8: UB access at 0x927c0 \+ 4 B reaches"):
        run_ascendc(
            source,
            "scal",
            1,
            {},
            {"z": np.zeros(8, np.float32)},
            CHIP,
            defines=("INDEX=150000",),
        )


def test_init_buffer_of_zero_bytes_stops_at_its_line(tmp_path: Path) -> None:
    source = write_source(
        tmp_path,
        "zero.cpp",
        """\
        #include "kernel_operator.h"
        using namespace AscendC;
        extern "C" __global__ __aicore__ void zero(GM_ADDR x) {
            TPipe pipe;
            TQue<QuePosition::VECOUT, 2> q;
            pipe.InitBuffer(q, 2, 0);
            LocalTensor<float> t = q.AllocTensor<float>();
            q.FreeTensor(t);
        }
        """,
    )
    with pytest.raises(EmulationError, match=r"zero.cpp:6: InitBuffer: len=0"):
        run_ascendc(source, "zero", 1, {"x": np.zeros(8, np.float32)}, {}, CHIP)


def test_missing_apis_stop_the_build_at_the_users_lines(tmp_path: Path) -> None:
    uses = {
        5: ("ConfusionTranspose", "ConfusionTranspose<half>(t, t, 0, 16);"),
        6: ("Scatter", "Scatter<half>(t, t, t, 0, 16);"),
        7: ("LayerNormGrad", "LayerNormGrad<half, false>(t, t, t, t, t, t, t, t, 1e-5f);"),
    }
    body = "\n".join(f"    {use}" for _, use in uses.values())
    source = tmp_path / "missing.cpp"
    source.write_text(
        '#include "kernel_operator.h"\n'
        "using namespace AscendC;\n"
        'extern "C" __global__ __aicore__ void missing(GM_ADDR x) {\n'
        "    LocalTensor<half> t;\n"
        f"{body}\n"
        "}\n"
    )
    with pytest.raises(CompileError) as caught:
        run_ascendc(source, "missing", 1, {"x": np.zeros(8, np.float32)}, {}, CHIP)
    lines = caught.value.errors
    assert len(lines) == len(uses)
    for line, (line_no, (name, _)) in zip(lines, sorted(uses.items()), strict=True):
        assert line.startswith(f"{source}:{line_no}: "), line
        assert f"AscendC::{name} is not implemented yet" in line
