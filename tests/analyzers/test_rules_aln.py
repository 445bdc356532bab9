"""Alignment rules (ALN001-ALN004) on kernels run on the emulated device."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers.api import analyze_trace
from ubscope.probe.events import Flag
from ubscope.probe.memory import vector
from ubscope.probe.memory.datacopy import data_copy
from ubscope.probe.memory.pools import UBBufPool

KIB = 1024


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

    analysis = analyze_trace(kit.run_device(body))
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

    finding = kit.only(analyze_trace(kit.run_device(body)), "ALN001")
    assert finding.evidence["events"] == 4 and finding.location.tag == "odd_offset"
    assert str(finding.severity) == "error"
