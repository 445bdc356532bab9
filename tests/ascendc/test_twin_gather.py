"""The twin's Gather (byte offsets into a source tensor), CreateVecIndex and the
logical shifts ShiftLeft / ShiftRight, checked against numpy, and the recorded
Gather event against figures worked out by hand."""

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
N = 64

# x: 64 floats; offsets: 64 uint32 byte offsets; words: 64 uint16; z: the
# gathered floats (with base address 0, then 32 B) and the index; s: the shifts.
KERNEL = """\
#include "kernel_operator.h"
using namespace AscendC;
constexpr uint32_t N = 64;
extern "C" __global__ __aicore__ void gather(GM_ADDR x, GM_ADDR offsets, GM_ADDR words, GM_ADDR z,
                                             GM_ADDR s) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bx, bo, bw, bz, bs;
    GlobalTensor<float> xGm, zGm;
    GlobalTensor<uint32_t> oGm;
    GlobalTensor<uint16_t> wGm, sGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, N);
    oGm.SetGlobalBuffer((__gm__ uint32_t*)offsets, N);
    wGm.SetGlobalBuffer((__gm__ uint16_t*)words, N);
    zGm.SetGlobalBuffer((__gm__ float*)z, 3 * N);
    sGm.SetGlobalBuffer((__gm__ uint16_t*)s, 2 * N);
    pipe.InitBuffer(bx, N * sizeof(float));
    pipe.InitBuffer(bo, N * sizeof(uint32_t));
    pipe.InitBuffer(bw, N * sizeof(uint16_t));
    pipe.InitBuffer(bz, 3 * N * sizeof(float));
    pipe.InitBuffer(bs, 2 * N * sizeof(uint16_t));
    LocalTensor<float> a = bx.Get<float>(), o = bz.Get<float>();
    LocalTensor<uint32_t> off = bo.Get<uint32_t>();
    LocalTensor<uint16_t> w = bw.Get<uint16_t>(), sh = bs.Get<uint16_t>();
    DataCopy(a, xGm, N);
    DataCopy(off, oGm, N);
    DataCopy(w, wGm, N);
    Gather(o, a, off, 0, N);
    Gather(o[N], a, off, BASE, N / 2);
    CreateVecIndex(o[2 * N].ReinterpretCast<int32_t>(), 5, N);
    ShiftLeft(sh, w, static_cast<uint16_t>(12), N);
    ShiftRight(sh[N], w, static_cast<uint16_t>(14), N);
    DataCopy(zGm, o, 3 * N);
    DataCopy(sGm, sh, 2 * N);
}
"""


def run_gather(tmp_path: Path, offsets: np.ndarray, base: int) -> tuple[dict, np.ndarray, list]:
    source = tmp_path / "gather.cpp"
    source.write_text(KERNEL)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(N).astype(np.float32)
    words = rng.integers(0, 1 << 16, N, dtype=np.uint16)
    trace = tmp_path / "gather.ubtrace"
    outputs = {"z": np.zeros(3 * N, np.float32), "s": np.zeros(2 * N, np.uint16)}
    run = run_ascendc(
        source,
        "gather",
        1,
        {"x": x, "offsets": offsets, "words": words},
        outputs,
        CHIP,
        trace,
        defines=(f"BASE={base}",),
    )
    return (
        run.outputs,
        np.stack([x.view(np.uint32), words.astype(np.uint32)]),
        read_trace(trace).events,
    )


def test_gather_create_vec_index_and_shifts_match_numpy(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    index = rng.integers(0, N // 2, N)
    offsets = (index * 4).astype(np.uint32)
    out, inputs, events = run_gather(tmp_path, offsets, 32)
    x, words = inputs[0].view(np.float32), inputs[1].astype(np.uint16)
    z = out["z"]
    np.testing.assert_array_equal(z[:N], x[index])
    # srcBaseAddr 32 B: every offset counts from the source's ninth float.
    np.testing.assert_array_equal(z[N : N + N // 2], x[index[: N // 2] + 8])
    assert (z[N + N // 2 : 2 * N] == 0).all()
    np.testing.assert_array_equal(z[2 * N :].view(np.int32), np.arange(5, 5 + N))
    # Logical shifts of uint16: bits shifted out are lost, zeros come in.
    np.testing.assert_array_equal(out["s"][:N], (words << 12).astype(np.uint16))
    np.testing.assert_array_equal(out["s"][N:], words >> 14)
    # The first Gather: 256 B written, 256 B of x and 256 B of offsets read,
    # 2 vector ops an element; the second reads 32 floats and 32 offsets.
    gathers = events[(events.kind == "compute") & (events["name"] == "Gather")]
    columns = ("aligned_size", "size", "arg", "tag")
    sizes = [tuple(row) for row in gathers[list(columns)].itertuples(index=False)]
    assert sizes == [
        (256, 768, 128, f"gather.cpp:{line_of(KERNEL, 'Gather(o, a')}"),
        (128, 384, 64, f"gather.cpp:{line_of(KERNEL, 'Gather(o[N]')}"),
    ]


def test_gather_offset_outside_the_source_stops_the_run(tmp_path: Path) -> None:
    # Float 64 is one past the 64 floats of the source.
    offsets = np.full(N, 64 * 4, np.uint32)
    with stops_at("gather.cpp", KERNEL, "Gather(o, a", "Gather: offset 256 B of element 0"):
        run_gather(tmp_path, offsets, 0)
