"""Trace rules on synthetic traces whose expected figures are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ubscope.analyzers.api import analyze_trace
from ubscope.probe.device import Device
from ubscope.probe.errors import TraceError
from ubscope.probe.events import Flag
from ubscope.probe.memory import vector
from ubscope.probe.memory.datacopy import data_copy
from ubscope.probe.memory.pools import UBBufPool
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TPipe, TQue
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import Trace, new_metadata

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


def test_overflow_is_located_at_the_first_allocation_past_capacity(kit):
    s = kit.Synthetic()
    s.alloc(0, 80 * KIB, "x")
    s.alloc(80 * KIB, 80 * KIB, "y")
    third = s.alloc(160 * KIB, 80 * KIB, "z")  # ends at 240 KiB > 192 KiB
    analysis = kit.analyze(s.trace())
    finding = kit.only(analysis, "UB001")
    assert finding.evidence["first_past_seq"] == third
    assert finding.location.first_seq == third
    assert finding.evidence["peak_live_bytes"] == 240 * KIB
    assert finding.evidence["bytes_over"] == 48 * KIB
    assert (finding.location.addr_start, finding.location.addr_end) == (192 * KIB, 240 * KIB)
    peaks = analysis.context.peaks
    assert peaks.iloc[0]["peak_seq"] == third and peaks.iloc[0]["high_water"] == 240 * KIB
    assert analysis.metrics["peak_bytes"]["UB"] == 240 * KIB


def test_healthy_synthetic_trace_has_no_capacity_findings(kit):
    s = kit.Synthetic()
    for round_ in range(3):
        s.alloc(0, 64 * KIB, "x")
        s.load(0x1000 + round_ * 64 * KIB, 0, 64 * KIB)
        s.free(0, 64 * KIB, "x")
    assert not {"UB001", "UB004", "UB005", "UB006"} & set(kit.codes(kit.analyze(s.trace())))


def run_device(kit, body, block_dim: int = 1) -> Trace:
    """Run ``body(block)`` on the emulated device and return its trace."""
    recorder = Recorder(batch_events=64)
    device = Device(kit.Synthetic().chip, recorder)
    device.launch("device_kernel", body, block_dim)
    recorder.flush()
    meta = new_metadata(device.chip.to_dict(), "device_kernel", {}, {})
    return Trace(path=Trace.__name__, meta=meta, events=recorder.table().to_pandas())


def test_truncated_datacopy_loses_a_known_number_of_bytes(kit):
    def body(block):
        core = block.aiv
        pool = UBBufPool(core)
        src = block.device.gm.tensor("src", np.arange(256, dtype=np.float16))
        with core.site("load_tail"):
            tile = pool.allocate(64, np.float16)
            for offset in (0, 50, 100):
                data_copy(tile, src[offset:], 50)  # 100 B requested, 96 B moved
        pool.reset()

    analysis = analyze_trace(run_device(kit, body))
    finding = kit.only(analysis, "ALN002")
    assert finding.evidence["bytes_lost"] == 12  # 3 copies x (100 - 96)
    assert finding.evidence["events"] == 3
    assert finding.location.tag == "load_tail"
    mask = analysis.context.events_for(finding)
    assert int(mask.sum()) == 3
    assert (analysis.context.events.loc[mask, "flags"] & int(Flag.TRUNCATED)).all()


def test_misaligned_operand_is_an_error_grouped_by_call_site(kit):
    def body(block):
        core = block.aiv
        pool = UBBufPool(core)
        a = pool.allocate(64, np.float16)
        with core.site("odd_offset"):
            for _ in range(4):
                vector.adds(a[3:35], a[3:35], 1.0, 32)  # 6 B off a 32 B boundary

    finding = kit.only(analyze_trace(run_device(kit, body)), "ALN001")
    assert finding.evidence["events"] == 4 and finding.location.tag == "odd_offset"
    assert str(finding.severity) == "error"


def test_queue_buffers_past_the_position_limit_hang_the_npu(kit):
    def body(block):
        pipe = TPipe(block.aiv)
        for i in range(5):  # 5 double-buffered VECIN queues: 10 buffers > 8
            pipe.init_buffer(TQue(TPosition.VECIN, name=f"in{i}"), 2, 1024)

    finding = kit.only(analyze_trace(run_device(kit, body)), "UB007")
    assert finding.evidence["buffers"] == 10
    assert "VECIN" in finding.message and "hangs" in finding.message


def test_overlapping_live_allocations_name_both_blocks(kit):
    s = kit.Synthetic()
    first = s.alloc(0, 4 * KIB, "a")
    second = s.alloc(2 * KIB, 4 * KIB, "b")  # [2K, 6K) overlaps live [0, 4K)
    s.free(0, 4 * KIB, "a")
    s.free(2 * KIB, 4 * KIB, "b")
    finding = kit.only(kit.analyze(s.trace()), "UB004")
    assert finding.location.first_seq == second
    assert finding.evidence["overlapped_seq"] == first


def test_never_freed_and_pool_never_reset(kit):
    s = kit.Synthetic()
    for round_ in range(4):  # each round's tile stacks on the last, used, never freed
        addr = round_ * 16 * KIB
        s.alloc(addr, 16 * KIB, "tile", tag="copyin")
        s.load(0x10000 + addr, addr, 16 * KIB)
    analysis = kit.analyze(s.trace())
    assert kit.only(analysis, "UB005").evidence["blocks"] == 4
    never_reset = kit.only(analysis, "UB006")
    assert never_reset.evidence["max_repeats"] == 3
    assert never_reset.evidence["growth_per_round_bytes"] == 16 * KIB


def test_red_zone_writes_are_counted_per_call_site(kit):
    s = kit.Synthetic()
    for _ in range(2):
        s.rec.redzone_write(1, 0, 2, 190 * KIB, 4 * KIB, 2 * KIB, "spill", 0)
    finding = kit.only(kit.analyze(s.trace()), "UB002")
    assert finding.evidence["bytes_written"] == 8 * KIB
    assert finding.evidence["bytes_past_capacity"] == 4 * KIB
    assert finding.location.tag == "spill"


def test_scratch_overlap_is_a_warning_on_910b(kit):
    s = kit.Synthetic()
    s.alloc(0, 186 * KIB, "big")  # past the 184 KiB safe budget, below 192 KiB
    s.free(0, 186 * KIB, "big")
    finding = kit.only(kit.analyze(s.trace()), "UB003")
    assert str(finding.severity) == "warning"


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


def test_block_usage_finds_unused_buffers(kit):
    s = kit.Synthetic()
    s.alloc(0, 4 * KIB, "used")
    s.alloc(4 * KIB, 4 * KIB, "idle")
    s.load(0x1000, 512, 1 * KIB)  # inside 'used', not at its start
    s.free(0, 4 * KIB, "used")
    s.free(4 * KIB, 4 * KIB, "idle")
    analysis = kit.analyze(s.trace())
    usage = analysis.context.block_usage
    assert usage.first_row[0] >= 0 and usage.last_row[1] == -1
    unused = kit.only(analysis, "UB011")
    assert "'idle'" in unused.message


def test_select_and_ignore_pick_rules(kit):
    s, _ = free_list_trace(kit)
    trace = s.trace()
    assert set(kit.codes(kit.analyze(trace, select=("FRG",)))) == {"FRG001"}
    assert "FRG001" not in kit.codes(kit.analyze(trace, ignore=("FRG001",)))


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
