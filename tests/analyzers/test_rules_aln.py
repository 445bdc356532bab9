"""Alignment rules (ALN001-ALN004) on kernels run on the emulated device."""

from __future__ import annotations

import numpy as np
import pytest

from ubscope.analyzers.api import analyze_trace
from ubscope.probe.chip import load_chip
from ubscope.probe.events import Flag
from ubscope.probe.memory import vector
from ubscope.probe.memory.datacopy import CopyParams, data_copy
from ubscope.probe.memory.pools import UBBufPool
from ubscope.probe.units import format_time_ps

KIB = 1024


def truncated_loads(copies: int, elements: int):
    """A kernel body: ``copies`` DataCopy calls of ``elements`` fp16 each at one call site."""

    def body(block):
        core = block.aiv
        pool = UBBufPool(core)
        src = block.device.gm.tensor("src", np.arange(copies * elements + 64, dtype=np.float16))
        with core.site("load_tail"):
            tile = pool.allocate(64, np.float16)
            for index in range(copies):
                data_copy(tile, src[index * elements :], elements)
        pool.reset()

    return body


def test_truncated_datacopy_loses_a_known_number_of_bytes(kit):
    analysis = analyze_trace(kit.run_device(truncated_loads(3, 50)))  # 100 B asked, 96 B moved
    finding = kit.only(analysis, "ALN002")
    assert finding.evidence["bytes_lost"] == 12  # 3 copies x (100 - 96)
    assert finding.evidence["events"] == 3
    assert finding.location.tag == "load_tail"
    mask = analysis.context.events_for(finding)
    assert int(mask.sum()) == 3
    assert (analysis.context.events.loc[mask, "flags"] & int(Flag.TRUNCATED)).all()
    # 12 B of 300 B: figures in bytes are exact already and said once each.
    assert "dropped 12 B of 300 B requested" in " ".join(finding.message.split())


def test_a_rounded_loss_also_gives_the_exact_byte_count(kit):
    # 40 copies of 124 B, 96 B moved: 1120 B lost (1.09 KiB) of 4960 B (4.84 KiB).
    finding = kit.only(analyze_trace(kit.run_device(truncated_loads(40, 62))), "ALN002")
    assert finding.evidence["bytes_lost"] == 1120
    message = " ".join(finding.message.split())
    assert "dropped 1.1 KiB (1120 B) of 4.8 KiB requested" in message


def test_misaligned_operand_is_an_error_grouped_by_call_site(kit):
    def body(block):
        core = block.aiv
        pool = UBBufPool(core)
        a = pool.allocate(64, np.float16)
        with core.site("odd_offset"):
            for _ in range(4):
                vector.adds(a[3:35], a[3:35], 1.0, 32)  # 6 B off a 32 B boundary

    finding = kit.only(analyze_trace(kit.run_device(body)), "ALN001")
    assert finding.evidence["events"] == 4 and finding.location.tag == "odd_offset"
    assert str(finding.severity) == "error"


def small_loads(block):
    """Sixteen 2 KiB loads, one after another, on one core: 32 KiB in all."""
    core = block.aiv
    src = block.device.gm.tensor("src", np.zeros(16 * 1024, dtype=np.float16))
    tile = UBBufPool(core).allocate(1024, np.float16)
    with core.site("load_rows"):
        for i in range(16):
            data_copy(tile, src[i * 1024 :], 1024)


def test_small_copies_warn_with_the_pipe_time_merging_saves(kit):
    # 910B2: a GM copy holds MTE2 for 74 ns of issue plus its bytes at the one
    # core's rate, min(1.6 TB/s, 64 B/cycle x 1.8 GHz) = 115.2 GB/s. Merged into
    # 16 KiB copies, each 2 KiB load pays 2/16 of one issue: it saves
    # 74 ns x 14/16 = 64.75 ns, 1036 ns for the sixteen; the first merged copy
    # takes 14 KiB longer to land before anything can use it (124.4 ns), so
    # the kernel saves 1036 - 124.4 = 911.6 ns.
    chip = load_chip()
    rate = min(chip.gm_bandwidth, chip.gm_rate_per_core * chip.clock_hz)
    issue_ps = chip.gm_issue_ns * 1000
    expected_ps = 16 * issue_ps * (1 - 2048 / 16384) - (16384 - 2048) / rate * 1e12
    analysis = analyze_trace(kit.run_device(small_loads))
    finding = kit.only(analysis, "ALN004")
    assert finding.evidence["saved_ps"] == pytest.approx(expected_ps, abs=2)
    assert str(finding.severity) == "warning"
    assert (
        finding.estimated_gain
        == f"~{format_time_ps(finding.evidence['saved_ps'])} of MTE pipe time"
    )
    assert "74.0 ns of MTE pipe time per copy" in finding.message
    assert finding.location.tag == "load_rows" and finding.evidence["events"] == 16


def test_a_saving_below_the_gain_share_is_info(kit):
    trace = kit.run_device(small_loads)
    finding = kit.only(
        kit.analyze(trace, thresholds={"ALN004": {"min_gain_share": 0.99}}), "ALN004"
    )
    assert str(finding.severity) == "info"


def test_strided_copies_of_full_size_cost_what_contiguous_ones_cost(kit):
    # 64 rows of 512 B, 1 KiB apart in GM: 32 KiB per copy, every burst whole
    # 32 B blocks. One issue per 32 KiB and no rounding: merging saves nothing.
    def body(block):
        core = block.aiv
        src = block.device.gm.tensor("src", np.zeros(64 * 512, dtype=np.float16))
        tile = UBBufPool(core).allocate(64 * 256, np.float16)
        with core.site("load_strided"):
            for _ in range(8):
                data_copy(tile, src, params=CopyParams(64, 16, src_stride=16))

    assert "ALN004" not in kit.codes(analyze_trace(kit.run_device(body)))
