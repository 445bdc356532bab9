"""Trace metadata as the analysis reads it: a bad chip figure is a one-line error,
other bad metadata is ignored."""

from __future__ import annotations

import pytest

from ubscope.probe.errors import TraceError

KIB = 1024


def test_bad_metadata_is_a_one_line_error_or_ignored(kit):
    s = kit.Synthetic()
    s.alloc(0, 64 * KIB, "a")
    trace = s.trace()
    trace.meta["chip"]["capacity"] = []
    trace.meta["chip"]["gm_bandwidth"] = "fast"
    with pytest.raises(TraceError) as caught:
        kit.analyze(trace)
    assert "gm.bandwidth_gb_per_s: expected a number" in str(caught.value)  # the first bad one
    assert "\n" not in str(caught.value)

    s = kit.Synthetic()
    s.alloc(0, 64 * KIB, "a")
    trace = s.trace()
    trace.meta.update(minimal_traffic=[1, 2], params="not a mapping", preset=7)
    metrics = kit.analyze(trace).metrics
    assert metrics["params"] == {} and metrics["preset"] is None
    assert metrics["gm"]["minimal_read_bytes"] == 0 and metrics["gm"]["ratio_to_minimum"] is None
