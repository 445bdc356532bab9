"""The twin's int4b_t: packed bytes viewed with ReinterpretCast<int4b_t>() and
converted to half by Cast (count form), checked against numpy's unpacking of
the same bytes, with sizes and offsets in 4-bit elements and the recorded Cast
event against figures worked out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import line_of, stops_at
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.trace import read_trace

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
BYTES = 64  # 128 int4 values

# w: 64 packed bytes; z: the 128 values as half, then the last 64 again (from
# the int4 tensor's element 64 on), then GetSize of the int4 view and of a
# SetSize(100) copy of it, as halves.
KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
constexpr uint32_t BYTES = 64, VALUES = 2 * BYTES;
extern "C" __global__ __aicore__ void unpack(GM_ADDR w, GM_ADDR z) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bw, bz;
    GlobalTensor<int8_t> wGm;
    GlobalTensor<half> zGm;
    wGm.SetGlobalBuffer((__gm__ int8_t*)w, BYTES);
    zGm.SetGlobalBuffer((__gm__ half*)z, VALUES + VALUES / 2 + 16);
    pipe.InitBuffer(bw, BYTES);
    pipe.InitBuffer(bz, (VALUES + VALUES / 2 + 16) * sizeof(half));
    LocalTensor<int8_t> packed = bw.Get<int8_t>();
    LocalTensor<half> out = bz.Get<half>();
    DataCopy(packed, wGm, BYTES);
    LocalTensor<int4b_t> values = packed.ReinterpretCast<int4b_t>();
    Cast(out, values, RoundMode::CAST_NONE, COUNT);
    Cast(out[VALUES], values[VALUES / 2], RoundMode::CAST_NONE, VALUES / 2);
    LocalTensor<int4b_t> some = values;
    some.SetSize(100);
    Duplicate(out[VALUES + VALUES / 2], half(float(values.GetSize())), 8);
    Duplicate(out[VALUES + VALUES / 2 + 8], half(float(some.GetSize())), 8);
    DataCopy(zGm, out, VALUES + VALUES / 2 + 16);
}
"""


def run_unpack(tmp_path: Path, count: int) -> tuple[np.ndarray, np.ndarray, Path]:
    source = tmp_path / "unpack.cpp"
    source.write_text(KERNEL)
    packed = np.random.default_rng(5).integers(0, 256, BYTES, dtype=np.uint8)
    trace = tmp_path / "unpack.ubtrace"
    z = np.zeros(2 * BYTES + BYTES + 16, np.float16)
    run = run_ascendc(
        source, "unpack", 1, {"w": packed}, {"z": z}, CHIP, trace, defines=(f"COUNT={count}",)
    )
    return packed, run.outputs["z"], trace


def test_cast_from_int4_unpacks_low_nibble_first_as_signed_values(tmp_path: Path) -> None:
    packed, z, trace = run_unpack(tmp_path, 2 * BYTES)
    # Element 2i is byte i's low nibble, 2i + 1 its high nibble, each 4-bit
    # two's complement: nibbles 8..15 are -8..-1.
    nibbles = np.stack([packed & 0xF, packed >> 4], axis=1).reshape(-1).astype(np.int16)
    values = np.where(nibbles >= 8, nibbles - 16, nibbles)
    np.testing.assert_array_equal(z[: 2 * BYTES], values)
    # values[64] starts at byte 32: the second half of the elements.
    np.testing.assert_array_equal(z[2 * BYTES : 3 * BYTES], values[BYTES:])
    # GetSize counts 4-bit elements: 64 bytes hold 128 (and SetSize sets it).
    np.testing.assert_array_equal(z[3 * BYTES : 3 * BYTES + 8], 128)
    np.testing.assert_array_equal(z[3 * BYTES + 8 :], 100)
    events = read_trace(trace).events
    casts = events[(events.kind == "compute") & (events["name"] == "Cast")]
    # The first Cast writes 128 halves (256 B) and reads 64 B: 320 B touched;
    # the second writes 128 B and reads 32 B.
    rows = [tuple(row) for row in casts[["aligned_size", "size", "tag"]].itertuples(index=False)]
    assert rows == [
        (256, 320, f"unpack.cpp:{line_of(KERNEL, 'Cast(out, values')}"),
        (128, 160, f"unpack.cpp:{line_of(KERNEL, 'Cast(out[VALUES]')}"),
    ]


def test_cast_from_int4_with_an_odd_count_stops_at_its_line(tmp_path: Path) -> None:
    with stops_at("unpack.cpp", KERNEL, "Cast(out, values", "Cast from int4b_t: count 7"):
        run_unpack(tmp_path, 7)
