"""ALN005: DataCopy / DataCopyPad parameters outside the device's ranges are
errors naming the parameters, per call site; calls at the limits are quiet."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers.api import analyze_trace
from ubscope.probe.memory.datacopy import (
    CopyExtParams,
    CopyParams,
    PadParams,
    data_copy,
    data_copy_pad,
)
from ubscope.probe.memory.pools import UBBufPool


def _copies(block, block_count: int, right: int) -> None:
    """One DataCopy of ``block_count`` 32 B blocks and two DataCopyPad calls of one
    32 B row with ``right`` fp16 elements of right padding, at two call sites."""
    core = block.aiv
    x = block.device.gm.tensor("x", np.zeros(4096 * 16, dtype=np.float16))
    pool = UBBufPool(core)
    tile = pool.allocate(4096 * 16, np.float16)
    with core.site("load_rows"):
        data_copy(tile, x, params=CopyParams(block_count, 1))
    with core.site("load_padded"):
        for _ in range(2):
            data_copy_pad(tile, x, CopyExtParams(1, 32), PadParams(right=right))
    pool.reset()


def test_parameters_one_past_their_limits_are_errors_per_call_site(kit):
    analysis = analyze_trace(kit.run_device(lambda block: _copies(block, 4096, 17)))
    found = {f.location.tag: f for f in analysis.findings if f.code == "ALN005"}
    assert set(found) == {"load_rows", "load_padded"}
    rows, padded = found["load_rows"], found["load_padded"]
    assert str(rows.severity) == "error"
    assert rows.evidence["parameters"] == {"blockCount": 1}
    assert "1 DataCopy call(s)" in rows.message and "blockCount (1x)" in rows.message
    assert padded.evidence["parameters"] == {"rightPadding": 2}
    assert padded.evidence["events"] == 2 and "DataCopyPad" in padded.message


def test_parameters_at_their_limits_are_quiet(kit):
    analysis = analyze_trace(kit.run_device(lambda block: _copies(block, 4095, 16)))
    assert "ALN005" not in kit.codes(analysis)
