"""GM traffic rules (GM001-GM004) on synthetic traces whose figures are worked out by hand."""

from __future__ import annotations

import pytest

from ubscope.probe.events import CoreKind, Space

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


def test_roofline_needs_compute_events_to_judge_the_intensity(kit):
    # Data moves only, as a trace made from `msprof op simulator` output: no FLOPs are known.
    moves = kit.Synthetic()
    moves.alloc(0, 64 * KIB, "x")
    moves.load(0x100000, 0, 64 * KIB, tensor="x")
    analysis = kit.analyze(moves.trace())
    assert "GM003" not in kit.codes(analysis)
    assert analysis.metrics["roofline"]["intensity"] is None
    assert analysis.metrics["roofline"]["bound"] is None

    # The same moves and one operation of 32 Ki FLOP: 0.5 FLOP per HBM byte.
    computed = kit.Synthetic()
    computed.alloc(0, 64 * KIB, "x")
    computed.load(0x100000, 0, 64 * KIB, tensor="x")
    computed.rec.compute(
        int(CoreKind.AIV), 0, int(Space.UB), 0, 64 * KIB, "Add", 32 * KIB, "add", 0, 1000
    )
    analysis = kit.analyze(computed.trace())
    assert kit.only(analysis, "GM003").evidence["intensity"] == pytest.approx(0.5)
    assert analysis.metrics["roofline"] == {
        "intensity": pytest.approx(0.5),
        "ridge": pytest.approx(analysis.chip.ridge_flops_per_byte),
        "bound": "memory",
    }
