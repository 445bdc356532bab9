"""The one comparison of two runs: A (under test) against B (baseline), delta = A - B."""

from __future__ import annotations

from ubscope.analyzers.comparison import LEGEND, compare, compare_findings
from ubscope.analyzers.findings import Finding, Location, Severity

KIB = 1024


def test_delta_is_a_minus_b_relative_to_b():
    # UB peak 12 KiB in B, 24 KiB in A: delta = 24 - 12 = +12 KiB, 12 / 12 = +100%.
    comparison = compare({"peak_bytes.UB": 24 * KIB}, {"peak_bytes.UB": 12 * KIB})
    (delta,) = [d for d in comparison.metrics if d.metric == "peak_bytes.UB"]
    assert (delta.a, delta.b, delta.delta, delta.relative) == (24 * KIB, 12 * KIB, 12 * KIB, 1.0)
    assert delta.unit == "bytes"
    assert delta.texts() == ("24.0 KiB", "12.0 KiB", "+12.0 KiB (+100.0%)")


def test_swapping_a_and_b_flips_the_sign_and_rebases_the_percentage():
    # A = 12 KiB, B = 24 KiB: delta = -12 KiB, -12 / 24 = -50%.
    comparison = compare({"peak_bytes.UB": 12 * KIB}, {"peak_bytes.UB": 24 * KIB})
    delta = next(d for d in comparison.metrics if d.metric == "peak_bytes.UB")
    assert delta.delta == -12 * KIB and delta.relative == -0.5
    assert delta.texts()[2] == "-12.0 KiB (-50.0%)"


def test_units_are_for_people_and_unchanged_metrics_have_no_delta():
    comparison = compare(
        {"modelled_time_ps": 1_500_000, "gm.read_bytes": 100_000, "findings.error": 1},
        {"modelled_time_ps": 1_000_000, "gm.read_bytes": 100_000, "findings.error": 0},
    )
    by_name = {d.metric: d for d in comparison.metrics}
    # 1,500,000 ps = 1.50 µs; +500,000 ps = +0.50 µs (the row's unit), 0.5 / 1.0 = +50%
    assert by_name["modelled_time_ps"].texts() == ("1.50 µs", "1.00 µs", "+0.50 µs (+50.0%)")
    # 100,000 B is not a whole number of KiB: every byte is shown
    assert by_name["gm.read_bytes"].texts() == ("100,000 B", "100,000 B", "")
    assert not by_name["gm.read_bytes"].changed
    # B = 0 has no percentage
    assert by_name["findings.error"].texts() == ("1", "0", "+1")
    assert [d.metric for d in comparison.changed] == ["modelled_time_ps", "findings.error"]
    assert comparison.findings is None  # no finding lists given (a baseline file)


def test_a_b_and_the_delta_of_a_row_share_the_unit_of_its_larger_value():
    # GM reads: A = 40,992 KiB, B = 344 KiB, both whole KiB; A - B = 40,648 KiB
    # (41,623,552 B), and 40,648 / 344 = +11816.3%.
    comparison = compare({"gm.read_bytes": 40_992 * KIB}, {"gm.read_bytes": 344 * KIB})
    (reads,) = comparison.metrics
    assert reads.texts() == ("40992.0 KiB", "344.0 KiB", "+40648.0 KiB (+11816.3%)")
    # A = 2 MiB + 1 B is exact in no binary unit: A, B (1 MiB) and the delta in bytes.
    comparison = compare({"gm.read_bytes": 2 * KIB * KIB + 1}, {"gm.read_bytes": KIB * KIB})
    assert comparison.metrics[0].texts() == ("2,097,153 B", "1,048,576 B", "+1,048,577 B (+100.0%)")
    # Modelled time: A = 3 ms, B = 2.5 ms; A - B = 0.5 ms (not 500.00 µs), 0.5 / 2.5 = +20%.
    comparison = compare({"modelled_time_ps": 3_000_000_000}, {"modelled_time_ps": 2_500_000_000})
    assert comparison.metrics[0].texts() == ("3.00 ms", "2.50 ms", "+0.50 ms (+20.0%)")


def test_metric_names_unknown_to_this_version_are_left_out():
    comparison = compare({"peak_bytes.UB": 1, "future.metric": 5}, {"future.metric": 4})
    assert [d.metric for d in comparison.metrics] == ["peak_bytes.UB"]
    assert comparison.metrics[0].b == 0  # an absent space counts as 0 bytes


def _finding(code: str, core: int, first_seq: int, tag: str = "copyin") -> Finding:
    place = Location(core=core, core_kind="aiv", space="UB", first_seq=first_seq, tag=tag)
    return Finding(code, Severity.ERROR, f"message {first_seq}", place)


def test_findings_are_new_fixed_or_unchanged_by_rule_and_place():
    a = [_finding("UB001", 0, 99), _finding("GM001", 0, 7), _finding("UB002", 1, 3, tag="x")]
    b = [_finding("UB001", 0, 10), _finding("ALN001", 1, 5), _finding("UB002", 1, 3, tag="y")]
    changes = compare({}, {}, a, b).findings
    assert changes is not None
    # UB001 on aiv0 moved to another event: the same problem
    assert [f.code for f in changes.unchanged] == ["UB001"]
    assert changes.unchanged[0].location.first_seq == 99  # A's finding is listed
    # a different call-site tag is a different place
    assert [f.code for f in changes.new] == ["GM001", "UB002"]
    assert [(f.code, f.location.tag) for f in changes.fixed] == [
        ("ALN001", "copyin"),
        ("UB002", "y"),
    ]
    assert compare_findings(b, a).new == changes.fixed


def test_the_legend_names_both_sides_and_the_delta():
    assert LEGEND == "A: run under test; B: baseline; delta = A - B"
