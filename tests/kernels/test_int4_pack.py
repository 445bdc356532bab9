"""INT4 packing: torch_npu's int4pack order and the article's 16x16-block layout."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ubscope.kernels.gemm import int4_pack
from ubscope.probe.errors import ParameterError

INT4 = st.integers(int4_pack.INT4_MIN, int4_pack.INT4_MAX)


@given(
    hnp.arrays(
        np.int8,
        st.tuples(st.integers(1, 6), st.integers(1, 8).map(lambda words: 8 * words)),
        elements=INT4,
    )
)
def test_nd_round_trip(values):
    packed = int4_pack.pack_int4(values)
    assert packed.dtype == np.int32
    assert packed.shape == (values.shape[0], values.shape[1] // 8)
    np.testing.assert_array_equal(int4_pack.unpack_int4(packed), values)


@given(hnp.arrays(np.int32, st.tuples(st.integers(1, 40), st.integers(1, 40)), elements=INT4))
def test_block16_round_trip(values):
    k, n = values.shape
    packed = int4_pack.pack_int4_block16(values)
    assert packed.shape == int4_pack.block16_shape(k, n)
    assert packed.nbytes == int4_pack.packed_nbytes(k, n, "block16")
    np.testing.assert_array_equal(int4_pack.unpack_int4_block16(packed, k, n), values)


def test_nd_known_bit_pattern_low_nibble_first():
    packed = int4_pack.pack_int4(np.array([[1, -1, 2, -2, 3, -3, 7, -8]]))
    # nibbles 1, F, 2, E, 3, D, 7, 8 from bit 0 upwards
    assert packed[0, 0] == np.uint32(0x87D3E2F1).astype(np.int32)
    assert packed[0, 0] == -2016156943
    assert packed.view(np.uint8).tolist() == [[0xF1, 0xE2, 0xD3, 0x87]]


def test_nd_packs_along_the_last_dimension_only():
    values = np.zeros((3, 16), dtype=np.int8)
    values[1, 9] = 5
    packed = int4_pack.pack_int4(values)
    assert packed.shape == (3, 2)
    assert packed.tolist() == [[0, 0], [0, 5 << 4], [0, 0]]
    assert int4_pack.packed_nbytes(3, 16, "nd") == packed.nbytes


def test_block16_known_layout():
    values = np.zeros((20, 40), dtype=np.int8)
    values[0, 0], values[0, 1] = 1, -1  # block (0, 0), row 0, byte 0
    values[1, 2] = 5  # block (0, 0), row 1, byte 1, low nibble
    values[17, 33] = -3  # block (1, 2), row 1, byte 0, high nibble
    packed = int4_pack.pack_int4_block16(values)
    assert packed.shape == (2, 3, 16, 8)
    assert packed[0, 0, 0, 0] == 0xF1
    assert packed[0, 0, 1, 1] == 0x05
    assert packed[1, 2, 1, 0] == 0xD0
    assert np.count_nonzero(packed) == 3
    # block (kb, nb) is the (kb * 3 + nb)-th run of 128 bytes
    assert packed.reshape(-1)[(1 * 3 + 2) * 128 + 1 * 8] == 0xD0


def test_fp16_pair_table_decodes_every_byte():
    pairs = int4_pack.FP16_PAIRS.view(np.float16).reshape(256, 2)
    codes = np.arange(256, dtype=np.uint8)
    low, high = codes & 0xF, codes >> 4
    expected = np.stack(
        (np.where(low > 7, low - 16.0, low), np.where(high > 7, high - 16.0, high)), 1
    )
    np.testing.assert_array_equal(pairs, expected)


def test_dispatch_by_layout():
    values = np.arange(-8, 8, dtype=np.int8).reshape(2, 8)
    for layout in int4_pack.LAYOUTS:
        packed = int4_pack.pack(values, layout)
        np.testing.assert_array_equal(int4_pack.unpack(packed, layout, 2, 8), values)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: int4_pack.pack_int4(np.array([[8, 0, 0, 0, 0, 0, 0, 0]])), r"\[-8, 7\]"),
        (lambda: int4_pack.pack_int4(np.zeros((2, 12), np.int8)), "multiple of 8"),
        (lambda: int4_pack.pack_int4(np.zeros((1, 8), np.float32)), "integer"),
        (lambda: int4_pack.pack_int4_block16(np.zeros(8, np.int8)), "2-D"),
        (lambda: int4_pack.unpack_int4(np.zeros((1, 1), np.int64)), "int32"),
        (lambda: int4_pack.unpack_int4_block16(np.zeros((1, 1, 16, 8), np.uint8), 20, 8), "shape"),
        (lambda: int4_pack.unpack(np.zeros((1, 1), np.int32), "nd", 2, 8), r"\(2, 8\)"),
        (lambda: int4_pack.pack(np.zeros((1, 8), np.int8), "nz"), "layout 'nz'"),
    ],
)
def test_bad_input_raises_parameter_error(call, message):
    with pytest.raises(ParameterError, match=message):
        call()
