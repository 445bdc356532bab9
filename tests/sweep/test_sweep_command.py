"""``ubscope sweep``: one row and one trace per configuration, the Pareto
front printed, finished configurations never re-run, a crash or timeout
recorded, bad input refused in one line; ``ubscope report DIR`` draws it."""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from rich.console import Console

from tests.helpers.html_injection import EVIL
from tests.helpers.small_shapes import SMALL
from ubscope.analyzers import SweepRow
from ubscope.analyzers.metric_catalog import is_known_metric
from ubscope.cli import main
from ubscope.sweep.runner import SweepResult
from ubscope.sweep.terminal import print_sweep

N = SMALL["pool_demo"]["n"]
TILES = (512, 1024)
CORES = (1, 2)
FLAKY = Path(__file__).resolve().parents[1] / "helpers" / "flaky_kernel.py"


def run(*args: object) -> tuple[int, str, str]:
    """``ubscope ARGS`` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in args])
    return code, out.getvalue(), err.getvalue()


def sweep_pool_demo(folder: Path) -> tuple[int, str, str]:
    return run(
        "sweep", "pool_demo", "--grid", f"tile={','.join(map(str, TILES))}",
        "--grid", f"cores={','.join(map(str, CORES))}", "-p", f"n={N}", "-o", folder, "-j", 2,
    )  # fmt: skip


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    folder = tmp_path_factory.mktemp("sweep")
    code, out, _ = sweep_pool_demo(folder)
    return folder, code, out


def table_rows(folder: Path) -> list[dict]:
    return pq.read_table(folder / "sweep.parquet").to_pylist()


def test_every_configuration_is_a_row_with_its_trace(swept):
    folder, code, out = swept
    assert code == 0, out
    rows = table_rows(folder)
    assert sorted((r["grid.tile"], r["grid.cores"]) for r in rows) == sorted(
        itertools.product(TILES, CORES)
    )
    for row in rows:
        assert row["status"] == "ok" and row["error"] == "", row
        assert (folder / row["trace"]).is_file()
        # Each core holds three TPipe queues (x, residual, y) of two fp16 tiles.
        assert row["peak_bytes.UB"] == 3 * 2 * row["grid.tile"] * 2
        # x and the residual read once, y written once: 3 x n fp16 elements.
        assert row["gm.read_bytes"] + row["gm.write_bytes"] == 3 * N * 2
        assert row["modelled_time_ps"] > 0


def test_the_printed_front_is_the_tables_pareto_front(swept):
    folder, _, out = swept
    rows = table_rows(folder)

    def costs(row):
        return (row["peak_bytes.UB"], row["gm.read_bytes"] + row["gm.write_bytes"],
                row["modelled_time_ps"])  # fmt: skip

    def beaten(row):
        mine = costs(row)
        return any(
            all(a <= b for a, b in zip(costs(other), mine, strict=True)) and costs(other) != mine
            for other in rows
        )

    expected = {f"tile={r['grid.tile']} cores={r['grid.cores']}" for r in rows if not beaten(r)}
    front_part = out.split("Pareto front", 1)[1]
    printed = set(re.findall(r"tile=\d+ cores=\d+", front_part))
    assert printed == expected and expected


def test_a_second_run_runs_nothing_finished(swept):
    folder, _, _ = swept
    traces = sorted(folder.glob("*.ubtrace"))
    before = {path: path.stat().st_mtime_ns for path in traces}
    code, out, _ = sweep_pool_demo(folder)
    assert code == 0, out
    assert f"({0} run now, {len(traces)} finished before)" in out
    assert {path: path.stat().st_mtime_ns for path in traces} == before
    assert len(table_rows(folder)) == len(TILES) * len(CORES)


def test_each_failing_configuration_says_why(tmp_path):
    # tile=32768: three queues of two 64 KiB tiles, 384 KiB against 192 KiB of UB.
    # tile=3000: 6000 B tiles, not whole 32 B blocks: the copies drop each tile's
    # last 16 B (ALN002), so y misses elements and differs from the reference.
    code, out, _ = run(
        "sweep", "pool_demo", "--grid", "tile=1024,3000,32768", "-p", "n=65536",
        "-p", "cores=1", "-o", tmp_path, "-j", 2,
    )  # fmt: skip
    assert code == 1, out
    statuses = {r["grid.tile"]: (r["status"], r["failed_on"]) for r in table_rows(tmp_path)}
    assert statuses == {
        1024: ("ok", ""),
        3000: ("failed", "misalignment,numerics"),
        32768: ("failed", "overflow"),
    }
    failing = out.split("Failing configurations (2):", 1)[1].split("Pareto front", 1)[0]
    assert "tile=32768 on Ascend910B2" in failing and "failed: overflow" in failing
    assert "failed: misalignment, numerics" in failing


def test_values_the_kernel_refuses_are_invalid_on_every_chip(tmp_path):
    # fp16_gemm needs n in multiples of 16: n=250 never runs, on either chip.
    code, out, _ = run(
        "sweep", "fp16_gemm", "--grid", "n=250,256", "-p", "m=4", "-p", "k=256",
        "-p", "tile_n=64", "-p", "tile_k=64", "--chip", "Ascend910B2,Ascend910B4",
        "-o", tmp_path, "-j", 2,
    )  # fmt: skip
    assert code == 1, out
    rows = {(r["chip"], r["grid.n"]): r for r in table_rows(tmp_path)}
    assert sorted(rows) == sorted(itertools.product(("Ascend910B2", "Ascend910B4"), (250, 256)))
    for (_, n), row in rows.items():
        assert row["status"] == ("invalid" if n == 250 else "ok"), row
        assert ("multiples of 16" in row["error"]) == (n == 250)
        assert (row["trace"] != "") == (n == 256)
    assert "2 ok, 2 invalid" in out


def test_values_a_kernel_body_cannot_run_are_invalid_not_crashed(tmp_path):
    # tile=0 stepped through the elements by 0 and cores=0 divided by zero:
    # both were recorded as crashed (ValueError, ZeroDivisionError).
    code, out, _ = run(
        "sweep", "pool_demo", "--grid", "tile=0,1024", "--grid", "cores=0,1", "-p", f"n={N}",
        "-o", tmp_path, "-j", 1,
    )  # fmt: skip
    assert code == 1, out
    rows = {(r["grid.tile"], r["grid.cores"]): r for r in table_rows(tmp_path)}
    assert {key: row["status"] for key, row in rows.items()} == {
        (0, 0): "invalid",
        (0, 1): "invalid",
        (1024, 0): "invalid",
        (1024, 1): "ok",
    }
    assert rows[(0, 1)]["error"] == "pool_demo: tile=0, expected at least 1"
    assert rows[(1024, 0)]["error"].startswith("cores=0: Ascend910B2 has 48 cores")
    assert "1 ok, 3 invalid" in out


NO_VECTOR_CORES = "cores=0: Ascend910B2 has 48 cores for a vector launch (1..48)"


@pytest.mark.parametrize(
    ("kernel", "grid", "error"),
    [
        # These three were crashed: refused by the launch once running, or by numpy.
        ("layernorm", "cores=0", NO_VECTOR_CORES),
        ("paged_attention", "cores=0", NO_VECTOR_CORES),
        ("sparse_matmul", "seed=-1", "sparse_matmul: seed=-1, expected at least 0"),
        # This one was invalid, but said "no tile fits (...)".
        ("int4_gemm", "m=0", "int4_gemm: m=0, expected at least 1"),
    ],
)
def test_each_kernels_refusals_are_invalid_with_the_plain_reason(tmp_path, kernel, grid, error):
    code, out, _ = run("sweep", kernel, "--grid", grid, "-o", tmp_path)
    assert code == 1, out
    [row] = table_rows(tmp_path)
    assert (row["status"], row["error"], row["trace"]) == ("invalid", error, "")


def test_a_crash_and_a_timeout_are_recorded_not_fatal(tmp_path):
    code, out, _ = run(
        "sweep", FLAKY, "--grid", "mode=ok,raise,hang", "--grid", f"label={EVIL}",
        "--timeout", 5, "-o", tmp_path, "-j", 2, "--report",
    )  # fmt: skip
    assert code == 1, out
    rows = {row["grid.mode"]: row for row in table_rows(tmp_path)}
    assert rows["ok"]["status"] == "ok"
    assert rows["raise"]["status"] == "crashed"
    assert "RuntimeError: planted failure in the kernel" in rows["raise"]["error"]
    assert rows["hang"]["status"] == "timeout"
    assert rows["hang"]["error"] == "timeout after 5 s"
    failing = out.split("Failing configurations (2):", 1)[1]
    assert "crashed: RuntimeError" in failing and "timeout after 5 s" in failing
    # The report shows the label as text, never as markup.
    page = (tmp_path / "sweep.html").read_text("utf-8")
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    ("grid", "says"),
    [
        ("tile", "--grid 'tile': expected NAME=VALUE[,VALUE...]"),
        ("tile=1024,", "--grid 'tile=1024,': expected NAME=VALUE[,VALUE...]"),
        ("nosuch=1,2", "pool_demo has no parameter 'nosuch'"),
        ("tile=big", "parameter tile='big': expected int"),
    ],
)
def test_bad_grids_are_one_line_and_run_nothing(tmp_path, grid, says):
    folder = tmp_path / "out"
    code, out, err = run("sweep", "pool_demo", "--grid", grid, "-o", folder)
    assert code == 2
    assert err.count("\n") == 1 and says in err, err
    assert not folder.exists()


def test_report_of_a_sweep_folder_draws_its_front(swept, tmp_path):
    folder, _, _ = swept
    page_path = tmp_path / "front.html"
    code, _, _ = run("report", folder, "-o", page_path)
    assert code == 0
    page = page_path.read_text("utf-8")
    assert "Pareto front" in page and "Peak UB against GM bytes" in page
    for tile, cores in itertools.product(TILES, CORES):
        assert f"tile={tile} cores={cores} on Ascend910B2" in page


@pytest.mark.parametrize(("limit_kib", "code"), [(16, 0), (8, 1)])
def test_check_gates_every_configuration_of_the_sweep(swept, tmp_path, limit_kib, code):
    folder, _, _ = swept
    budget = tmp_path / "budget.yaml"
    budget.write_text(f"default:\n  peak_bytes: {{UB: {limit_kib} KiB}}\n")
    status, out, _ = run("check", folder, "--budget", budget)
    assert status == code
    # Peak UB is 12 KiB at tile=1024 and 6 KiB at tile=512 (three double-buffered queues).
    failed = 0 if limit_kib == 16 else len(CORES)
    assert f"{len(TILES) * len(CORES)} kernel configurations, {failed} failed" in out
    for heading in re.findall(r"^pool_demo\[.*\]: \w+", out, flags=re.MULTILINE):
        assert heading.endswith("FAILED") == (limit_kib == 8 and "tile=1024" in heading)


def test_check_against_baselines_of_the_sweeps_own_traces_passes(swept, tmp_path):
    # Baselines measured from the traces by `ubscope baseline`, the rows by the
    # sweep's workers: the two must agree metric by metric for this to pass.
    folder, _, _ = swept
    traces = sorted(folder.glob("*.ubtrace"))
    code, _, _ = run("baseline", *traces, "-o", tmp_path / "baselines")
    assert code == 0
    code, out, _ = run("check", folder, "--baseline", tmp_path / "baselines")
    assert code == 0, out
    assert f"{len(traces)} kernel configurations, 0 failed" in out


def test_an_interrupted_sweep_keeps_what_finished(tmp_path):
    # mode=hang sleeps for minutes: the sweep is stopped (SIGTERM, as a CI
    # timeout does) once mode=ok's row is in the table.
    argv = [sys.executable, "-m", "ubscope", "sweep", str(FLAKY), "--grid", "mode=ok,hang"]
    child = subprocess.Popen(
        [*argv, "-o", str(tmp_path), "-j", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    table = tmp_path / "sweep.parquet"
    deadline = time.monotonic() + 120
    while not table.exists() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.2)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 128 + signal.SIGTERM, err
    assert [row["grid.mode"] for row in table_rows(tmp_path)] == ["ok"]
    assert not list(tmp_path.glob(".*.partial"))
    code, out, _ = run("sweep", FLAKY, "--grid", "mode=ok", "-o", tmp_path)
    assert code == 0 and "(0 run now, 1 finished before)" in out, out


def test_baseline_of_the_sweep_folder_is_what_check_compares(swept, tmp_path):
    folder, _, _ = swept
    code, out, err = run("baseline", folder, "-o", tmp_path / "baselines")
    assert code == 0, out + err
    assert out.count("created: ") == len(TILES) * len(CORES)
    code, out, _ = run("check", folder, "--baseline", tmp_path / "baselines")
    assert code == 0, out
    assert f"{len(TILES) * len(CORES)} kernel configurations, 0 failed" in out


def configuration_names(folder: Path) -> list[str]:
    """The names `ubscope check` gives the sweep's configurations (JUnit test cases)."""
    budget, junit = folder.parent / "budget.yaml", folder.parent / "names.xml"
    budget.write_text("default:\n  findings: {error: 0}\n")
    run("check", folder, "--budget", budget, "--junit", junit)
    return [case.get("name") for case in ET.parse(junit).iter("testcase")]


def parameter_names(name: str) -> list[str]:
    """``pool_demo[n=1,tile=2]`` -> ``["n", "tile"]``."""
    listed = name.split("[", 1)[1].rsplit("]", 1)[0]
    return [item.split("=", 1)[0] for item in listed.split(",")]


def test_an_invalid_configuration_is_named_with_every_parameter(tmp_path):
    folder = tmp_path / "sweep"
    code, out, _ = run(
        "sweep", "pool_demo", "--grid", "tile=0,512", "-p", f"n={N}", "-p", "cores=1",
        "-o", folder, "-j", 1,
    )  # fmt: skip
    assert code == 1 and "1 ok, 1 invalid" in out, out
    invalid, ok = configuration_names(folder)
    assert f"n={N}" in invalid and "cores=1" in invalid and "tile=0" in invalid
    assert parameter_names(invalid) == parameter_names(ok)
    assert invalid == ok.replace("tile=512", "tile=0")


def test_a_crashed_configuration_is_named_with_every_parameter(tmp_path):
    folder = tmp_path / "sweep"
    code, out, _ = run(
        "sweep", FLAKY, "--grid", "mode=ok,raise", "-p", "blocks=2", "-o", folder, "-j", 1
    )
    assert code == 1 and "1 ok, 1 crashed" in out, out
    ok, crashed = configuration_names(folder)
    assert ok == "flaky_add[blocks=2,label=,mode=ok]"
    assert crashed == "flaky_add[blocks=2,label=,mode=raise]"


def test_a_parameter_both_fixed_and_swept_is_one_line(tmp_path):
    folder = tmp_path / "out"
    code, _, err = run("sweep", "pool_demo", "--grid", "tile=1024", "-p", "tile=2048", "-o", folder)
    assert code == 2
    assert err.count("\n") == 1 and "-p tile and --grid tile" in err, err
    assert not folder.exists()


def test_the_summary_line_wraps_between_its_items(tmp_path):
    rows = [
        SweepRow("a", "pool_demo", "Ascend910B2", {"tile": 1}, "ok", metrics={
            "peak_bytes.UB": 1, "gm.read_bytes": 1, "gm.write_bytes": 1, "modelled_time_ps": 1}),
        SweepRow("b", "pool_demo", "Ascend910B2", {"tile": 2}, "crashed", error="crashed: x"),
        SweepRow("c", "pool_demo", "Ascend910B2", {"tile": 3}, "crashed", error="crashed: x"),
        SweepRow("d", "pool_demo", "Ascend910B2", {"tile": 4}, "timeout", error="timeout after 1 s"),
    ]  # fmt: skip
    text = io.StringIO()
    print_sweep(SweepResult(rows, 0, 4, tmp_path / "sweep.parquet"), "pool_demo",
                Console(file=text, width=80))  # fmt: skip
    summary = text.getvalue().split("Failing configurations", 1)[0].splitlines()
    assert len(summary) == 2, summary
    assert all(line == line.rstrip() for line in summary), summary
    assert " ".join(summary) == (
        "pool_demo: 4 configurations (0 run now, 4 finished before); 1 ok, 2 crashed, 1 timeout"
    )
    assert all(len(line) <= 80 for line in summary)


def test_no_line_of_the_tables_ends_in_spaces(tmp_path):
    metrics = {"peak_bytes.UB": 1024, "gm.read_bytes": 1, "gm.write_bytes": 1}
    rows = [
        SweepRow("a", "pool_demo", "Ascend910B2", {"tile": 1}, "ok",
                 metrics={**metrics, "modelled_time_ps": 1}),
        SweepRow("b", "pool_demo", "Ascend910B2", {"tile": 2}, "ok",
                 metrics={**metrics, "peak_bytes.UB": 512, "modelled_time_ps": 2}),
        SweepRow("c", "pool_demo", "Ascend910B2", {"tile": 3}, "crashed", error="crashed: x"),
    ]  # fmt: skip
    text = io.StringIO()
    print_sweep(SweepResult(rows, 0, 3, tmp_path / "sweep.parquet"), "pool_demo",
                Console(file=text, width=80))  # fmt: skip
    lines = text.getvalue().splitlines()
    # rich pads each cell to its column's width: "why" to the width of
    # "crashed: x", and the labels' column beside it. Each line ends at its text.
    assert lines[2:4] == ["  configuration          why", "  tile=3 on Ascend910B2  crashed: x"]
    assert lines[5].endswith("modelled  configuration")
    assert [line for line in lines if line != line.rstrip()] == []


def test_every_column_of_the_table_is_documented(swept):
    folder, _, _ = swept
    docs = (Path(__file__).resolve().parents[2] / "docs" / "sweep.md").read_text("utf-8")
    listed = docs.split("## The table", 1)[1].split("## Resuming", 1)[0]
    columns = pq.read_table(folder / "sweep.parquet").column_names
    own = [c for c in columns if not c.startswith("grid.") and not is_known_metric(c)]
    assert own and all(f"`{column}`" in listed for column in own), own
