"""``ubscope sweep --executor ray``: the same sweep on a local Ray cluster."""

from __future__ import annotations

import contextlib
import io

import pyarrow.parquet as pq

from ubscope.cli import main

N = 16384
TILES = (512, 1024)


def test_a_sweep_runs_on_a_ray_cluster(ray_cluster, tmp_path):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main([
            "sweep", "pool_demo", "--grid", f"tile={','.join(map(str, TILES))}",
            "-p", f"n={N}", "-p", "cores=1",
            "--executor", "ray", "-o", str(tmp_path),
        ])  # fmt: skip
    assert code == 0, out.getvalue()
    rows = pq.read_table(tmp_path / "sweep.parquet").to_pylist()
    assert sorted(row["grid.tile"] for row in rows) == list(TILES)
    for row in rows:
        assert row["status"] == "ok" and (tmp_path / row["trace"]).is_file()
        # Three double-buffered fp16 queues of one tile each, per core.
        assert row["peak_bytes.UB"] == 3 * 2 * row["grid.tile"] * 2
