"""A vector op's second and third source operands are uses of their buffers:
a scale tile that is only ever every Mul's second operand (or a Select's third)
is not UB010 "freed too late" when it is freed right after the last op, and
still is when it is kept long after, in memory and streamed. (The emulated
device frees a TPipe block when its last reader ends, so the "kept" case is
recorded by hand.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers.rebatch import rebatch_table
from tests.helpers.same_analysis import assert_same_analysis
from ubscope.analyzers.api import analyze_path
from ubscope.probe.events import CoreKind, Space
from ubscope.probe.memory import vector
from ubscope.probe.memory.datacopy import data_copy
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TPipe, TQue

HALVES = 512  # 1 KiB tiles
KIB = 1024
ROUNDS = 64


def scaled_rows(block: Any) -> None:
    """'scale' loaded once, then ROUNDS tiles of x each multiplied by it (scale
    as Mul's second operand, its only use after the load) and written back."""
    core = block.aiv
    gm = block.device.gm
    x_gm = gm.tensor("x", np.ones(HALVES, dtype=np.float16))
    y_gm = gm.tensor("y", np.zeros(HALVES, dtype=np.float16))
    scale_gm = gm.tensor("scale_gm", np.full(HALVES, 2.0, dtype=np.float16))
    pipe = TPipe(core)
    scale_que = TQue(TPosition.VECIN, name="scale")
    x_que = TQue(TPosition.VECIN, name="x_tile")
    y_que = TQue(TPosition.VECOUT, name="y_tile")
    for que in (scale_que, x_que, y_que):
        pipe.init_buffer(que, 1, HALVES * 2)
    scale = scale_que.alloc_tensor(np.float16)
    data_copy(scale, scale_gm, HALVES)
    for _ in range(ROUNDS):
        x = x_que.alloc_tensor(np.float16)
        data_copy(x, x_gm, HALVES)
        y = y_que.alloc_tensor(np.float16)
        vector.mul(y, x, scale, HALVES)
        data_copy(y_gm, y, HALVES)
        x_que.free_tensor(x)
        y_que.free_tensor(y)
    scale_que.free_tensor(scale)


def _late_frees(path: Path) -> list:
    return [f for f in analyze_path(path).findings if f.code == "UB010"]


def test_a_scale_used_as_every_muls_second_operand_is_not_freed_late(kit, tmp_path):
    table, meta = kit.device_events(scaled_rows)
    path = rebatch_table(table, meta, tmp_path / "scaled.ubtrace", 100)
    assert_same_analysis(path)
    assert [f.message for f in _late_frees(path)] == []


US = 1_000_000  # ps


def one_op(kit: Any, tmp_path: Path, scale_freed_ps: int, scale_third: bool = False) -> Path:
    """Recorded by hand: 'scale' UB [0, 1 KiB) loaded over [0, 1 ns), x_tile
    [1, 2 KiB) over [1, 2 ns), then at 2 µs an op of 1 ns into y_tile [2, 3 KiB)
    reading x_tile first and scale second (a Mul) or, with ``scale_third``,
    x_tile first and second and scale third (a Select whose mask is x_tile);
    scale freed at ``scale_freed_ps``."""
    s = kit.Synthetic()
    for addr, name in ((0, "scale"), (KIB, "x_tile"), (2 * KIB, "y_tile")):
        s.alloc(addr, KIB, name=name)
    s.load(0, 0, KIB, tensor="scale_gm", dur=1000)
    s.load(8 * KIB, KIB, KIB, tensor="x", t=1000, dur=1000)
    later = {"second_src_addr": KIB, "third_src_addr": 0} if scale_third else {"second_src_addr": 0}
    s.rec.compute(
        int(CoreKind.AIV), 0, int(Space.UB), 2 * KIB, 3 * KIB, "Select" if scale_third else "Mul",
        512, "scale_rows", 2 * US, 1000, 0, KIB, int(Space.UB), KIB, **later,
    )  # fmt: skip
    s.free(KIB, KIB, name="x_tile", t=2 * US + 1000)
    s.free(2 * KIB, KIB, name="y_tile", t=2 * US + 1000)
    s.free(0, KIB, name="scale", t=scale_freed_ps)
    trace = s.trace(end_ps=scale_freed_ps)
    return rebatch_table(s.rec.table(), trace.meta, tmp_path / "one_op.ubtrace", 2)


@pytest.mark.parametrize("scale_third", [False, True], ids=["second", "third"])
def test_freed_when_its_op_ends_is_not_late(kit, tmp_path, scale_third):
    # without that source, scale's last use would be its load, ending at 1 ns:
    # 2.001 µs - 1 ns = 2 µs idle of a 2.001 µs life (over 1 µs and 75 %)
    path = one_op(kit, tmp_path, scale_freed_ps=2 * US + 1000, scale_third=scale_third)
    assert_same_analysis(path)
    assert _late_frees(path) == []


@pytest.mark.parametrize("scale_third", [False, True], ids=["second", "third"])
def test_kept_long_after_its_op_is_late_from_the_ops_end(kit, tmp_path, scale_third):
    path = one_op(kit, tmp_path, scale_freed_ps=12 * US + 1000, scale_third=scale_third)
    assert_same_analysis(path)
    (late,) = _late_frees(path)
    assert "'scale'" in late.message
    # idle from the Mul's end: 12.001 µs - 2.001 µs = 10 µs of a 12.001 µs life
    assert late.evidence["mean_idle_ps"] == 10 * US
    assert late.evidence["idle_share"] == round(10 / 12.001, 3)


def test_the_event_names_both_sources(kit):
    trace = kit.run_device(scaled_rows)
    mul = trace.events[trace.events["name"] == "Mul"].iloc[0]
    # InitBuffer places 1 KiB blocks one after another from UB 0: scale 0,
    # x_tile 1024, y_tile 2048. Mul(y, x, scale): x first, scale second.
    assert (mul["space"], mul["addr"]) == ("UB", 2048)
    assert (mul["src_space"], mul["src_addr"], mul["arg2"]) == ("UB", 1024, 0)
    assert mul["flags"] & 65536  # SECOND_SOURCE (docs/trace-format.md)
