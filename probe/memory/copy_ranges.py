"""The ranges the device accepts for DataCopy and DataCopyPad parameters.

A value outside its range is not an error the runtime reports: the field is
narrower than the struct's integer (blockCount is 12 bits in a uint16) or the
instruction reads it differently, so the copy moves other bytes than asked.
The emulator performs the copy as written and marks the event (flag
PARAM_RANGE, and the bits of the parameters out of range in the copy's
``arg``), so the analysis can report it (ALN005).

Ranges, inclusive, for arch 2201 (910B), from asc-devkit
``impl/basic_api/dav_c220/kernel_operator_data_copy_impl.h``:

* DataCopy with ``DataCopyParams`` (lengths and gaps in 32 B DataBlocks):
  blockCount 1..4095 (12 bits), blockLen 1..65535 (``CheckDataCopyParams``);
  srcStride and dstStride 0..65535 (uint16 fields).
* DataCopyPad with ``DataCopyExtParams`` (blockLen in bytes): blockCount
  0..4095, blockLen 0..2,097,151 (21 bits) and, GM -> UB, a whole number of
  elements (``CheckDataCopyPadParams``); srcStride and dstStride 0..2^32-1
  (uint32 fields).
* ``DataCopyPadExtParams``: leftPadding and rightPadding (elements) at most
  32 B each (asc-tools ``kernel_data_copy_pad_check.cpp``: 32 / sizeof(T)).
"""

from __future__ import annotations

import enum

PAD_LIMIT_BYTES = 32  # leftPadding / rightPadding: at most 32 B of elements each


class CopyParam(enum.IntFlag):
    """Bits of a copy event's ``arg``: the parameters outside the device's range."""

    NONE = 0
    BLOCK_COUNT = 1
    BLOCK_LEN = 2
    SRC_STRIDE = 4
    DST_STRIDE = 8
    LEFT_PADDING = 16
    RIGHT_PADDING = 32


# The parameters' names as Ascend C writes them, in bit order.
PARAM_NAMES = {
    CopyParam.BLOCK_COUNT: "blockCount",
    CopyParam.BLOCK_LEN: "blockLen",
    CopyParam.SRC_STRIDE: "srcStride",
    CopyParam.DST_STRIDE: "dstStride",
    CopyParam.LEFT_PADDING: "leftPadding",
    CopyParam.RIGHT_PADDING: "rightPadding",
}
_UINT16, _UINT32 = (1 << 16) - 1, (1 << 32) - 1
DATA_COPY_RANGES = {
    CopyParam.BLOCK_COUNT: (1, 4095),
    CopyParam.BLOCK_LEN: (1, _UINT16),
    CopyParam.SRC_STRIDE: (0, _UINT16),
    CopyParam.DST_STRIDE: (0, _UINT16),
}
DATA_COPY_PAD_RANGES = {
    CopyParam.BLOCK_COUNT: (0, 4095),
    CopyParam.BLOCK_LEN: (0, (1 << 21) - 1),
    CopyParam.SRC_STRIDE: (0, _UINT32),
    CopyParam.DST_STRIDE: (0, _UINT32),
}


def _outside(values: dict[CopyParam, int], ranges: dict[CopyParam, tuple[int, int]]) -> CopyParam:
    bad = CopyParam.NONE
    for param, value in values.items():
        low, high = ranges[param]
        if not low <= value <= high:
            bad |= param
    return bad


def data_copy_out_of_range(
    block_count: int, block_len: int, src_stride: int, dst_stride: int
) -> CopyParam:
    """The ``DataCopyParams`` fields outside their range."""
    values = {
        CopyParam.BLOCK_COUNT: block_count,
        CopyParam.BLOCK_LEN: block_len,
        CopyParam.SRC_STRIDE: src_stride,
        CopyParam.DST_STRIDE: dst_stride,
    }
    return _outside(values, DATA_COPY_RANGES)


def data_copy_pad_out_of_range(
    block_count: int,
    block_len: int,
    src_stride: int,
    dst_stride: int,
    item_bytes: int,
    to_local: bool,
    left: int = 0,
    right: int = 0,
) -> CopyParam:
    """The ``DataCopyExtParams`` and ``DataCopyPadExtParams`` fields outside
    their range for elements of ``item_bytes``; ``to_local``: GM -> UB."""
    values = {
        CopyParam.BLOCK_COUNT: block_count,
        CopyParam.BLOCK_LEN: block_len,
        CopyParam.SRC_STRIDE: src_stride,
        CopyParam.DST_STRIDE: dst_stride,
    }
    bad = _outside(values, DATA_COPY_PAD_RANGES)
    if to_local and block_len % item_bytes:
        bad |= CopyParam.BLOCK_LEN
    pad_limit = PAD_LIMIT_BYTES // item_bytes
    if not 0 <= left <= pad_limit:
        bad |= CopyParam.LEFT_PADDING
    if not 0 <= right <= pad_limit:
        bad |= CopyParam.RIGHT_PADDING
    return bad


def param_names(bits: int) -> list[str]:
    """``blockCount``, ``blockLen``, ... for the bits set in ``bits``."""
    return [name for param, name in PARAM_NAMES.items() if bits & param]
