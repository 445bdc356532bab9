"""``ubscope sweep case.yaml``: an Ascend C case on the CPU twin, its tiling
fields and scalars swept from the command line, each configuration judged
against the case's reference."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pyarrow.parquet as pq

from ubscope.cli import main

LENGTH = 16384
SCALED = """\
#include "kernel_operator.h"
using namespace AscendC;

namespace optiling {
BEGIN_TILING_DATA_DEF(ScaledTilingData)
  TILING_DATA_FIELD_DEF(uint32_t, totalLength);
  TILING_DATA_FIELD_DEF(uint32_t, tileNum);
END_TILING_DATA_DEF;
REGISTER_TILING_DATA_CLASS(Scaled, ScaledTilingData)
}

extern "C" __global__ __aicore__ void scaled(GM_ADDR x, GM_ADDR z, float scale,
                                             GM_ADDR workspace, GM_ADDR tiling)
{
    GET_TILING_DATA(t, tiling);
    const uint32_t tile = t.totalLength / t.tileNum;
    TPipe pipe;
    TQue<QuePosition::VECIN, 1> queue;
    GlobalTensor<float> xGm, zGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, t.totalLength);
    zGm.SetGlobalBuffer((__gm__ float*)z, t.totalLength);
    pipe.InitBuffer(queue, 1, tile * sizeof(float));
    for (uint32_t i = 0; i < t.tileNum; ++i) {
        LocalTensor<float> buf = queue.AllocTensor<float>();
        DataCopy(buf, xGm[i * tile], tile);
        Muls(buf, buf, scale, tile);
        DataCopy(zGm[i * tile], buf, tile);
        queue.FreeTensor(buf);
    }
}
"""
CASE = f"""\
kernel: scaled.cpp
entry: scaled
launch: {{block_dim: 1}}
inputs:
- {{name: x, dtype: float32, shape: [{LENGTH}], gen: randn}}
outputs:
- {{name: z, dtype: float32, shape: [{LENGTH}]}}
tiling: {{totalLength: {LENGTH}, tileNum: 8}}
scalars: {{scale: 0.5}}
reference: ref.py:half
"""


def test_a_case_sweeps_its_tiling_and_scalars(tmp_path: Path):
    (tmp_path / "scaled.cpp").write_text(SCALED)
    (tmp_path / "case.yaml").write_text(CASE)
    (tmp_path / "ref.py").write_text("def half(x):\n    return x * 0.5\n")
    folder = tmp_path / "sweep"
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main([
            "sweep", str(tmp_path / "case.yaml"), "--grid", "tiling.tileNum=4,8",
            "--grid", "scalar.scale=0.5,2", "-o", str(folder), "-j", "2",
        ])  # fmt: skip
    assert code == 1, out.getvalue()
    rows = pq.read_table(folder / "sweep.parquet").to_pylist()
    assert len(rows) == 4
    for row in rows:
        # The reference halves x: scale=2 is wrong, scale=0.5 right.
        expected = ("ok", "") if row["grid.scalar.scale"] == 0.5 else ("failed", "numerics")
        assert (row["status"], row["failed_on"]) == expected
        # One float tile of totalLength / tileNum elements in UB at a time.
        assert row["peak_bytes.UB"] == LENGTH // row["grid.tiling.tileNum"] * 4
        # x read once, z written once.
        assert (row["gm.read_bytes"], row["gm.write_bytes"]) == (LENGTH * 4, LENGTH * 4)
        assert (folder / row["trace"]).is_file()
