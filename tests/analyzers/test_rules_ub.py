"""UB rules (UB001-UB013: capacity, lifetimes, queues; UB014 has its own
file) on synthetic traces whose expected figures are worked out by hand."""

from __future__ import annotations

from tests.helpers.ping_pong import ping_pong_loop
from ubscope.analyzers.api import analyze_trace
from ubscope.probe.device_fault import METADATA_FIELD as DEVICE_FAULT_FIELD
from ubscope.probe.device_fault import DeviceFault
from ubscope.probe.events import CoreKind, Flag, Space
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TBuf, TPipe, TQue

KIB = 1024


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


def test_queue_buffers_past_the_position_limit_hang_the_npu(kit):
    def body(block):
        pipe = TPipe(block.aiv)
        for i in range(5):  # 5 double-buffered VECIN queues: 10 buffers > 8
            pipe.init_buffer(TQue(TPosition.VECIN, name=f"in{i}"), 2, 1024)

    finding = kit.only(analyze_trace(kit.run_device(body)), "UB007")
    assert finding.evidence["buffers"] == 10
    assert "VECIN" in finding.message and "hangs" in finding.message


def test_tbufs_take_no_queue_event_id(kit):
    def body(block):
        pipe = TPipe(block.aiv)
        for i in range(9):  # nine TBufs on VECCALC: no event IDs at all
            pipe.init_buffer(TBuf(TPosition.VECCALC, name=f"tmp{i}"), 1, 1024)
        for i in range(4):  # 4 double-buffered VECIN queues: 8 event IDs, the limit
            pipe.init_buffer(TQue(TPosition.VECIN, name=f"in{i}"), 2, 1024)

    assert "UB007" not in kit.codes(analyze_trace(kit.run_device(body)))


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


def leak_then_fault(kit, guard_page: bool):
    """A tile allocated, used and never freed, then the run's device fault: a
    write into UB's red zone (the kernel runs on to its end, so the missing
    free is the kernel's) or, as the twin records it, a raw GM read past
    tensor x caught by a guard page (the run ends there, before any free that
    would have followed)."""
    s = kit.Synthetic()
    s.alloc(0, 16 * KIB, "tile", tag="copyin")
    s.load(0x10000, 0, 16 * KIB)
    if guard_page:
        flags = int(Flag.OUT_OF_BOUNDS | Flag.GUARD_PAGE)
        s.load(0x10000 + 16 * KIB, 0, 1, flags=flags, moved=0, t=2000)
        fault = DeviceFault(
            core_kind="aiv",
            core=0,
            space="GM",
            addr=0x10000 + 16 * KIB,
            nbytes=1,
            past_capacity=0,
            tag="load",
            t_ps=2000,
            writes=0,
            tensor="x",
            offset=16 * KIB,
            access="read",
        )
    else:
        s.rec.redzone_write(
            int(CoreKind.AIV), 0, int(Space.UB), 190 * KIB, 4 * KIB, 2 * KIB, "spill", 2000
        )
        fault = s.rec.device_fault
    trace = s.trace()
    trace.meta[DEVICE_FAULT_FIELD] = fault.to_metadata()
    return trace


def test_a_leak_is_judged_unless_a_fault_stopped_the_run(kit):
    leaked = kit.only(kit.analyze(leak_then_fault(kit, guard_page=False)), "UB005")
    assert (leaked.evidence["blocks"], leaked.evidence["bytes"]) == (1, 16 * KIB)
    assert "UB005" not in kit.codes(kit.analyze(leak_then_fault(kit, guard_page=True)))


def test_red_zone_writes_are_counted_per_call_site(kit):
    s = kit.Synthetic()
    for _ in range(2):
        s.rec.redzone_write(1, 0, 2, 190 * KIB, 4 * KIB, 2 * KIB, "spill", 0)
    finding = kit.only(kit.analyze(s.trace()), "UB002")
    assert finding.evidence["bytes_written"] == 8 * KIB
    assert finding.evidence["bytes_past_capacity"] == 4 * KIB
    assert finding.location.tag == "spill"


def test_a_red_zone_write_is_located_at_the_bytes_past_capacity(kit):
    # A 4 KiB write at 190 KiB of the 910B's 192 KiB UB: its first 2 KiB are
    # valid UB, its last 2 KiB land in the red zone at [192 KiB, 194 KiB), that
    # is 0x30000-0x30800 (it was once located at [190 KiB, 192 KiB), the write's
    # start plus the bytes past capacity: valid UB).
    s = kit.Synthetic()
    s.rec.redzone_write(
        int(CoreKind.AIV), 0, int(Space.UB), 190 * KIB, 4 * KIB, 2 * KIB, "spill", 0
    )
    analysis = kit.analyze(s.trace())
    finding = kit.only(analysis, "UB002")
    assert (finding.location.addr_start, finding.location.addr_end) == (0x30000, 0x30800)
    # the finding's events (where the views jump to) still include the write
    assert analysis.context.events_for(finding).sum() == 1


def test_scratch_overlap_is_a_warning_on_910b(kit):
    s = kit.Synthetic()
    s.alloc(0, 186 * KIB, "big")  # past the 184 KiB safe budget, below 192 KiB
    s.free(0, 186 * KIB, "big")
    finding = kit.only(kit.analyze(s.trace()), "UB003")
    assert str(finding.severity) == "warning"


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


def test_a_touch_reaches_an_older_block_still_live_behind_a_newer_one_that_ended(kit):
    # A free before any allocation takes the first one at its address: 'old'
    # at 0 stays live for good. 'new' is then allocated at 0 too and freed.
    # A load inside [0, 1 KiB) after that touches 'old', the one block live
    # there (it was once missed: only the latest block at a start was tried).
    s = kit.Synthetic()
    s.free(0, 1 * KIB, "old")
    s.alloc(0, 1 * KIB, "old")
    s.alloc(0, 1 * KIB, "new")
    s.free(0, 1 * KIB, "new")
    load = s.load(0x1000, 512, 256)
    analysis = kit.analyze(s.trace())
    usage = analysis.context.block_usage
    assert (usage.first_row[0], usage.last_row[0]) == (load, load)
    assert usage.last_row[1] == -1
    unused = kit.only(analysis, "UB011")
    assert "'new'" in unused.message


def test_spare_ping_pong_buffer_of_a_one_round_loop_is_info(kit):
    # one tile: the queue's second 1 KiB block is never reached
    finding = kit.only(analyze_trace(kit.run_device(ping_pong_loop(1))), "UB011")
    assert str(finding.severity) == "info"
    assert finding.evidence["blocks"] == 1 and finding.evidence["bytes"] == 1 * KIB
    assert finding.evidence["spare_queue_blocks"] is True
    assert "'in_que'" in finding.message


def test_a_loop_that_reaches_both_ping_pong_buffers_leaves_none_unused(kit):
    assert "UB011" not in kit.codes(analyze_trace(kit.run_device(ping_pong_loop(2))))
