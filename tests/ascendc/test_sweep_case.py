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


def sweep_case(tmp_path: Path, source: str, *grid: str) -> tuple[int, str, list[dict]]:
    """``ubscope sweep case.yaml --grid ...`` of ``source`` as the case's kernel:
    the exit code, what it printed and the table's rows."""
    (tmp_path / "scaled.cpp").write_text(source)
    (tmp_path / "case.yaml").write_text(CASE)
    (tmp_path / "ref.py").write_text("def half(x):\n    return x * 0.5\n")
    folder = tmp_path / "sweep"
    out = io.StringIO()
    grids = [arg for value in grid for arg in ("--grid", value)]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["sweep", str(tmp_path / "case.yaml"), *grids, "-o", str(folder), "-j", "2"])
    return code, out.getvalue(), pq.read_table(folder / "sweep.parquet").to_pylist()


def test_a_case_sweeps_its_tiling_and_scalars(tmp_path: Path):
    code, out, rows = sweep_case(tmp_path, SCALED, "tiling.tileNum=4,8", "scalar.scale=0.5,2")
    assert code == 1, out
    assert len(rows) == 4
    for row in rows:
        # The reference halves x: scale=2 is wrong, scale=0.5 right.
        expected = ("ok", "") if row["grid.scalar.scale"] == 0.5 else ("failed", "numerics")
        assert (row["status"], row["failed_on"]) == expected
        # One float tile of totalLength / tileNum elements in UB at a time.
        assert row["peak_bytes.UB"] == LENGTH // row["grid.tiling.tileNum"] * 4
        # x read once, z written once.
        assert (row["gm.read_bytes"], row["gm.write_bytes"]) == (LENGTH * 4, LENGTH * 4)
        assert (tmp_path / "sweep" / row["trace"]).is_file()


def test_values_the_source_does_not_compile_with_are_invalid_with_the_compilers_line(
    tmp_path: Path,
):
    """A swept -D value that breaks the build is a configuration the kernel
    refuses (``invalid``), not a crash of ubscope, and its row says where in
    one line; the other values still run."""
    gained = SCALED.replace("Muls(buf, buf, scale, tile);", "Muls(buf, buf, scale * GAIN, tile);")
    code, out, table = sweep_case(tmp_path, gained, "define.GAIN=1.0f,gain_typo")
    assert code == 1, out
    rows = {row["grid.define.GAIN"]: row for row in table}
    assert rows["1.0f"]["status"] == "ok"
    broken = rows["gain_typo"]
    # the line of the Muls call that uses GAIN (1-based)
    line = gained.splitlines().index("        Muls(buf, buf, scale * GAIN, tile);") + 1
    assert (broken["status"], broken["trace"]) == ("invalid", "")
    assert broken["error"] == (
        f"does not compile: {tmp_path / 'scaled.cpp'}:{line}: 'gain_typo' was not declared "
        "in this scope (where the macro 'GAIN' of a -D definition expands)"
    )
    assert "invalid: does not compile:" in out
