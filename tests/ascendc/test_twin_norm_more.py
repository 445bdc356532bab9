"""The twin's DeepNorm, GroupNorm and BatchNorm: not covered, because each takes
its shape only from a host-filled tiling struct (DeepNormTiling,
GroupNormTiling, BatchNormTiling) whose Tiling page lists the fields but
defines none of them (GroupNorm's group count is an argument of the host's
tiling function only). Each documented form, half and float, with and without
sharedTmpBuffer, with its template arguments given or deduced, stops the build
with one line at the user's call naming the API and why. The tiling structs
nest in the kernel's tiling data with no fields: the kernel builds and runs up
to such a call, and --tiling names none of their fields."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers.source_lines import line_of, stops_at
from ubscope.probe.ascendc.build import CompileError
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.ascendc.tiling import LaunchValues
from ubscope.probe.chip import load_chip

pytestmark = pytest.mark.ascendc_twin
CHIP = load_chip("Ascend910B1")
N = 40  # the float elements the kernel copies: 160 B, whole 32 B blocks, not 64 of them

# Each API's four calls: float with the shared buffer, float without (all
# template arguments given), half with, half without (T deduced). Tensors are
# views of one float and one half buffer; the shapes never matter, the build
# stops at the call.
CALLS = {
    "DEEP_NORM": [
        "DeepNorm<float>(f, f[8], f[16], f[64], f[128], f[192], f[200], tmp, 0.5f, 1e-5f, t.deepnormTilingData);",
        "DeepNorm<float, false, false>(f, f[8], f[16], f[64], f[128], f[192], f[200], 0.5f, 1e-5f, "
        "t.deepnormTilingData);",
        "DeepNorm<half>(h, h[16], h[32], h[64], h[128], h[192], h[208], tmp, hone, heps, t.deepnormTilingData);",
        "DeepNorm(h, h[16], h[32], h[64], h[128], h[192], h[208], hone, heps, t.deepnormTilingData);",
    ],
    "GROUP_NORM": [
        "GroupNorm<float>(f, f[8], f[16], f[64], f[128], f[192], tmp, 1e-5f, t.groupNormTilingData);",
        "GroupNorm<float, false>(f, f[8], f[16], f[64], f[128], f[192], 1e-5f, t.groupNormTilingData);",
        "GroupNorm<half>(h, h[16], h[32], h[64], h[128], h[192], tmp, heps, t.groupNormTilingData);",
        "GroupNorm(h, h[16], h[32], h[64], h[128], h[192], heps, t.groupNormTilingData);",
    ],
    "BATCH_NORM": [
        "BatchNorm<float>(f, f[8], f[16], f[64], f[128], f[192], tmp, 1e-5f, t.batchNormTilingData);",
        "BatchNorm<float, false, false>(f, f[8], f[16], f[64], f[128], f[192], 1e-5f, t.batchNormTilingData);",
        "BatchNorm<half>(h, h[16], h[32], h[64], h[128], h[192], tmp, heps, t.batchNormTilingData);",
        "BatchNorm(h, h[16], h[32], h[64], h[128], h[192], heps, t.batchNormTilingData);",
    ],
}


def _calls(define: str) -> str:
    lines = "\n".join(f"    {call}" for call in CALLS[define])
    return f"#ifdef {define}\n{lines}\n#endif\n"


KERNEL = f"""\
#include "kernel_operator.h"
using namespace AscendC;
namespace optiling {{
BEGIN_TILING_DATA_DEF(NormMoreTiling)
  TILING_DATA_FIELD_DEF(uint32_t, count);
  TILING_DATA_FIELD_DEF_STRUCT(DeepNormTiling, deepnormTilingData);
  TILING_DATA_FIELD_DEF_STRUCT(GroupNormTiling, groupNormTilingData);
  TILING_DATA_FIELD_DEF_STRUCT(BatchNormTiling, batchNormTilingData);
END_TILING_DATA_DEF;
REGISTER_TILING_DATA_CLASS(norm_more, NormMoreTiling)
}}
extern "C" __global__ __aicore__ void norm_more(GM_ADDR x, GM_ADDR y, GM_ADDR tiling) {{
    GET_TILING_DATA(t, tiling);
    TPipe pipe;
    TBuf<QuePosition::VECCALC> bf, bh, btmp;
    pipe.InitBuffer(bf, 256 * 4);
    pipe.InitBuffer(bh, 256 * 2);
    pipe.InitBuffer(btmp, 256);
    LocalTensor<float> f = bf.Get<float>();
    LocalTensor<half> h = bh.Get<half>();
    LocalTensor<uint8_t> tmp = btmp.Get<uint8_t>();
    const half hone = (half)1.0f, heps = (half)1e-3f;
    (void)h;
    (void)tmp;
    (void)hone;
    (void)heps;
    GlobalTensor<float> g;
    g.SetGlobalBuffer((__gm__ float*)x, t.count);
    DataCopy(f, g, t.count);
{_calls("DEEP_NORM")}{_calls("GROUP_NORM")}{_calls("BATCH_NORM")}\
    g.SetGlobalBuffer((__gm__ float*)y, t.count);
    DataCopy(g, f, t.count);
}}
"""

VALUES = LaunchValues(tiling={"count": str(N)})

# What each API's one line says: its name, why, and the struct the shape is in.
REASONS = {
    "DEEP_NORM": (
        "ubscope twin: AscendC::DeepNorm is not implemented: its shape (B, S, H and the "
        "unpadded H) is only in the host-filled DeepNormTiling, whose fields the pages do "
        "not define"
    ),
    "GROUP_NORM": (
        "ubscope twin: AscendC::GroupNorm is not implemented: its shape (N, C, H x W and "
        "groupNum) is only in the host-filled GroupNormTiling, whose fields the pages do "
        "not define"
    ),
    "BATCH_NORM": (
        "ubscope twin: AscendC::BatchNorm is not implemented: its shape (B, S and H) is "
        "only in the host-filled BatchNormTiling, whose fields the pages do not define"
    ),
}


def _run(folder: Path, values: LaunchValues = VALUES, defines: tuple[str, ...] = ()):
    source = folder / "norm_more.cpp"
    source.write_text(KERNEL)
    x = np.arange(N, dtype=np.float32) * 0.5 - 3
    outputs = {"y": np.full(N, -1, np.float32)}
    done = run_ascendc(
        source, "norm_more", 1, {"x": x}, outputs, CHIP, values=values, defines=defines
    )
    return x, done


def test_tiling_structs_nest_with_no_fields(tmp_path: Path) -> None:
    """Without a call the kernel builds and runs: the three structs nest in
    the tiling data, --tiling gives only `count`, and the copy around them
    moves the 40 floats unchanged."""
    x, done = _run(tmp_path)
    np.testing.assert_array_equal(done.outputs["y"], x)


@pytest.mark.parametrize(
    "field",
    ["deepnormTilingData.bLength", "groupNormTilingData.g", "batchNormTilingData.originalBLength"],
)
def test_tiling_struct_fields_are_not_read(tmp_path: Path, field: str) -> None:
    """The twin registers none of the tiling structs' fields, so naming one
    (the fields the pages list) stops the run at GET_TILING_DATA."""
    values = LaunchValues(tiling={"count": str(N), field: "4"})
    problem = f"--tiling {field}: the tiling data has no such field (fields: count)"
    with stops_at("norm_more.cpp", KERNEL, "GET_TILING_DATA(t, tiling)", problem):
        _run(tmp_path, values)


@pytest.mark.parametrize("define", list(CALLS))
def test_call_stops_the_build_with_one_line_saying_why(tmp_path: Path, define: str) -> None:
    """The first error is at the first call's line with the reason; each of
    the four forms (float and half, with and without sharedTmpBuffer, template
    arguments given or deduced) is an error at its own line with the same
    reason, not an overload mismatch."""
    with pytest.raises(CompileError) as caught:
        _run(tmp_path, defines=(define,))
    source = tmp_path / "norm_more.cpp"
    errors = caught.value.message_lines()
    first = errors[0]
    assert first.startswith(f"{source}:{line_of(KERNEL, CALLS[define][0])}:"), first
    assert REASONS[define] in first, first
    for call in CALLS[define]:
        at = f"{source}:{line_of(KERNEL, call)}:"
        assert any(e.startswith(at) and REASONS[define] in e for e in errors), (call, errors)
