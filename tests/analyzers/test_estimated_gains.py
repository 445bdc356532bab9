"""Estimated gains are savings on the kernel's critical path: cores run side by
side, so a gain is what the busiest core would save, and never more than the
kernel's modelled time. Messages read as amounts, not addresses."""

from __future__ import annotations

from ubscope.probe.events import CoreKind, Flag, Space

US = 1_000_000  # picoseconds


def small_bursts(kit, cores: int, per_core: int, size: int):
    """``per_core`` 512 B loads on each of ``cores`` aiv cores, one call site."""
    s = kit.Synthetic()
    for core in range(cores):
        for i in range(per_core):
            s.load(0x100000 * core + 4096 * i, 0, size, core=core, t=1000 * i)
    return s


def test_small_burst_gain_is_one_cores_saving_not_the_sum_over_cores(kit):
    # 910B2: 600 ns per GM transfer, 16 KiB efficient burst. Merging one core's
    # ten 512 B loads into full bursts saves each load 1 - 512/16384 = 31/32 of a
    # latency: 10 * 600 ns * 31/32 = 5812.5 ns. The four cores run side by side,
    # so the kernel gets 5.81 µs faster, not 4x that (the sum, 23.25 µs).
    s = small_bursts(kit, cores=4, per_core=10, size=512)
    finding = kit.only(kit.analyze(s.trace(end_ps=100 * US)), "ALN004")
    assert finding.estimated_gain == "~5.81 µs of modelled transfer latency"


def test_a_gain_is_never_more_than_the_modelled_time(kit):
    # The same loads in a kernel modelled at 1 µs: the saving (5.81 µs by the
    # figures above) cannot exceed the 1 µs the kernel takes.
    s = small_bursts(kit, cores=4, per_core=10, size=512)
    finding = kit.only(kit.analyze(s.trace(end_ps=1 * US)), "ALN004")
    assert finding.estimated_gain == "~1.00 µs of modelled transfer latency"


def test_misaligned_gm_gain_counts_the_busiest_core(kit):
    # Each load is recorded with a 1000 ns duration: 600 ns latency + 400 ns of
    # transfer at 70 % bandwidth, of which 30 % (120 ns) is lost to misalignment.
    # Core 0 has 3 misaligned loads (360 ns), core 1 has 1 (120 ns): 360 ns.
    s = kit.Synthetic()
    for core, count in ((0, 3), (1, 1)):
        for i in range(count):
            s.rec.copy(
                CoreKind.AIV,
                core,
                Space.GM,
                0x100000 * core + 4096 * i + 64,
                Space.UB,
                0,
                1024,
                1024,
                1024,
                1,
                "x",
                "load",
                1000 * i,
                1000 * 1000,
                Flag.GM_UNALIGNED,
            )
    finding = kit.only(kit.analyze(s.trace(end_ps=100 * US)), "ALN003")
    assert finding.estimated_gain == "~360.0 ns of modelled copy time"


def test_red_zone_message_reads_as_bytes_past_capacity(kit):
    s = kit.Synthetic()
    for _ in range(2):  # 4 KiB written at 190 KiB of a 192 KiB UB: 2 KiB past the end
        s.rec.redzone_write(1, 0, 2, 190 * kit.KIB, 4 * kit.KIB, 2 * kit.KIB, "spill", 0)
    finding = kit.only(kit.analyze(s.trace()), "UB002")
    assert finding.message.startswith(
        "4.0 KiB written past the 192.0 KiB UB capacity across 2 write"
    )
