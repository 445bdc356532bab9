"""Fragmentation rules (FRG001-FRG005) on a free list whose figures are worked out by
hand, and rule selection."""

from __future__ import annotations

import numpy as np
import pytest

from ubscope.analyzers.api import analyze_trace
from ubscope.probe.events import EventKind
from ubscope.probe.memory.pools import FreeListAllocator
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TPipe, TQue

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


def test_fragmentation_is_measured_over_the_pools_own_extent(kit):
    """A 1024 B first-fit pool: four 256 B blocks, the first and third freed.

    Free in the pool: two 256 B holes, 512 B, the largest 256 B, so external
    fragmentation is 1 - 256/512 = 0.5 (over the whole 192 KiB UB it would be
    1 - 195,584/196,096 = 0.0026).
    """

    def body(block):
        core = block.aiv
        heap = FreeListAllocator(core, "small_heap", size=1024)
        tiles = [heap.allocate(128, np.float16, f"t{i}") for i in range(4)]
        heap.free(tiles[0])
        heap.free(tiles[2])
        heap.free(tiles[1])
        heap.free(tiles[3])

    analysis = analyze_trace(kit.run_device(body))
    finding = kit.only(analysis, "FRG002")
    assert finding.evidence["max_external"] == pytest.approx(0.5)
    assert finding.evidence["free_bytes"] == 512
    assert finding.evidence["largest_free_bytes"] == 256
    assert analysis.metrics["fragmentation"]["max_external"] == pytest.approx(0.5)


def test_a_pipe_teardown_is_not_fragmentation(kit):
    """A TPipe holding 32 KiB and 128 KiB of UB (32 KiB left free), destroyed at
    the end of the kernel: replayed one free at a time, freeing the first block
    would show two 32 KiB holes (0.5), but the teardown releases both at once."""

    def body(block):
        pipe = TPipe(block.aiv)
        pipe.init_buffer(TQue(TPosition.VECIN, name="small"), 1, 32 * KIB)
        pipe.init_buffer(TQue(TPosition.VECOUT, name="large"), 1, 128 * KIB)

    analysis = analyze_trace(kit.run_device(body))
    assert "FRG002" not in kit.codes(analysis)
    assert analysis.metrics["fragmentation"]["max_external"] == 0.0
    frees = analysis.context.rows(EventKind.FREE)
    assert np.isin(frees, analysis.context.fragmentation_model.teardown_rows).all()
