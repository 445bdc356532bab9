"""Atomic copies into GM in the Python emulation (SetAtomicAdd / Max / Min /
None): every figure is worked out by hand below, from the element type's
rounding, not by the code under test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ubscope.analyzers import analyze_trace
from ubscope.probe.errors import EmulationError
from ubscope.probe.events import CoreKind, Flag
from ubscope.probe.kernel_api import (
    DataCopy,
    DataCopyExtParams,
    DataCopyPad,
    DataCopyParams,
    SetAtomicAdd,
    SetAtomicMax,
    SetAtomicMin,
    SetAtomicNone,
    UBBufPool,
)
from ubscope.probe.memory import fractal
from ubscope.probe.memory.cube import fixpipe
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TPipe, TQue
from ubscope.probe.trace import Trace, new_metadata


def copy_out(device, out, values_of_block, dtype, atomic_dtype=None, blocks=1, atomic=SetAtomicAdd):
    """Each block puts ``values_of_block(idx)`` in UB and DataCopies it to
    ``out`` under ``atomic`` in ``atomic_dtype`` (no atomic when it is None)."""

    def kernel(block):
        core = block.aiv
        values = np.asarray(values_of_block(block.idx), dtype=dtype)
        local = UBBufPool(core).allocate(values.size, dtype)
        local.array[...] = values
        if atomic_dtype is not None:
            atomic(core, atomic_dtype)
        DataCopy(out, local, values.size)

    device.launch("atomic", kernel, blocks)


def test_split_k_partial_sums_add_in_block_order(device):
    """Four blocks add 1, 2, 3 and 4 to GM's 10 (GM is not cleared): 20. A
    float32 of 2^24 does not grow by adding 1.0 four times, once per copy:
    2^24 + 1 is a tie between 2^24 and 2^24 + 2 and rounds to the even 2^24
    each time (a sum taken in float64 first would give 2^24 + 4)."""
    out = device.gm.tensor("out", np.array([10.0] * 8 + [2.0**24] * 8, dtype=np.float32))
    copy_out(device, out, lambda idx: [idx + 1.0] * 8 + [1.0] * 8, np.float32, np.float32, 4)
    assert out.numpy().tolist() == [20.0] * 8 + [2.0**24] * 8


def test_half_adds_in_float_and_rounds_once_to_half(device):
    """Half has 11 significant bits: between 2048 and 4096 it steps by 2.
    2048 + 1 = 2049 ties 2048 and 2050 and rounds to the even significand,
    2048; 2048 + 3 = 2051 ties 2050 and 2052 and rounds to 2052; 0.5 + 0.25
    is exact."""
    held = [2048.0] * 8 + [2048.0] * 4 + [0.5] * 4
    out = device.gm.tensor("out", np.array(held, dtype=np.float16))
    copy_out(device, out, lambda idx: [1.0] * 8 + [3.0] * 4 + [0.25] * 4, np.float16, np.float16)
    assert out.numpy().tolist() == [2048.0] * 8 + [2052.0] * 4 + [0.75] * 4


def test_int32_wraps_and_max_min_take_nan(device):
    """int32: 2^31 - 1 + 1 wraps to -2^31. Max and min keep GM's NaN and take
    the copy's; otherwise the larger (smaller) element."""
    ints = device.gm.tensor("ints", np.array([2**31 - 1] * 8, dtype=np.int32))
    copy_out(device, ints, lambda idx: [1] * 8, np.int32, np.int32)
    assert ints.numpy().tolist() == [-(2**31)] * 8

    held = [1.0, np.nan, 5.0, -1.0] * 2
    incoming = [3.0, 2.0, np.nan, -2.0] * 2
    for name, atomic, expected in (
        ("max", SetAtomicMax, [3.0, None, None, -1.0]),
        ("min", SetAtomicMin, [1.0, None, None, -2.0]),
    ):
        out = device.gm.tensor(name, np.array(held, dtype=np.float32))
        copy_out(device, out, lambda idx: incoming, np.float32, np.float32, atomic=atomic)
        got = [None if np.isnan(value) else value for value in out.numpy().tolist()]
        assert got == expected * 2


def test_none_overwrites_again_and_every_launch_starts_without(device):
    out = device.gm.tensor("out", np.full(8, 5.0, dtype=np.float32))

    def kernel(block):
        core = block.aiv
        local = UBBufPool(core).allocate(8, np.float32)
        local.array[...] = 1.0
        SetAtomicAdd(core, np.float32)
        DataCopy(out, local, 8)  # 5 + 1 = 6
        SetAtomicNone(core)
        DataCopy(out, local, 8)  # 1

    device.launch("atomic", kernel, 1)
    assert out.numpy().tolist() == [1.0] * 8
    SetAtomicAdd(device.core(CoreKind.AIV, 0), np.float32)  # left set before the next launch
    copy_out(device, out, lambda idx: [2.0] * 8, np.float32)  # no mode set inside
    assert out.numpy().tolist() == [2.0] * 8


def test_a_burst_of_part_elements_or_an_unknown_type_stops_the_run(device):
    out = device.gm.tensor("out", np.zeros(8, dtype=np.float32))

    def kernel(block):
        core = block.aiv
        local = UBBufPool(core).allocate(16, np.uint8)
        SetAtomicAdd(core, np.float32)
        DataCopyPad(out, local, DataCopyExtParams(1, 6, 0, 0))  # 6 B: one and a half floats

    with pytest.raises(EmulationError, match="a burst of 6 B is not whole 4-byte elements"):
        device.launch("atomic", kernel, 1)
    with pytest.raises(EmulationError, match="atomic add in float64"):
        SetAtomicAdd(device.core(CoreKind.AIV, 0), np.float64)


def test_an_element_past_the_gm_buffer_is_dropped(device):
    """A 32 B copy from element 6 of an 8-float tensor: elements 6 and 7 add,
    the six past the buffer's end are dropped."""
    out = device.gm.tensor("out", np.ones(8, dtype=np.float32))

    def kernel(block):
        core = block.aiv
        local = UBBufPool(core).allocate(8, np.float32)
        local.array[...] = 2.0
        SetAtomicAdd(core, np.float32)
        DataCopy(out[6:], local, 8)

    device.launch("atomic", kernel, 1)
    assert out.numpy().tolist() == [1.0] * 6 + [3.0, 3.0]


def fixpipe_added(device, out, row_stride, times):
    """An AIC fixpipes an L0C tile of 16 x 16 accumulators all 1.5 (any NZ
    layout holds them alike) ``times`` times into ``out`` under SetAtomicAdd
    (float32), its GM rows ``row_stride`` floats apart."""

    def kernel(block):
        core = block.aic
        pipe, c1 = TPipe(core), TQue(TPosition.CO1, name="c1")
        pipe.init_buffer(c1, 1, fractal.l0c_bytes(16, 16))
        tile = c1.alloc_tensor(np.float32)
        tile.array[...] = 1.5
        SetAtomicAdd(core, np.float32)
        for _ in range(times):
            fixpipe(out, tile, 16, 16, row_stride)

    device.launch("atomic", kernel, 1, mode="cube")


def test_fixpipe_adds_its_tile_to_gm(device):
    """A tile of 1.5 fixpiped twice into a float32 GM tile of ones under
    SetAtomicAdd: 1 + 1.5 + 1.5 = 4."""
    out = device.gm.tensor("out", np.ones((16, 16), dtype=np.float32))
    fixpipe_added(device, out, row_stride=16, times=2)
    assert out.numpy().tolist() == [[4.0] * 16] * 16


def test_strided_rows_add_in_one_pass_and_leave_the_gaps(device):
    """Four blocks each copy 512 rows of 8 floats (one 32 B block a row) to GM
    rows 64 B apart (dst_stride 1: a 32 B gap) under SetAtomicAdd: every
    copied float of GM's -1 becomes -1 + 1 + 2 + 3 + 4 = 9, every gap float
    stays -1. (The rows lie inside GM and share no byte: the combine takes
    them all at once.)"""
    rows = 512
    out = device.gm.tensor("out", np.full(rows * 16, -1.0, dtype=np.float32))

    def kernel(block):
        core = block.aiv
        local = UBBufPool(core).allocate(rows * 8, np.float32)
        local.array[...] = block.idx + 1.0
        SetAtomicAdd(core, np.float32)
        DataCopy(out, local, params=DataCopyParams(rows, 1, 0, 1))

    device.launch("atomic", kernel, 4)
    expected = np.tile(np.repeat(np.float32([9.0, -1.0]), 8), rows)
    np.testing.assert_array_equal(out.numpy(), expected)


def test_fixpipe_rows_that_overlap_add_twice(device):
    """A 16 x 16 tile of 1.5 fixpiped with rows 8 floats apart under
    SetAtomicAdd: row r covers floats 8r .. 8r + 15, so floats 0-7 and 128-135
    are covered by one row (1.5) and floats 8-127 by two (3.0); the rest of
    GM's zeros stay."""
    out = device.gm.tensor("out", np.zeros(144, dtype=np.float32))
    fixpipe_added(device, out, row_stride=8, times=1)
    assert out.numpy().tolist() == [1.5] * 8 + [3.0] * 120 + [1.5] * 8 + [0.0] * 8


def test_fixpipe_moves_one_element_per_burst(device):
    """Each Fixpipe element is a burst of its own: into a half tensor (2 B an
    element) under a float atomic (4 B) every burst is half an element, though
    a row of 16 halves is whole floats."""
    out = device.gm.tensor("out", np.ones((16, 16), dtype=np.float16))

    def kernel(block):
        core = block.aic
        pipe, c1 = TPipe(core), TQue(TPosition.CO1, name="c1")
        pipe.init_buffer(c1, 1, fractal.l0c_bytes(16, 16))
        SetAtomicAdd(core, np.float32)
        fixpipe(out, c1.alloc_tensor(np.float32), 16, 16, 16)

    with pytest.raises(
        EmulationError, match="fixpipe to 'out'.*a burst of 2 B is not whole 4-byte"
    ):
        device.launch("atomic", kernel, 1, mode="cube")


def test_atomic_copies_are_flagged_and_their_gm_reads_counted(device, recorder, chip):
    """Four blocks each add 8 floats (32 B) into GM from UB filled on chip:
    128 B written, and GM reads the 128 B they add to, the kernel's only reads."""
    out = device.gm.tensor("out", np.zeros(8, dtype=np.float32))
    copy_out(device, out, lambda idx: [1.0] * 8, np.float32, np.float32, 4)
    events = recorder.table().to_pandas()
    copies = events[events.kind == "copy"]
    assert len(copies) == 4 and all(flags & int(Flag.ATOMIC) for flags in copies["flags"])
    meta = new_metadata(chip.to_dict(), "atomic", {}, {})
    metrics = analyze_trace(Trace(path=Path("t.ubtrace"), meta=meta, events=events)).metrics
    assert (metrics["gm"]["read_bytes"], metrics["gm"]["write_bytes"]) == (128, 128)
