"""A cluster profile (a folder of several *_ascend_pt rank folders) made from
the real torch_npu sample: each rank read on a worker, the cluster view (per
rank peaks, gap, distance from the median) and its findings."""

from __future__ import annotations

import json
import statistics

import pytest

from tests.helpers.cli import run_ubscope
from tests.helpers.cluster_folder import SAMPLE_RANK, allocator_peaks, make_cluster
from ubscope.analyzers import Config, cluster_view
from ubscope.cluster_profiles import analyze_cluster_folder

pytestmark = pytest.mark.vendor_samples
# Rank 3 needs 1.5x the memory of ranks 0 and 2; rank 1, 1.05x.
SCALES = [1.0, 1.05, 1.0, 1.5]


@pytest.fixture
def cluster(vendor_samples, tmp_path):
    return make_cluster(vendor_samples, tmp_path / "job", SCALES)


@pytest.fixture
def peaks(vendor_samples):
    """The sample's PTA peaks: 1187.98 MB allocated, 1452.0 MB reserved."""
    return allocator_peaks(vendor_samples / SAMPLE_RANK / "memory_record.csv")


def test_cluster_view_and_outlier(cluster, peaks):
    allocated, reserved = peaks
    analysis = analyze_cluster_folder(cluster, jobs=2, progress=False)
    view = cluster_view(analysis.vendor)
    assert view is not None
    # Median of 1.0, 1.05, 1.0, 1.5 times the peak: 1.025 times it.
    median = statistics.median(scale * reserved for scale in SCALES)
    rows = [(r.rank, r.folder) for r in view.ranks]
    assert rows == [
        ("rank 3", "host3_ascend_pt"),
        ("rank 1", "host1_ascend_pt"),
        ("rank 0", "host0_ascend_pt"),
        ("rank 2", "host2_ascend_pt"),
    ]
    worst = view.ranks[0]
    assert worst.peak_reserved_mb == pytest.approx(1.5 * reserved)
    assert worst.peak_allocated_mb == pytest.approx(1.5 * allocated)
    # The sample reaches its reserved peak on a row where the most is allocated too.
    assert worst.gap_mb == pytest.approx(1.5 * (reserved - allocated))
    assert worst.vs_median == pytest.approx(1.5 / 1.025 - 1)  # +46.3 %
    assert view.median_reserved_mb == pytest.approx(median)
    outliers = [f for f in analysis.findings if f.code == "TNPU004"]
    assert [f.evidence["rank"] for f in outliers] == ["rank 3"]
    assert "46% above the median" in outliers[0].message
    worst_ranks = [f for f in analysis.findings if f.code == "TNPU005"]
    assert [r["rank"] for r in worst_ranks[0].evidence["worst"]] == ["rank 3", "rank 1", "rank 0"]


def test_rank_findings_name_their_rank(cluster):
    # TNPU001 on every rank: the sample's caching allocator holds 264 MB of its
    # 1452 MB unallocated at its peak (18 %); a 15 % limit flags each rank.
    config = Config(thresholds={"TNPU001": {"max_unused_fraction": 0.15}})
    analysis = analyze_cluster_folder(cluster, config, jobs=2, progress=False)
    ranks = sorted(f.evidence["rank"] for f in analysis.findings if f.code == "TNPU001")
    assert ranks == ["rank 0", "rank 1", "rank 2", "rank 3"]
    assert all(
        f.message.startswith(f.evidence["rank"] + ": ")
        for f in analysis.findings
        if f.code == "TNPU001"
    )


def test_an_unreadable_rank_is_a_warning(cluster):
    (cluster / "host9_ascend_pt").mkdir()  # no profiler files at all
    analysis = analyze_cluster_folder(cluster, jobs=2, progress=False)
    assert len(cluster_view(analysis.vendor).ranks) == 4
    assert any(
        "host9_ascend_pt: skipped" in warning and "found no known files" in warning
        for warning in analysis.warnings
    )


def test_analyze_prints_the_cluster_table_in_80_columns(cluster):
    result = run_ubscope("analyze", "--torch-npu", cluster, "--jobs", "2", "--rank-outlier", "2%")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # the input line names the folder whole, however long its path (never cut)
    assert lines[1] == f"  torch_npu cluster: {cluster} (4 ranks)"
    assert max(len(line) for line in lines[2:]) <= 80
    caption = next(n for n, line in enumerate(lines) if line.startswith("cluster: 4 ranks"))
    table = lines[caption + 1 :]
    assert table[0].split() == [
        "rank",
        "peak",
        "allocated",
        "peak",
        "reserved",
        "reserved-allocated",
        "vs",
        "median",
    ]
    # 1452 x 1.5 = 2178 MiB reserved (/ 1024 = 2.13 GiB), 1187.98 x 1.5 = 1781.97 MiB
    # allocated (1.74 GiB), 2178 - 1781.97 = 396.03 MiB between them.
    assert table[1].split() == ["rank", "3", "1.7", "GiB", "2.1", "GiB", "396.0", "MiB", "+46.3%"]
    # --rank-outlier 2%: ranks 0-2 sit 2.4 % from the median too (1.05 / 1.025 - 1).
    assert result.stdout.count("TNPU004 [torch_npu] rank") == 4


def test_analyze_json_lists_every_rank(cluster):
    result = run_ubscope("analyze", cluster, "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [r["folder"] for r in document["cluster"]["ranks"]] == [
        "host3_ascend_pt",
        "host1_ascend_pt",
        "host0_ascend_pt",
        "host2_ascend_pt",
    ]


def test_executor_options_need_a_cluster(vendor_samples):
    result = run_ubscope("analyze", vendor_samples / SAMPLE_RANK, "--jobs", "2")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "read the ranks of a cluster profile" in result.stderr


def test_cluster_on_a_local_ray_cluster(ray_cluster, cluster, peaks):
    analysis = analyze_cluster_folder(cluster, executor="ray", progress=False)
    view = cluster_view(analysis.vendor)
    assert [r.rank for r in view.ranks] == ["rank 3", "rank 1", "rank 0", "rank 2"]
    assert view.ranks[0].peak_reserved_mb == pytest.approx(1.5 * peaks[1])


def test_html_report_draws_and_lists_every_rank(cluster):
    from ubscope.reports.report import build_report

    # A folder name is input text: the page escapes it.
    (cluster / "host2_ascend_pt").rename(cluster / "host<b>2_ascend_pt")
    page = build_report(analyze_cluster_folder(cluster, jobs=2, progress=False))
    section = page[page.index('<section id="cluster">') :]
    section = section[: section.index("</section>")]
    assert "host&lt;b&gt;2_ascend_pt" in section
    assert "<b>2" not in section
    assert 'class="ubscope-figure" data-target="cluster-figure-1"' in section
    assert section.count("<tr>") == 1 + 4  # the header and one row per rank
    # 1452 x 1.5 = 2178 MiB = 2.13 GiB reserved; 1.5 / 1.025 - 1 = +46.3 % from the median.
    first = section[section.index("<tbody>") :].split("</tr>")[0]
    assert "<td>rank 3</td><td>host3_ascend_pt</td>" in first
    assert ">2.1 GiB<" in first
    assert "+46.3%" in first
