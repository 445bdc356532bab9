"""UB014 buffer-overrun: copies and computes that run past the end of the
buffer they start in, on kernels run on the emulated device and on synthetic
traces, in memory and streamed. Every figure is worked out by hand from the
buffers' placement (TPipe places InitBuffer blocks one after another from UB
address 0, each rounded up to 32 B)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers.ping_pong import ping_pong_loop
from tests.helpers.rebatch import rebatch_table
from tests.helpers.same_analysis import assert_same_analysis
from ubscope.analyzers.api import analyze_path
from ubscope.analyzers.streaming import analyze_streamed
from ubscope.analyzers.streaming import overruns as streamed_overruns
from ubscope.probe.memory import vector
from ubscope.probe.memory.datacopy import data_copy
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TBuf, TPipe, TQue

KIB = 1024


def overruns_of(analysis: Any) -> list:
    return [f for f in analysis.findings if f.code == "UB014"]


def muls_past_y(rounds: int):
    """Three buffers one after another: 'x_que' UB [0, 1 KiB), 'y_que' (128
    halves) [1 KiB, 1280), 'spare' [1280, 2304); ``rounds`` times Muls of 512
    halves into y, at call site 'scale'."""

    def body(block: Any) -> None:
        core = block.aiv
        pipe = TPipe(core)
        x_que = TQue(TPosition.VECIN, name="x_que")
        y_que = TQue(TPosition.VECOUT, name="y_que")
        pipe.init_buffer(x_que, 1, KIB)
        pipe.init_buffer(y_que, 1, 128 * 2)
        pipe.init_buffer(TBuf(name="spare"), 1, KIB)
        x, y = x_que.alloc_tensor(np.float16), y_que.alloc_tensor(np.float16)
        with core.site("scale"):
            for _ in range(rounds):
                vector.muls(y, x, 2.0, 512)

    return body


def test_a_vector_op_past_its_queue_buffer_is_one_finding_per_call_site(kit):
    (finding,) = overruns_of(kit.analyze(kit.run_device(muls_past_y(3))))
    # 512 halves = 1024 B written from 1024: [1024, 2048); y ends at 1024 + 256
    # = 1280, so 2048 - 1280 = 768 B land in 'spare', three times: 2304 B
    assert str(finding.severity) == "error"
    assert finding.evidence["events"] == 3
    assert finding.evidence["bytes_past_buffer_end"] == 3 * 768
    assert finding.evidence["first_bytes_past_end"] == 768
    assert finding.evidence["first_buffer"] == "y_que"
    assert finding.evidence["first_into"] == "spare"
    assert finding.evidence["first_op"] == "Muls"
    location = finding.location
    assert (location.space, location.addr_start, location.addr_end) == ("UB", 1280, 2048)
    assert location.tag == "scale"
    assert "768 B past the end of 'y_que' (256 B) into 'spare'" in finding.message


def test_a_copy_past_one_ping_pong_block_lands_in_the_other(kit):
    def body(block: Any) -> None:
        core = block.aiv
        src = block.device.gm.tensor("src", np.zeros(KIB, dtype=np.float16))
        pipe = TPipe(core)
        que = TQue(TPosition.VECIN, name="in_que")
        pipe.init_buffer(que, 2, KIB)  # blocks [0, 1 KiB) and [1 KiB, 2 KiB)
        with core.site("copyin"):
            data_copy(que.alloc_tensor(np.float16), src, KIB)

    (finding,) = overruns_of(kit.analyze(kit.run_device(body)))
    # 1024 halves = 2 KiB from 0: the second KiB is the queue's other block
    assert finding.evidence["first_op"] == "DataCopy"
    assert finding.evidence["bytes_past_buffer_end"] == KIB
    assert finding.evidence["first_into"] == "in_que"
    assert (finding.location.addr_start, finding.location.addr_end) == (KIB, 2 * KIB)


def test_only_the_bytes_short_of_the_capacity_count(kit):
    s = kit.Synthetic()
    capacity = s.chip.capacity["UB"]
    s.alloc(capacity - KIB, 512, "low")  # [cap - 1 KiB, cap - 512)
    s.alloc(capacity - 512, 512, "top")  # [cap - 512, cap)
    s.load(0x1000, capacity - KIB, 2 * KIB, tag="long")  # ends 1 KiB past capacity
    s.load(0x2000, capacity - 512, KIB, tag="into_red_zone")  # 'top' ends at the capacity
    (finding,) = overruns_of(kit.analyze(s.trace()))
    # the long copy's bytes past 'low' up to the capacity: [cap - 512, cap), 512 B;
    # the 1 KiB past the capacity are UB002's, and so is all of the second copy's
    assert finding.location.tag == "long"
    assert finding.evidence["bytes_past_buffer_end"] == 512
    assert (finding.location.addr_start, finding.location.addr_end) == (capacity - 512, capacity)
    assert finding.evidence["first_into"] == "top"


def test_writes_that_start_in_no_live_block_are_not_judged(kit):
    s = kit.Synthetic()
    s.alloc(0, KIB, "gone")
    s.free(0, KIB, "gone")
    s.alloc(8 * KIB, KIB, "other")
    s.load(0x1000, 0, 4 * KIB)  # in the freed block: [0, 4 KiB)
    s.load(0x2000, 7 * KIB, 2 * KIB)  # before 'other', into it: [7 KiB, 9 KiB)
    assert overruns_of(kit.analyze(s.trace())) == []


def test_a_block_inside_a_live_block_is_judged_by_the_enclosing_end(kit):
    s = kit.Synthetic()
    s.alloc(0, 8 * KIB, "outer")
    s.alloc(KIB, KIB, "inner")  # inside 'outer' (UB004's)
    s.load(0x1000, KIB, 4 * KIB, tag="inside")  # [1 KiB, 5 KiB): within 'outer'
    s.load(0x2000, KIB, 10 * KIB, tag="past")  # [1 KiB, 11 KiB): 3 KiB past 'outer'
    (finding,) = overruns_of(kit.analyze(s.trace()))
    assert finding.location.tag == "past"
    assert finding.evidence["first_buffer"] == "outer"
    assert finding.evidence["bytes_past_buffer_end"] == 3 * KIB
    assert finding.evidence["first_into"] is None
    assert "into memory no live buffer holds" in finding.message


def healthy_body(block: Any) -> None:
    """Buffers side by side, each written exactly to its end: a double-buffered
    queue filled four times, a TBuf of 1 KiB whose second half (a slice from
    element 256 of 512 halves) a Muls of 256 halves fills, and a Duplicate of
    the whole TBuf."""
    ping_pong_loop(4)(block)
    core = block.aiv
    pipe = TPipe(core)
    tbuf = TBuf(name="work")
    pipe.init_buffer(tbuf, 1, KIB)
    whole = tbuf.get(np.float16)
    vector.duplicate(whole, 1.0, 512)  # [start, start + 1 KiB): exactly the buffer
    vector.muls(whole[256:512], whole[0:256], 2.0, 256)  # the second half, to the end


def test_buffers_written_exactly_to_their_end_are_not_flagged(kit):
    assert overruns_of(kit.analyze(kit.run_device(healthy_body, block_dim=2))) == []


@pytest.mark.parametrize("label", ["healthy_tpipe", "healthy_bump", "healthy_freelist"])
def test_healthy_pool_demo_runs_are_not_flagged(kit, pool_demo_traces, label):
    assert overruns_of(analyze_path(pool_demo_traces(label))) == []


def _write(table: Any, meta: dict, tmp_path: Path, rows: int) -> Path:
    return rebatch_table(table, meta, tmp_path / f"overrun_{rows}.ubtrace", rows)


@pytest.mark.parametrize("rows", [1, 2, 7, 1000])
def test_streamed_overruns_equal_the_in_memory_ones(kit, tmp_path, rows):
    def body(block: Any) -> None:
        muls_past_y(2)(block)
        healthy_body(block)

    table, meta = kit.device_events(body, block_dim=2)
    path = _write(table, meta, tmp_path, rows)
    assert_same_analysis(path)
    (finding,) = overruns_of(analyze_streamed(path))
    # two cores, two rounds each: 4 x 768 B
    assert finding.evidence["bytes_past_buffer_end"] == 4 * 768
    assert finding.evidence["first_into"] == "spare"


def test_streamed_overruns_past_the_limit_are_said(kit, tmp_path, monkeypatch):
    monkeypatch.setattr(streamed_overruns, "KEPT_LIMIT", 4)  # a quarter: one overrun
    table, meta = kit.device_events(muls_past_y(3))
    streamed = analyze_streamed(_write(table, meta, tmp_path, 1))
    (finding,) = overruns_of(streamed)
    assert finding.evidence["events"] == 1
    assert any("more than 1 writes past the end of their buffer" in n for n in streamed.warnings)
