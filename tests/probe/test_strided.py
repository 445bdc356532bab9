"""Strided byte views (probe.memory.strided), the copies' bulk path, checked
against plain numpy slicing, and the copies that must not take it."""

from __future__ import annotations

import numpy as np

from ubscope.probe.events import Flag
from ubscope.probe.memory.datacopy import CopyParams, data_copy
from ubscope.probe.memory.pools import UBBufPool
from ubscope.probe.memory.strided import read_view, row_views, write_view


def test_read_view_is_the_rows_numpy_slicing_gives():
    data = np.arange(200, dtype=np.uint8)
    view = read_view(data, 7, (4, 5), (30, 1))
    assert view is not None and not view.flags.writeable
    expected = np.stack([data[7 + 30 * r : 7 + 30 * r + 5] for r in range(4)])
    np.testing.assert_array_equal(view, expected)


def test_views_reaching_outside_the_array_are_refused():
    data = np.zeros(100, np.uint8)
    # last byte 10 + 3 * 30 + 4 = 104 > 99
    assert read_view(data, 10, (4, 5), (30, 1)) is None
    # a negative stride reaching below byte 0: 20 - 3 * 8 = -4
    assert read_view(data, 20, (4, 2), (-8, 1)) is None
    assert read_view(data, 0, (0, 5), (30, 1)) is None  # nothing to view
    # the last byte, 4 + 3 * 30 + 4 = 98, is inside
    assert read_view(data, 4, (4, 5), (30, 1)) is not None


def test_write_view_writes_the_bytes_slicing_names_and_no_others():
    data = np.zeros(64, np.uint8)
    # 3 fractal-like blocks of 4 bytes, 12 apart, from byte 5
    view = write_view(data, 5, (3, 4), (12, 1))
    assert view is not None
    view[...] = np.arange(1, 13, dtype=np.uint8).reshape(3, 4)
    expected = np.zeros(64, np.uint8)
    for block in range(3):
        expected[5 + 12 * block : 9 + 12 * block] = np.arange(1, 5) + 4 * block
    np.testing.assert_array_equal(data, expected)


def test_write_view_refuses_a_lattice_whose_elements_share_bytes():
    data = np.zeros(256, np.uint8)
    assert write_view(data, 0, (3, 8), (4, 1)) is None  # rows 8 wide, 4 apart
    # 4-D: blocks 16 apart but each row of 2 blocks spans 32 bytes, rows 24 apart
    assert write_view(data, 0, (2, 2, 16), (24, 16, 1)) is None
    # the same with rows 32 apart tiles the bytes exactly once
    assert write_view(data, 0, (2, 2, 16), (32, 16, 1)) is not None
    # a read may repeat bytes (a broadcast row): stride 0
    assert read_view(data, 0, (3, 8), (0, 1)) is not None


def test_row_views_pair_rows_of_two_arrays():
    src = np.arange(100, dtype=np.uint8)
    dst = np.zeros(60, np.uint8)
    views = row_views(dst, 2, 20, src, 10, 32, 3, 6)
    assert views is not None
    target, source = views
    target[...] = source
    for r in range(3):  # row r: src[10 + 32 r : +6] -> dst[2 + 20 r : +6]
        np.testing.assert_array_equal(dst[2 + 20 * r : 8 + 20 * r], src[10 + 32 * r : 16 + 32 * r])
    assert row_views(dst, 2, 4, src, 10, 32, 3, 6) is None  # destination rows overlap


def test_data_copy_with_overlapping_rows_lets_the_later_row_win(device, recorder):
    # dstStride -1 (outside its range, performed as written): 64 B rows on a
    # 32 B pitch. Row 0 (src[0:32]) lands at elements 0..31, then row 1
    # (src[32:64], the source pitch is 64 B) at 16..47 over its second half.
    src = np.arange(128, dtype=np.float16)
    gm = device.gm.tensor("s", src)
    box = {}

    def body(block):
        ub = UBBufPool(block.aiv).allocate(64, np.float16)
        ub.array[:] = -1
        data_copy(ub, gm, params=CopyParams(block_count=2, block_len=2, dst_stride=-1))
        box["ub"] = ub.array.copy()

    device.launch("t", body, 1)
    expected = np.concatenate([src[0:16], src[32:64], np.full(16, -1, np.float16)])
    np.testing.assert_array_equal(box["ub"], expected)
    copy = recorder.table().to_pandas().query("kind == 'copy'").iloc[0]
    assert copy["flags"] & int(Flag.PARAM_RANGE)


def test_data_copy_reading_past_gm_reads_zeros_and_is_flagged(device, recorder):
    # 2 rows of 32 B from element 48 of a 64-element (128 B) tensor with a
    # 64 B source pitch: row 0 is src[48:64]; row 1 starts at byte 160, past
    # the end, and arrives as zeros.
    src = np.arange(1, 65, dtype=np.float16)
    gm = device.gm.tensor("s", src)
    box = {}

    def body(block):
        ub = UBBufPool(block.aiv).allocate(32, np.float16)
        ub.array[:] = -1
        data_copy(ub, gm[48:], params=CopyParams(block_count=2, block_len=1, src_stride=1))
        box["ub"] = ub.array.copy()

    device.launch("t", body, 1)
    np.testing.assert_array_equal(box["ub"], np.concatenate([src[48:64], np.zeros(16)]))
    copy = recorder.table().to_pandas().query("kind == 'copy'").iloc[0]
    assert copy["flags"] & int(Flag.OUT_OF_BOUNDS)
