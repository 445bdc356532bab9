"""Fragmentation rules (FRG001-FRG005) on a free list whose figures are worked out by
hand, and rule selection."""

from __future__ import annotations

import pytest

KIB = 1024


def free_list_trace(kit):
    """A [0,64K) B [64K,96K) C [96K,160K); A and C freed; then a 128 KiB request fails.

    Free afterwards: [0,64K) = 64 KiB and [96K,192K) = 96 KiB, so total free is
    160 KiB, the largest block 96 KiB and external fragmentation 1 - 96/160 = 0.4.
    """
    s = kit.Synthetic()
    seqs = {
        "a": s.alloc(0, 64 * KIB, "a"),
        "b": s.alloc(64 * KIB, 32 * KIB, "b"),
        "c": s.alloc(96 * KIB, 64 * KIB, "c"),
    }
    seqs["free_a"] = s.free(0, 64 * KIB, "a")
    seqs["free_c"] = s.free(96 * KIB, 64 * KIB, "c")
    seqs["fail"] = s.seq()
    s.rec.alloc_fail(1, 0, 2, 128 * KIB, 128 * KIB, "big", "grow", 0, 160 * KIB, 96 * KIB)
    s.free(64 * KIB, 32 * KIB, "b")
    return s, seqs


def test_external_fragmentation_worked_out_by_hand(kit):
    s, seqs = free_list_trace(kit)
    frag = kit.context(s.trace()).fragmentation("aiv", 0, "UB")
    after_c = frag[frag["seq"] == seqs["free_c"]].iloc[0]
    assert after_c["free_bytes"] == 160 * KIB
    assert after_c["largest_free"] == 96 * KIB
    assert after_c["external"] == pytest.approx(0.4)
    # before any free the free space is one block: no fragmentation
    assert frag[frag["seq"] == seqs["c"]].iloc[0]["external"] == 0.0
    # at the end everything is free again
    assert frag.iloc[-1]["free_bytes"] == 192 * KIB and frag.iloc[-1]["external"] == 0.0


def test_failed_allocation_with_enough_free_bytes_is_an_error(kit):
    s, seqs = free_list_trace(kit)
    analysis = kit.analyze(s.trace())
    finding = kit.only(analysis, "FRG001")
    assert str(finding.severity) == "error"
    assert finding.location.first_seq == seqs["fail"]
    assert finding.evidence["mean_requested_bytes"] == 128 * KIB
    assert finding.evidence["mean_free_bytes"] == 160 * KIB
    assert finding.evidence["mean_largest_free_bytes"] == 96 * KIB


def test_external_fragmentation_rule_uses_its_threshold(kit):
    s, _ = free_list_trace(kit)
    trace = s.trace()
    assert "FRG002" not in kit.codes(kit.analyze(trace))  # 0.4 < default 0.5
    tuned = kit.analyze(trace, thresholds={"FRG002": {"max_external": 0.3}})
    assert kit.only(tuned, "FRG002").evidence["max_external"] == pytest.approx(0.4)


def test_select_and_ignore_pick_rules(kit):
    s, _ = free_list_trace(kit)
    trace = s.trace()
    assert set(kit.codes(kit.analyze(trace, select=("FRG",)))) == {"FRG001"}
    assert "FRG001" not in kit.codes(kit.analyze(trace, ignore=("FRG001",)))
