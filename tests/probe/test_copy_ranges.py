"""DataCopy / DataCopyPad parameters are checked against the ranges the device
accepts (asc-devkit dav_c220 kernel_operator_data_copy_impl.h; asc-tools
kernel_data_copy_pad_check.cpp): each limit itself passes, one past it is flagged,
and a flagged copy carries PARAM_RANGE and the parameter bits in its arg."""

from __future__ import annotations

import numpy as np
import pytest

from ubscope.probe.events import Flag
from ubscope.probe.memory.copy_ranges import (
    CopyParam,
    data_copy_out_of_range,
    data_copy_pad_out_of_range,
    param_names,
)
from ubscope.probe.memory.datacopy import (
    CopyExtParams,
    CopyParams,
    PadParams,
    data_copy,
    data_copy_pad,
)
from ubscope.probe.memory.pools import UBBufPool

UINT16, UINT32 = 65535, 4294967295


def _data_copy(values: dict[CopyParam, int]) -> CopyParam:
    return data_copy_out_of_range(*(values[param] for param in PARAMS))


def _data_copy_pad(values: dict[CopyParam, int]) -> CopyParam:
    return data_copy_pad_out_of_range(*(values[param] for param in PARAMS), 1, to_local=False)


PARAMS = (CopyParam.BLOCK_COUNT, CopyParam.BLOCK_LEN, CopyParam.SRC_STRIDE, CopyParam.DST_STRIDE)


@pytest.mark.parametrize(
    ("check", "field", "low", "high"),
    [
        # DataCopyParams: blockCount is 12 bits: 1..4095; blockLen 1..65535 DataBlocks;
        # the gaps are uint16
        (_data_copy, CopyParam.BLOCK_COUNT, 1, 4095),
        (_data_copy, CopyParam.BLOCK_LEN, 1, UINT16),
        (_data_copy, CopyParam.SRC_STRIDE, 0, UINT16),
        (_data_copy, CopyParam.DST_STRIDE, 0, UINT16),
        # DataCopyExtParams: blockCount 0..4095; blockLen 21 bits: 0..2,097,151 B;
        # the gaps are uint32
        (_data_copy_pad, CopyParam.BLOCK_COUNT, 0, 4095),
        (_data_copy_pad, CopyParam.BLOCK_LEN, 0, 2097151),
        (_data_copy_pad, CopyParam.SRC_STRIDE, 0, UINT32),
        (_data_copy_pad, CopyParam.DST_STRIDE, 0, UINT32),
    ],
    ids=lambda v: getattr(v, "__name__", None) or getattr(v, "name", None) or str(v),
)
def test_copy_params_at_and_one_past_each_limit(check, field, low, high):
    def at(value: int) -> CopyParam:
        values = dict.fromkeys(PARAMS, 0) | {CopyParam.BLOCK_COUNT: 1, CopyParam.BLOCK_LEN: 1}
        return check(values | {field: value})

    assert at(low) == at(high) == CopyParam.NONE
    assert at(high + 1) == at(low - 1) == field


@pytest.mark.parametrize(("item_bytes", "limit"), [(1, 32), (2, 16), (4, 8), (8, 4)])
def test_padding_is_at_most_32_bytes_of_elements_per_side(item_bytes, limit):
    def check(left: int, right: int) -> CopyParam:
        return data_copy_pad_out_of_range(1, 64, 0, 0, item_bytes, True, left, right)

    assert check(limit, limit) == CopyParam.NONE
    assert check(limit + 1, 0) == CopyParam.LEFT_PADDING
    assert check(0, limit + 1) == CopyParam.RIGHT_PADDING


def test_gm_to_ub_block_len_is_whole_elements():
    # 30 B of fp32 is 7.5 elements: refused GM -> UB; UB -> GM takes any byte count
    assert data_copy_pad_out_of_range(1, 30, 0, 0, 4, True) == CopyParam.BLOCK_LEN
    assert data_copy_pad_out_of_range(1, 30, 0, 0, 4, False) == CopyParam.NONE
    assert data_copy_pad_out_of_range(1, 28, 0, 0, 4, True) == CopyParam.NONE


def test_param_names_follow_ascend_c():
    bits = CopyParam.BLOCK_COUNT | CopyParam.RIGHT_PADDING
    assert param_names(bits) == ["blockCount", "rightPadding"]


def _copies(recorder):
    events = recorder.table().to_pandas()
    return events[events["kind"] == "copy"].reset_index(drop=True)


def _launch(device, body):
    device.launch("ranges", body, 1, mode="vector")


def test_a_data_copy_of_4096_blocks_is_flagged_and_4095_is_not(device, recorder):
    """4096 x 32 B = 128 KiB fits in UB, yet blockCount has only 12 bits."""
    gm = device.gm.tensor("x", np.zeros(4096 * 16, dtype=np.float16))

    def body(block):
        ub = UBBufPool(block.aiv).allocate(4096 * 16, np.float16)
        data_copy(ub, gm, params=CopyParams(4095, 1))
        data_copy(ub, gm, params=CopyParams(4096, 1))

    _launch(device, body)
    copies = _copies(recorder)
    flagged = (copies["flags"] & int(Flag.PARAM_RANGE)) != 0
    assert flagged.tolist() == [False, True]
    assert copies["arg"].tolist() == [0, int(CopyParam.BLOCK_COUNT)]
    assert copies["burst_count"].tolist() == [4095, 4096]  # performed as written


def test_data_copy_pad_right_padding_past_32_bytes_is_flagged(device, recorder):
    """fp16: 16 elements of right padding are 32 B (accepted), 17 are 34 B."""
    gm = device.gm.tensor("x", np.arange(16, dtype=np.float16))

    def body(block):
        ub = UBBufPool(block.aiv).allocate(256, np.float16)
        data_copy_pad(ub, gm, CopyExtParams(1, 32), PadParams(right=16))
        data_copy_pad(ub, gm, CopyExtParams(1, 32), PadParams(right=17))

    _launch(device, body)
    copies = _copies(recorder)
    assert copies["arg"].tolist() == [0, int(CopyParam.RIGHT_PADDING)]
    assert ((copies["flags"] & int(Flag.PARAM_RANGE)) != 0).tolist() == [False, True]
