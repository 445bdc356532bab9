"""What counts as a regression: tolerances, improvements, findings, limits (pure functions)."""

from __future__ import annotations

import pytest

from ubscope.analyzers.comparison import format_delta, format_value
from ubscope.analyzers.findings import Severity
from ubscope.analyzers.metric_catalog import flatten_metrics, metric_value
from ubscope.check.measurement import merge_repeats
from ubscope.check.table import row_cells
from ubscope.check.tolerances import Tolerances, parse_tolerance
from ubscope.check.verdicts import (
    IMPROVED,
    NEW_FINDING,
    REGRESSED,
    SAME,
    UNCOMPARED,
    WITHIN,
    Limit,
    check_measurement,
)


def _rows(current, baseline, tolerances=None, **options):
    result = check_measurement(current, baseline.metrics, tolerances or Tolerances(), **options)
    return result, {row.metric: row for row in result.rows}


def test_flatten_names_peak_and_total_separately(make_metrics):
    flat = flatten_metrics(make_metrics())
    assert flat["peak_bytes.UB"] == 100_000
    assert flat["total_alloc_bytes.UB"] == 800_000
    assert flat["high_water_bytes.UB"] == 102_400
    assert flat["gm.read_bytes"] == 65536 and flat["gm.ratio_to_minimum"] == 1
    assert flat["fragmentation.max_external"] == 0.1
    assert flat["findings.warning"] == 1 and flat["findings.by_code.GM003"] == 1
    assert flat["modelled_time_ps"] == 1_000_000
    # Figures the parameters alone decide, and derived or textual ones, are not compared.
    assert not {"gm.minimal_read_bytes", "kv_cache.used_bytes", "roofline.bound"} & set(flat)


@pytest.mark.parametrize(
    "tolerance, baseline, at_limit",
    [
        ("2%", 100_000, 102_000),
        ("2%", 163_840, 167_116),
        ("4 KiB", 100_000, 104_096),
        ("0%", 100_000, 100_000),
        ("1.5%", 200_000, 203_000),
    ],
)
def test_growth_exactly_at_the_tolerance_passes_one_byte_more_fails(
    tolerance, baseline, at_limit, make_measurement
):
    tolerances = Tolerances()
    tolerances.set("peak_bytes.UB", tolerance)
    before = make_measurement(**{"peak_bytes.UB": baseline})
    result, rows = _rows(make_measurement(**{"peak_bytes.UB": at_limit}), before, tolerances)
    assert not result.failed
    assert rows["peak_bytes.UB"].status == (SAME if at_limit == baseline else WITHIN)
    result, rows = _rows(make_measurement(**{"peak_bytes.UB": at_limit + 1}), before, tolerances)
    assert rows["peak_bytes.UB"].status == REGRESSED
    assert [p.metric for p in result.problems] == ["peak_bytes.UB"]
    assert "peak_bytes.UB regressed" in result.problems[0].message
    assert f"tolerance {tolerance}" in result.problems[0].message


def test_default_tolerance_is_two_percent_and_applies_to_every_metric(make_measurement):
    before = make_measurement()
    result, rows = _rows(make_measurement(**{"gm.read_bytes": 65536 * 102 // 100}), before)
    assert not result.failed and rows["gm.read_bytes"].status == WITHIN
    result, rows = _rows(make_measurement(**{"fragmentation.max_external": 0.11}), before)
    assert rows["fragmentation.max_external"].status == REGRESSED


def test_improvement_passes_and_is_reported(make_measurement):
    result, rows = _rows(make_measurement(**{"peak_bytes.UB": 50_000}), make_measurement())
    assert not result.failed
    assert rows["peak_bytes.UB"].status == IMPROVED
    assert rows["peak_bytes.UB"].notable


def test_growth_from_zero_is_a_regression(make_measurement):
    result, rows = _rows(make_measurement(**{"peak_bytes.L1": 32}), make_measurement())
    assert result.failed and rows["peak_bytes.L1"].status == REGRESSED


def test_modelled_time_is_compared_only_with_a_tolerance_for_it(make_measurement):
    slower = make_measurement(modelled_time_ps=2_000_000)
    result, rows = _rows(slower, make_measurement())
    assert not result.failed and rows["modelled_time_ps"].status == UNCOMPARED
    tolerances = Tolerances()
    tolerances.set("modelled_time_ps", "10%")
    result, rows = _rows(slower, make_measurement(), tolerances)
    assert rows["modelled_time_ps"].status == REGRESSED


def test_exact_metric_tolerance_wins_over_glob_and_default():
    tolerances = Tolerances()
    tolerances.set_default("1%")
    tolerances.set("peak_bytes.*", "10%")
    tolerances.set("peak_bytes.UB", "0%")
    assert tolerances.for_metric("peak_bytes.UB").text == "0%"
    assert tolerances.for_metric("peak_bytes.L1").text == "10%"
    assert tolerances.for_metric("gm.read_bytes").text == "1%"


@pytest.mark.parametrize(
    "metric, text, message",
    [
        ("peak_byte.UB", "1%", "unknown metric"),
        ("fragmentation.max_external", "4 KiB", "only to byte"),
        ("findings.error", "1", "no tolerance"),
        ("peak_bytes.UB", "-1%", "negative"),
        ("peak_bytes.UB", "lots", "expected a tolerance"),
    ],
)
def test_bad_tolerances_are_rejected(metric, text, message):
    with pytest.raises(ValueError, match=message):
        Tolerances().set(metric, text)


def test_default_tolerance_must_be_a_percentage():
    with pytest.raises(ValueError, match="percentage"):
        Tolerances().set_default("4 KiB")
    assert parse_tolerance("0").allows(10, 10) and not parse_tolerance("0").allows(10, 11)


def test_new_finding_fails_at_or_above_fail_on(make_measurement):
    severities = {"GM003": Severity.WARNING, "ALN002": Severity.ERROR}
    current = make_measurement(
        severities,
        **{
            "findings.by_code": {"GM003": 2, "ALN002": 1},
            "findings.error": 1,
            "findings.warning": 2,
        },
    )
    result, rows = _rows(current, make_measurement())
    assert rows["findings.by_code.ALN002"].status == NEW_FINDING
    assert rows["findings.by_code.GM003"].status == WITHIN  # a warning, below --fail-on error
    assert [p.kind for p in result.problems] == ["finding"]
    assert "new error finding ALN002" in result.problems[0].message
    result, rows = _rows(current, make_measurement(), fail_on=Severity.WARNING)
    assert {p.metric for p in result.problems} == {
        "findings.by_code.ALN002",
        "findings.by_code.GM003",
    }


def test_a_finding_that_disappears_is_an_improvement(make_measurement):
    current = make_measurement(**{"findings.by_code": {}, "findings.warning": 0})
    result, rows = _rows(current, make_measurement())
    assert not result.failed and rows["findings.by_code.GM003"].status == IMPROVED


def test_limits_pass_at_the_value_and_fail_above_it(make_measurement):
    measurement = make_measurement(**{"peak_bytes.UB": 163_840})
    limit = {"peak_bytes.UB": Limit(163_840, "budget b.yaml:3", "b.yaml", 3)}
    assert not check_measurement(measurement, None, Tolerances(), limits=limit).failed
    over = make_measurement(**{"peak_bytes.UB": 163_841})
    result = check_measurement(over, None, Tolerances(), limits=limit)
    [problem] = result.problems
    assert problem.kind == "budget" and (problem.file, problem.line) == ("b.yaml", 3)
    # the value, the limit and the excess in one unit: 163,841 - 163,840 = 1 B
    assert "peak_bytes.UB = 163,841 B exceeds the limit 163,840 B (budget b.yaml:3) by 1 B" in (
        problem.message
    )


def test_a_limit_is_shown_in_the_unit_of_its_value(make_measurement):
    """23.5 KiB (24,064 B) against a limit of 24,000 B: "23.5 KiB" beside
    "24,000 B" reads as within it; in one unit the table says 24,064 B."""
    over = make_measurement(**{"peak_bytes.UB": 24_064})
    limit = {"peak_bytes.UB": Limit(24_000, "budget b.yaml:3", "b.yaml", 3)}
    result = check_measurement(over, None, Tolerances(), limits=limit)
    [row] = [row for row in result.rows if row.metric == "peak_bytes.UB"]
    metric, value, _, _, _, shown_limit, status, _ = row_cells(row)
    assert (value, shown_limit, status) == ("24,064 B", "24,000 B", "OVER LIMIT")
    [problem] = result.problems
    assert "= 24,064 B exceeds the limit 24,000 B (budget b.yaml:3) by 64 B" in problem.message
    # a limit that is whole KiB like the value keeps KiB: 160.0 KiB within 176.0 KiB
    within = make_measurement(**{"peak_bytes.UB": 160 * 1024})
    limit = {"peak_bytes.UB": Limit(176 * 1024, "budget b.yaml:3", "b.yaml", 3)}
    result = check_measurement(within, None, Tolerances(), limits=limit)
    [row] = [row for row in result.rows if row.metric == "peak_bytes.UB"]
    assert row_cells(row)[1::4] == ["160.0 KiB", "176.0 KiB"]


def test_code_prefix_limits_sum_every_matching_code(make_metrics):
    flat = flatten_metrics(make_metrics(**{"findings.by_code": {"ALN001": 2, "ALN004": 1}}))
    assert metric_value(flat, "findings.by_code.ALN*") == 3
    assert metric_value(flat, "findings.by_code.UB*") == 0
    assert metric_value(flat, "peak_bytes.L0C") == 0


def test_repeats_keep_the_worst_value_of_each_metric(make_measurement):
    first = make_measurement(**{"peak_bytes.UB": 10, "gm.read_bytes": 500})
    second = make_measurement(**{"peak_bytes.UB": 30, "gm.read_bytes": 100})
    other = make_measurement(**{"params": {"n": 1}})
    merged = merge_repeats([first, second, other])
    assert len(merged) == 2
    assert merged[0].metrics["peak_bytes.UB"] == 30 and merged[0].metrics["gm.read_bytes"] == 500
    assert merged[0].sources == ["k.ubtrace", "k.ubtrace"]


def test_values_and_deltas_read_well():
    assert format_value("peak_bytes.UB", 163840) == "160.0 KiB"
    assert format_value("peak_bytes.UB", 163841) == "163,841 B"
    # A - B, relative to B (the baseline)
    assert format_delta("peak_bytes.UB", 102_000, 100_000) == "+2,000 B (+2.0%)"
    assert format_delta("gm.ratio_to_minimum", 1.25, 1.0) == "+0.25 (+25.0%)"
    assert format_value("modelled_time_ps", 2_500_000) == "2.50 µs"


def test_unknown_baseline_metrics_are_ignored(make_measurement):
    baseline = {**make_measurement().metrics, "l2.hit_bytes": 5, "peak_bytes.UB": 100_000}
    result = check_measurement(make_measurement(), baseline, Tolerances())
    assert not result.failed and "l2.hit_bytes" not in {row.metric for row in result.rows}
