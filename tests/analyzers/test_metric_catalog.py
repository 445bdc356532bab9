"""The metric catalogue against the metrics summary it names."""

from __future__ import annotations

import pytest

from ubscope.analyzers.metric_catalog import (
    KNOWN_METRICS,
    flatten_metrics,
    is_known_metric,
    metric_unit,
    ordered_metrics,
)
from ubscope.analyzers.metrics import empty_metrics
from ubscope.probe.chip import load_chip


def test_every_catalogued_metric_is_a_field_of_the_summary():
    # A field renamed in metrics.py without the catalogue would silently stop being compared.
    summary = empty_metrics(load_chip())
    fields = {
        f"{group}.{name}" if isinstance(value, dict) else group
        for group, value in summary.items()
        for name in (value if isinstance(value, dict) else [None])
    }
    assert set(KNOWN_METRICS) <= fields


def test_findings_are_flattened_by_severity_and_code():
    summary = {"findings": {"error": 2, "warning": 0, "info": 1, "by_code": {"UB001": 2}}}
    assert flatten_metrics(summary) == {
        "findings.error": 2,
        "findings.warning": 0,
        "findings.info": 1,
        "findings.by_code.UB001": 2,
    }


@pytest.mark.parametrize(
    "metric, unit",
    [
        ("peak_bytes.UB", "bytes"),
        ("gm.ratio_to_minimum", "ratio"),
        ("fragmentation.failed_allocs_with_enough_free", "count"),
        ("modelled_time_ps", "time_ps"),
        ("findings.by_code.ALN*", "count"),
    ],
)
def test_units(metric, unit):
    assert metric_unit(metric) == unit


def test_unknown_names_are_refused_with_the_families():
    assert not is_known_metric("gm.minimal_read_bytes")  # decided by the parameters alone
    with pytest.raises(ValueError, match=r"peak_bytes\.SPACE"):
        metric_unit("peak.UB")


def test_catalogue_order_then_findings_by_name():
    names = ["findings.error", "gm.read_bytes", "peak_bytes.L1", "peak_bytes.UB"]
    assert ordered_metrics(names) == [
        "peak_bytes.UB",
        "peak_bytes.L1",
        "gm.read_bytes",
        "findings.error",
    ]
