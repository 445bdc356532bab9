"""Estimated gains are savings on the kernel's critical path: cores run side by
side, so a gain is what the busiest core would save, and never more than the
kernel's modelled time. Messages read as amounts, not addresses."""

from __future__ import annotations

import math

import pytest

from tests.helpers.tiled_queues import TILE, TILES, drained_tiles, scaled_tiles
from ubscope.probe.chip import load_chip
from ubscope.probe.events import CoreKind, Flag, Space
from ubscope.probe.units import format_time_ps

US = 1_000_000  # picoseconds


def misaligned_loads(kit, counts: dict[int, int]):
    """``counts[core]`` 1 KiB loads off the 512 B boundary on each aiv core, one
    call site, each recorded with a 1 µs pipe time."""
    s = kit.Synthetic()
    for core, count in counts.items():
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
                US,
                Flag.GM_UNALIGNED,
            )
    return s


def misaligned_cost_ps(chip) -> float:
    """What one of those loads loses to misalignment: the pipe time besides the
    issue moves its bytes at misaligned_gm_factor of the rate, so aligned they
    would take that share of it."""
    return (US - chip.gm_issue_ns * 1000) * (1 - chip.misaligned_gm_factor)


def test_misaligned_gm_gain_counts_the_busiest_core(kit):
    # Core 0 has 3 misaligned loads, core 1 has 1: the cores run side by side, so
    # aligning them saves what core 0 loses (3 loads), not the sum of both (4).
    s = misaligned_loads(kit, {0: 3, 1: 1})
    finding = kit.only(kit.analyze(s.trace(end_ps=100 * US)), "ALN003")
    saved = 3 * misaligned_cost_ps(s.chip)
    assert finding.estimated_gain == f"~{format_time_ps(saved)} of modelled copy time"


def test_a_gain_is_never_more_than_the_modelled_time(kit):
    # Ten such loads on each of four cores in a kernel modelled at 1 µs: one
    # core's saving (ten loads, several µs; the naive sum over cores is four
    # times that) cannot exceed the 1 µs the kernel takes.
    s = misaligned_loads(kit, dict.fromkeys(range(4), 10))
    assert 10 * misaligned_cost_ps(s.chip) > 1 * US
    finding = kit.only(kit.analyze(s.trace(end_ps=1 * US)), "ALN003")
    assert finding.estimated_gain == "~1.00 µs of modelled copy time"


def test_red_zone_message_reads_as_bytes_past_capacity(kit):
    s = kit.Synthetic()
    for _ in range(2):  # 4 KiB written at 190 KiB of a 192 KiB UB: 2 KiB past the end
        s.rec.redzone_write(1, 0, 2, 190 * kit.KIB, 4 * kit.KIB, 2 * kit.KIB, "spill", 0)
    finding = kit.only(kit.analyze(s.trace()), "UB002")
    assert finding.message.startswith(
        "4.0 KiB written past the 192.0 KiB UB capacity across 2 write"
    )


def stage_times_ps(chip) -> tuple[float, float, float]:
    """(copy, latency, one Muls) of one tile on one core, from the chip's figures:
    a copy occupies MTE2 for its issue time plus 4 KiB at the core's HBM rate (the
    chip's bandwidth, capped by one core's bytes per cycle), its data lands
    gm_copy_latency_ns later, and one Muls of 2048 fp16 takes 2048 / 128 lanes = 16
    cycles."""
    rate = min(chip.gm_bandwidth, chip.gm_rate_per_core * chip.clock_hz)
    copy = chip.gm_issue_ns * 1000 + TILE * 2 / rate * 1e12
    lanes = chip.vector_fp16_ops_per_cycle * 2 // 2
    return copy, chip.gm_latency_ns * 1000, TILE / lanes / chip.clock_hz * 1e12


def test_single_buffering_gain_is_what_the_model_saves_with_two_blocks(kit):
    # Each tile: copy d + latency L, then compute v >= d + L. One block serialises
    # them: TILES x (d + L + v). Two blocks copy every next tile while the current
    # one computes, so only the first copy shows: d + L + TILES x v. The saving,
    # (TILES - 1) x (d + L), is what UB013 states.
    d, latency, muls = stage_times_ps(load_chip())
    repeats = math.ceil(2 * (d + latency) / muls)  # a compute stage about twice the copy's
    v = repeats * muls
    single = kit.run_device(lambda block: scaled_tiles(block, 1, repeats))
    double = kit.run_device(lambda block: scaled_tiles(block, 2, repeats))
    single_ps, double_ps = (kit.context(t).modelled_time_ps for t in (single, double))
    overhead = single_ps - TILES * (d + latency + v)
    assert double_ps - overhead == pytest.approx(d + latency + TILES * v, abs=TILES)
    finding = kit.only(kit.analyze(single), "UB013")
    saved = (TILES - 1) * (d + latency)
    assert single_ps - double_ps == pytest.approx(saved, abs=TILES)
    assert finding.evidence["saved_ps"] == pytest.approx(saved, abs=TILES)
    assert str(finding.severity) == "warning"
    assert finding.estimated_gain == f"~{format_time_ps(saved)} if double-buffered (modelled)"
    assert "UB013" not in kit.codes(kit.analyze(double))


def test_single_buffering_is_judged_per_launch_and_launches_add_up(kit):
    # Five launches of the kernel above, one after another. Each launch has its
    # own block: its 8 copies, and the saving (TILES - 1) x (d + L) within it;
    # launches run one after another, so the gains add up to five times that.
    # (Blocks were once keyed by launch << 62, so launch 4 wrapped onto launch 0:
    # 16 copies through "one" block and a window spanning four launches.)
    d, latency, muls = stage_times_ps(load_chip())
    repeats = math.ceil(2 * (d + latency) / muls)
    single = kit.run_device(lambda block: scaled_tiles(block, 1, repeats), launches=5)
    finding = kit.only(kit.analyze(single), "UB013")
    assert finding.evidence["transfers"] == TILES
    assert finding.evidence["saved_ps"] == pytest.approx(
        5 * (TILES - 1) * (d + latency), abs=5 * TILES
    )


def test_a_copy_bound_queue_gains_at_most_half_an_iteration(kit):
    # One Muls a tile (v << d): the copy pipe is the bottleneck. Two blocks can
    # hide the latency and the compute behind the next copy, but each block
    # still cycles through its copy and its use (d + L + v per two tiles): the
    # modelled saving per iteration is at most half of it, and the rule's
    # estimate stays within the model's own difference.
    d, latency, muls = stage_times_ps(load_chip())
    single = kit.run_device(lambda block: scaled_tiles(block, 1, 1))
    double = kit.run_device(lambda block: scaled_tiles(block, 2, 1))
    modelled_saving = kit.context(single).modelled_time_ps - kit.context(double).modelled_time_ps
    stated = kit.only(kit.analyze(single), "UB013").evidence["saved_ps"]
    assert stated <= (TILES - 1) * (d + latency + muls) / 2 + TILES
    assert stated == pytest.approx(modelled_saving, rel=0.15)


@pytest.mark.parametrize("repeats", [1, 4, 16])
def test_single_buffered_copy_out_gain_is_what_the_model_saves(kit, repeats):
    # One VECOUT block: each tile's compute waits until the previous tile's
    # copy-out has drained the block, which UB013 sees as the next use of the
    # block starting the moment the drain ends. What it states is the
    # model's own difference with two blocks, whichever stage is longer.
    single = kit.run_device(lambda block: drained_tiles(block, 1, repeats))
    double = kit.run_device(lambda block: drained_tiles(block, 2, repeats))
    saved = kit.context(single).modelled_time_ps - kit.context(double).modelled_time_ps
    assert saved > 0
    stated = kit.only(kit.analyze(single), "UB013").evidence["saved_ps"]
    assert stated == pytest.approx(saved, rel=0.05)


def test_misaligned_copies_warn_only_when_aligning_saves_a_real_share(kit):
    # Three misaligned loads on one core save 3 x (1 µs - 74 ns) x 30 % = 0.83 µs
    # (misaligned_cost_ps). In a kernel modelled at 10 µs that is 8 % of its time,
    # above the 5 % min_gain_share: a warning. At 100 µs it is 0.8 %: info.
    s = misaligned_loads(kit, {0: 3})
    saved = 3 * misaligned_cost_ps(s.chip)
    assert 0.05 * 10 * US < saved < 0.05 * 100 * US
    short = kit.only(kit.analyze(s.trace(end_ps=10 * US)), "ALN003")
    long = kit.only(kit.analyze(s.trace(end_ps=100 * US)), "ALN003")
    assert (short.severity.name, long.severity.name) == ("WARNING", "INFO")
