"""GM traffic rules (GM001-GM004) on synthetic traces whose figures are worked out by hand."""

from __future__ import annotations

import pytest

KIB = 1024


def test_redundant_reloads_and_traffic_above_minimum(kit):
    s = kit.Synthetic(minimal={"read": 64 * KIB, "write": 0})
    s.alloc(0, 64 * KIB, "x")
    for _ in range(3):
        s.load(0x100000, 0, 64 * KIB, tensor="weights")
    s.free(0, 64 * KIB, "x")
    analysis = kit.analyze(s.trace())
    traffic = analysis.context.traffic.set_index(["tensor", "direction"])
    row = traffic.loc[("weights", "read")]
    assert (row["bytes"], row["distinct_bytes"], row["transfers"]) == (192 * KIB, 64 * KIB, 3)
    assert row["redundancy"] == pytest.approx(3.0)
    assert kit.only(analysis, "GM001").evidence["redundancy"] == pytest.approx(3.0)
    gm002 = kit.only(analysis, "GM002")
    assert gm002.evidence["ratio"] == pytest.approx(3.0)
    # 128 KiB surplus at 1.6 TB/s = 81.92 ns
    assert gm002.estimated_gain == "~81.9 ns at full bandwidth"
    assert analysis.metrics["gm"]["ratio_to_minimum"] == pytest.approx(3.0)
