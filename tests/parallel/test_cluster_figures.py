"""The figures of the cluster view on small made-up ranks (no vendor sample):
the --rank-outlier option and the TNPU004 threshold, the cut-off at exactly the
threshold, one unit for a figure wherever it is written, and why a rank is skipped."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from tests.helpers.cli import run_ubscope
from tests.helpers.cluster_folder import make_small_cluster
from ubscope import cluster_profiles
from ubscope.analyzers import Config, cluster_view, render_text
from ubscope.cli import build_parser
from ubscope.cluster_profiles import analyze_cluster_folder, read_rank_or_why
from ubscope.reports.report import build_report

# docs/cluster.md's job: median 1010 MiB; rank 2 is 1300 / 1010 - 1 = +28.7 % from
# it, rank 0 1000 / 1010 - 1 = -1.0 %.
DOCS_PEAKS = [1000.0, 1010.0, 1300.0]


def _outliers(root, config=None) -> list[str]:
    analysis = analyze_cluster_folder(root, config, jobs=1, progress=False)
    return sorted(f.evidence["rank"] for f in analysis.findings if f.code == "TNPU004")


def test_rank_outlier_on_the_command_line_is_a_percentage(tmp_path):
    job = make_small_cluster(tmp_path / "job", DOCS_PEAKS)
    # A bare number could be a fraction (0.2 = 20 %, the config's way) or a
    # percentage (0.2 %): one line, exit 2, nothing analyzed.
    result = run_ubscope("analyze", job, "--rank-outlier", "0.2")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "ubscope analyze: error: argument --rank-outlier: write a percentage like 20%, "
        "got '0.2' (see ubscope analyze --help)"
    ]
    # 20%: rank 2 (+28.7 %) is over it, rank 0 (-1.0 %) is not.
    result = run_ubscope("analyze", job, "--rank-outlier", "20%", columns=200)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("TNPU004 [torch_npu] rank") == 1
    assert "TNPU004 [torch_npu] rank 2 (node0_2_ascend_pt)" in result.stdout


@pytest.mark.parametrize(
    "text, share",
    [("20%", 0.2), (" 12.5 % ", 0.125), ("33.3%", 0.333), ("150%", 1.5)],
)
def test_rank_outlier_reads_the_percentage_written(text, share):
    # 33.3 / 100 in floats is 0.33299999999999996, not the 0.333 written.
    args = build_parser().parse_args(["analyze", "job", "--rank-outlier", text])
    assert args.rank_outlier == share


@pytest.mark.parametrize("text", ["0.2", "20", "abc", "20%%", "nan%", "inf%", "%", "0%", "-5%"])
def test_rank_outlier_refuses_anything_but_a_percentage_above_0(text, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["analyze", "job", f"--rank-outlier={text}"])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "argument --rank-outlier: " in error
    assert ("above 0" if text in ("0%", "-5%") else "write a percentage like 20%") in error


def test_the_config_threshold_is_a_fraction(tmp_path):
    job = make_small_cluster(tmp_path / "job", DOCS_PEAKS)
    # max_deviation = 0.35 is 35 %: rank 2 at +28.7 % is within it; 0.25 is 25 %: not.
    assert _outliers(job, Config(thresholds={"TNPU004": {"max_deviation": 0.35}})) == []
    assert _outliers(job, Config(thresholds={"TNPU004": {"max_deviation": 0.25}})) == ["rank 2"]


@pytest.mark.parametrize(
    "peaks, max_deviation, flagged",
    [
        # Median (1000 + 1000) / 2 = 1000; 1100 and 900 are both 100 = 10 % of it
        # away: at the 10 % limit, not over it. In floats 1100 / 1000 - 1 is
        # 0.10000000000000009 (over 0.1) and 1 - 900 / 1000 is 0.09999999999999998.
        ([1000.0, 1000.0, 1100.0, 900.0], None, []),
        # 101 = 10.1 % away on either side: both over.
        ([1000.0, 1000.0, 1101.0, 899.0], None, ["rank 2", "rank 3"]),
        # 350 = 35 % of 1000 on either side, at a limit of 0.35 (a float just
        # under 0.35): at the limit, neither.
        ([1000.0, 1000.0, 1350.0, 650.0], 0.35, []),
        # Median (1000 + 1005) / 2 = 1002.5; 10 % of it is 100.25: 1102.75 and
        # 902.25 sit exactly there, 1103 and 902 just past it.
        ([1000.0, 1005.0, 1102.75, 902.25], None, []),
        ([1000.0, 1005.0, 1103.0, 902.0], None, ["rank 2", "rank 3"]),
    ],
)
def test_the_cut_off_is_the_same_above_and_below_the_median(
    tmp_path, peaks, max_deviation, flagged
):
    job = make_small_cluster(tmp_path / "job", peaks)
    thresholds = {} if max_deviation is None else {"TNPU004": {"max_deviation": max_deviation}}
    assert _outliers(job, Config(thresholds=thresholds)) == flagged


def test_a_figure_reads_the_same_in_the_table_and_the_findings(tmp_path):
    job = make_small_cluster(tmp_path / "job", DOCS_PEAKS)
    analysis = analyze_cluster_folder(job, jobs=1, progress=False)
    out = Console(file=io.StringIO(), width=100, color_system=None)
    render_text(analysis, out)
    text = out.file.getvalue()
    lines = text.splitlines()
    messages = {f.code: f.message for f in analysis.findings}
    # torch_npu's MB are MiB: 1300 MiB / 1024 = 1.27 GiB, 0.8 x 1300 = 1040 MiB
    # = 1.02 GiB allocated; 1010 MiB (under 1024) stays in MiB. 1000 decimal MB
    # would be 953.7 MiB.
    assert "cluster: 3 ranks, median peak reserved 1010.0 MiB, highest first" in lines
    row = next(line for line in lines if line.startswith("rank 2 "))
    assert row.split() == ["rank", "2", "1.0", "GiB", "1.3", "GiB", "260.0", "MiB", "+28.7%"]
    assert messages["TNPU004"] == (
        "rank 2 (node0_2_ascend_pt): peak reserved 1.3 GiB is 29% above the median "
        "1010.0 MiB of 3 ranks"
    )
    assert messages["TNPU005"] == (
        "3 ranks peak between 1000.0 MiB and 1.3 GiB reserved; highest: rank 2 1.3 GiB "
        "reserved, 1.0 GiB allocated at its peak; rank 1 1010.0 MiB reserved, 808.0 MiB "
        "allocated at its peak; rank 0 1000.0 MiB reserved, 800.0 MiB allocated at its peak"
    )
    assert " MB" not in text


def test_a_rank_with_bad_data_is_skipped_with_its_error(tmp_path):
    job = make_small_cluster(tmp_path / "job", DOCS_PEAKS)
    bad = job / "node0_3_ascend_pt"
    (bad / "ASCEND_PROFILER_OUTPUT").mkdir(parents=True)
    memory_record = bad / "ASCEND_PROFILER_OUTPUT" / "memory_record.csv"
    memory_record.write_bytes(b"Component,\xff\xfe bad\r\n")
    empty = job / "node0_4_ascend_pt"
    empty.mkdir()
    analysis = analyze_cluster_folder(job, jobs=2, progress=False)
    assert len(cluster_view(analysis.vendor).ranks) == 3
    # The reader's one-line error, named once; no "crashed": the data is bad, not ubscope.
    assert analysis.warnings[:2] == [
        f"{bad}: skipped: {memory_record}: expected a memory_record CSV (UTF-8 CSV), "
        "got undecodable bytes",
        f"{empty}: skipped: expected a torch_npu profiler directory (*_ascend_pt with "
        "ASCEND_PROFILER_OUTPUT/), found no known files",
    ]


def test_a_bug_reading_a_rank_still_raises(tmp_path, monkeypatch):
    # Only user errors become a skip line; a bug raises, and the executor
    # reports the rank as "crashed: RuntimeError: ...".
    def broken(folder):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cluster_profiles, "read_rank", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        read_rank_or_why(str(tmp_path))


def _text_and_json(job) -> tuple[str, dict]:
    text = run_ubscope("analyze", job, columns=200)
    document = run_ubscope("analyze", job, "--format", "json")
    assert text.returncode == document.returncode == 0, text.stderr + document.stderr
    # Strict JSON: NaN or Infinity would be refused.
    return text.stdout, json.loads(document.stdout, parse_constant=_refuse)


def _refuse(constant: str) -> None:
    raise AssertionError(f"{constant} in the JSON report")


def test_ranks_that_all_peak_at_zero_sit_at_the_median(tmp_path):
    job = make_small_cluster(tmp_path / "job", [0.0, 0.0, 0.0])
    text, document = _text_and_json(job)
    # Every rank is the median (0 B): 0 % from it, and none is an outlier.
    rows = [
        line.split()
        for line in text.splitlines()
        if line.startswith(("rank 0", "rank 1", "rank 2"))
    ]
    assert rows == [["rank", str(r), "0", "B", "0", "B", "0", "B", "+0.0%"] for r in range(3)]
    assert "nan" not in text.lower() and "TNPU004" not in text
    assert [rank["vs_median"] for rank in document["cluster"]["ranks"]] == [0.0, 0.0, 0.0]
    page = build_report(analyze_cluster_folder(job, jobs=1, progress=False))
    section = page[page.index('<section id="cluster">') :]
    section = section[: section.index("</section>")]
    assert "nan" not in section.lower() and section.count('<td class="num">+0.0%</td>') == 3


def test_a_rank_above_a_median_of_zero_has_no_share_but_is_flagged(tmp_path):
    # Median of 0, 0 and 100 MiB is 0 B: 100 MiB is no finite share above it.
    job = make_small_cluster(tmp_path / "job", [0.0, 0.0, 100.0])
    text, document = _text_and_json(job)
    row = next(line for line in text.splitlines() if line.startswith("rank 2 "))
    assert row.split() == ["rank", "2", "80.0", "MiB", "100.0", "MiB", "20.0", "MiB", "-"]
    assert [rank["vs_median"] for rank in document["cluster"]["ranks"]] == [None, 0.0, 0.0]
    (outlier,) = [f for f in document["findings"] if f["code"] == "TNPU004"]
    assert outlier["message"] == (
        "rank 2 (node0_2_ascend_pt): peak reserved 100.0 MiB is above the median 0 B of 3 ranks"
    )
    assert outlier["evidence"]["vs_median"] is None
