"""When one demo run fails, the demo names it, runs the others and still
writes its report (exit code 1 says something did not run)."""

from __future__ import annotations

from ubscope.cli import main
from ubscope.commands import demo
from ubscope.kernels.demo_set import DemoRun

SMALL_GEMM = {"m": 4, "k": 256, "n": 256, "tile_n": 64, "tile_k": 64}


def test_a_failing_run_is_named_and_the_others_still_report(monkeypatch, tmp_path, capsys):
    runs = (
        DemoRun("int4_gemm", params=SMALL_GEMM),
        # 60000 fp16/fp32 values per row cannot fit any chip's UB.
        DemoRun("layernorm", params={"hidden": 60000, "rows": 2}),
        DemoRun("int4_gemm", "ub_overflow", params=SMALL_GEMM),
    )
    monkeypatch.setattr(demo, "DEMO_RUNS", runs)
    out_dir = tmp_path / "demo"
    assert main(["demo", "--chip", "Ascend310B1", "--out", str(out_dir)]) == 1
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())
    assert "layernorm_healthy failed: layernorm: a row of hidden=60000" in err
    out = " ".join(captured.out.split())
    assert "layernorm_healthy FAILED" in out and "int4_gemm_ub_overflow" in out
    assert (out_dir / "report.html").is_file()
    assert sorted(p.name for p in out_dir.glob("*.ubtrace") if p.stat().st_size) == [
        "int4_gemm_healthy.ubtrace",
        "int4_gemm_ub_overflow.ubtrace",
    ]


def test_without_the_report_pair_the_report_shows_another_run(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(demo, "DEMO_RUNS", (DemoRun("pool_demo", params={"n": 16384}),))
    out_dir = tmp_path / "demo"
    assert main(["demo", "--chip", "Ascend910A", "--out", str(out_dir)]) == 0
    assert (out_dir / "report.html").is_file()


def test_the_legend_keeps_every_word_at_80_columns(monkeypatch, tmp_path, capsys):
    # The legend once sat in the table's caption, which rich wrapped to the
    # table's width and cropped: with a run label of 30 columns the table is 80
    # wide, "GM bytes o" ended a line and "ver" was lost.
    monkeypatch.setenv("COLUMNS", "80")
    run = DemoRun("pool_demo", "freelist_fragmentation", params={"n": 16384, "tile": 1024})
    monkeypatch.setattr(demo, "DEMO_RUNS", (run,))
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "GM/min: GM bytes over the minimum the math needs; E/W: errors/warnings" in out


def test_no_line_of_the_table_ends_in_spaces(monkeypatch, tmp_path, capsys):
    # rich pads the title and the last column to the table's width; a pipe keeps that.
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(demo, "DEMO_RUNS", (DemoRun("pool_demo", params={"n": 16384}),))
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("What ubscope found")
    table = lines[start : next(i for i, line in enumerate(lines) if line.startswith("numerics:"))]
    assert table[2].split() == ["run", "numerics", "time", "peak", "UB", "GM/min", "E/W"]
    assert [line for line in table if line != line.rstrip()] == []
