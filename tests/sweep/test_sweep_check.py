"""``ubscope check DIR`` on a sweep's table: each configuration judged from
its row; one that did not run to the end, or whose output did not match its
reference, fails whatever the budget says."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import xml.etree.ElementTree as ET
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
        (
            row(1024, "crashed", error="crashed: RuntimeError: boom"),
            "did not run to the end (crashed: RuntimeError: boom)",
        ),
        (row(1024, "timeout", error="timeout after 5 s"), "did not run to the end (timeout"),
        (
            row(1024, "invalid", error="tile must divide n"),
            "never ran (invalid: tile must divide n)",
        ),
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
    # Neither a sweep nor a folder of traces: the folder is named, and both.
    assert err.count("\n") == 1
    assert f"{folder}: no .ubtrace files and no sweep.parquet (a folder written by" in err


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


CHIPS = ("Ascend910B2", "Ascend310P3")


def run(*args: object) -> tuple[int, str, str]:
    """``ubscope ARGS`` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in args])
    return code, out.getvalue(), err.getvalue()


def on_chips(*rows: SweepRow) -> list[SweepRow]:
    """Each row on each of :data:`CHIPS`, as ``--chip A,B`` sweeps them."""
    return [
        dataclasses.replace(r, chip=chip, key=f"{r.key}-{chip}") for chip in CHIPS for r in rows
    ]


def legacy_name(params: dict) -> str:
    """The name a baseline had before chips were part of it (docs/ci.md):
    the kernel and the first 10 hex digits of the SHA-256 of the sorted parameters."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"))
    return f"pool_demo-{hashlib.sha256(text.encode()).hexdigest()[:10]}.json"


def test_a_sweep_over_two_chips_is_gated_per_chip(tmp_path):
    # Both chips' configurations have the same parameters: the chip told them
    # apart nowhere, and the second chip's met the first chip's baseline (exit 2).
    write_sweep_table(on_chips(row(512)), tmp_path / "sweep.parquet")
    baselines, junit = tmp_path / "bl", tmp_path / "chips.xml"
    code, out, err = run(
        "check", tmp_path, "--baseline", baselines, "--missing-baseline", "new", "--junit", junit
    )
    assert code == 0, out + err
    recorded = {path.name: json.loads(path.read_text())["chip"] for path in baselines.iterdir()}
    assert sorted(recorded.values()) == sorted(CHIPS)
    assert all(chip in name for name, chip in recorded.items())
    cases = [case.get("name") for case in ET.parse(junit).iter("testcase")]
    assert sorted(cases) == [
        "pool_demo[tile=512] on Ascend310P3",
        "pool_demo[tile=512] on Ascend910B2",
    ]
    code, out, err = run("check", tmp_path, "--baseline", baselines)
    assert code == 0, out + err
    assert "2 kernel configurations, 0 failed" in out
    assert "pool_demo[tile=512] on Ascend310P3: " in out


def test_one_chip_keeps_its_names(tmp_path):
    write_sweep_table([row(512)], tmp_path / "sweep.parquet")
    baselines = tmp_path / "bl"
    code, out, _ = run("check", tmp_path, "--baseline", baselines, "--missing-baseline", "new")
    assert code == 0, out
    assert "pool_demo[tile=512]: " in out and " on Ascend910B2" not in out
    assert [path.name for path in baselines.iterdir()] == [legacy_name({"tile": 512})]


def test_a_baseline_recorded_before_chips_were_named_is_still_found(tmp_path):
    # A directory recorded on Ascend910B2 before: a smaller peak UB than the
    # rows', so finding it reads as a regression.
    baselines = tmp_path / "bl"
    baselines.mkdir()
    old = baselines / legacy_name({"tile": 512})
    document = {
        "schema": "ubscope.baseline/1",
        "kernel": "pool_demo",
        "params": {"tile": 512},
        "chip": "Ascend910B2",
        "metrics": {**FITS, "peak_bytes.UB": 4096},
    }
    old.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    before = old.read_bytes()
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    write_sweep_table(on_chips(row(512)), sweep / "sweep.parquet")
    code, out, err = run("check", sweep, "--baseline", baselines)
    assert code == 1, out + err
    text = " ".join(out.split())
    assert "pool_demo[tile=512] on Ascend910B2: FAILED" in text and "regressed" in text
    assert f"no baseline ({baselines}" in text and "Ascend310P3.json does not exist" in text
    code, out, err = run("check", sweep, "--baseline", baselines, "--missing-baseline", "new")
    assert code == 1 and "Ascend310P3: " in out, out + err
    assert old.read_bytes() == before and len(list(baselines.iterdir())) == 2
    # One chip's sweep (or trace) finds its file among them.
    alone = tmp_path / "alone"
    alone.mkdir()
    write_sweep_table([dataclasses.replace(row(512), chip="Ascend310P3")], alone / "sweep.parquet")
    code, out, err = run("check", alone, "--baseline", baselines)
    assert code == 0, out + err


def test_baseline_of_a_sweep_folder_records_its_finished_configurations(tmp_path):
    crashed = row(1024, "crashed", error="crashed: RuntimeError: boom")
    write_sweep_table([row(512), crashed], tmp_path / "sweep.parquet")
    baselines = tmp_path / "bl"
    code, out, err = run("baseline", tmp_path, "-o", baselines)
    assert code == 0, out + err
    assert [path.name for path in baselines.iterdir()] == [legacy_name({"tile": 512})]
    assert json.loads((baselines / legacy_name({"tile": 512})).read_text())["metrics"] == FITS
    assert "created: " in out and "pool_demo[tile=1024]" in " ".join(err.split())
    code, out, _ = run("check", tmp_path, "--baseline", baselines)
    assert code == 1
    assert "2 kernel configurations, 1 failed" in out and "pool_demo[tile=512]: passed" in out
