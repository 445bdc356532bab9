"""``ubscope check DIR`` on a sweep's table: each configuration judged from
its row; one that did not run to the end, or whose output did not match its
reference, fails whatever the budget says."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ubscope.analyzers import SweepRow, read_sweep_table, write_sweep_table
from ubscope.cli import main

FITS = {"peak_bytes.UB": 6144, "gm.read_bytes": 4096, "gm.write_bytes": 2048}


def row(tile: int, status: str = "ok", **fields: object) -> SweepRow:
    return SweepRow(
        key=f"k{tile}",
        kernel="pool_demo",
        chip="Ascend910B2",
        grid={"tile": tile},
        status=status,
        params={"tile": tile},
        metrics=dict(FITS) if status in ("ok", "failed") else {},
        **fields,  # type: ignore[arg-type]
    )


def check(folder: Path, tmp_path: Path) -> tuple[int, str, str]:
    """``ubscope check FOLDER`` with an 8 KiB UB budget: exit code, stdout, stderr."""
    budget = tmp_path / "budget.yaml"
    budget.write_text("default:\n  peak_bytes: {UB: 8 KiB}\n")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", str(folder), "--budget", str(budget)])
    return code, out.getvalue(), err.getvalue()


def test_a_sweep_within_its_budget_passes(tmp_path):
    write_sweep_table([row(512), row(256)], tmp_path / "sweep.parquet")
    code, out, _ = check(tmp_path, tmp_path)
    assert code == 0
    assert "2 kernel configurations, 0 failed" in out


@pytest.mark.parametrize(
    ("broken", "says"),
    [
        (row(1024, "crashed", error="crashed: RuntimeError: boom"), "crashed: RuntimeError: boom"),
        (row(1024, "timeout", error="timeout after 5 s"), "timeout after 5 s"),
        (row(1024, "invalid", error="tile must divide n"), "invalid: tile must divide n"),
        (row(1024, "failed", failed_on=("numerics",)), "does not match its reference"),
    ],
)
def test_a_configuration_that_did_not_run_clean_fails_the_check(tmp_path, broken, says):
    write_sweep_table([row(512), broken], tmp_path / "sweep.parquet")
    code, out, _ = check(tmp_path, tmp_path)
    assert code == 1
    assert "2 kernel configurations, 1 failed" in out
    assert says in " ".join(out.split())


def test_a_folder_without_a_sweep_table_is_one_line(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    code, _, err = check(folder, tmp_path)
    assert code == 2
    assert err.count("\n") == 1 and "sweep.parquet: no such file" in err


def test_a_table_with_a_broken_cell_is_one_line(tmp_path):
    write_sweep_table([row(512)], tmp_path / "sweep.parquet")
    table = pq.read_table(tmp_path / "sweep.parquet")
    broken = table.set_column(
        table.column_names.index("params"), "params", pa.array(["{not json"])
    ).replace_schema_metadata(table.schema.metadata)
    pq.write_table(broken, tmp_path / "sweep.parquet")
    code, _, err = check(tmp_path, tmp_path)
    assert code == 2
    assert err.count("\n") == 1 and "a row does not read" in err


def test_text_read_back_from_a_table_is_printable(tmp_path):
    hostile = dataclasses.replace(row(512), kernel="pool\x1b[2Jdemo", grid={"tile": "a\rb"})
    write_sweep_table([hostile], tmp_path / "sweep.parquet")
    (back,) = read_sweep_table(tmp_path)
    assert back.kernel == "pool\\x1b[2Jdemo" and back.grid == {"tile": "a\\x0db"}
