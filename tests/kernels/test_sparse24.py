"""2:4 pruning and metadata packing: known codes, round trips, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ubscope.kernels import sparse24
from ubscope.probe.errors import ParameterError

PAIRS = [(a, b) for a in range(4) for b in range(a + 1, 4)]  # the 6 legal position pairs


@pytest.mark.parametrize(
    ("group", "code"),
    [
        ([5.0, -4.0, 0.0, 0.0], 0b0100),  # [T,T,F,F]
        ([5.0, 0.0, -4.0, 0.0], 0b1000),  # [T,F,T,F]
        ([0.0, 0.5, 5.0, -4.0], 0b1110),  # [F,F,T,T]
        ([1.0, 0.0, 0.0, 2.0], 0b1100),  # [T,F,F,T]
    ],
)
def test_known_group_codes(group: list[float], code: int) -> None:
    positions = sparse24.kept_positions(np.array([group], dtype=np.float16))
    assert sparse24.encode_groups(positions)[0, 0] == code
    assert sparse24.pack_metadata(positions, "byte")[0, 0] == code


def test_nibble_packing_puts_the_first_group_in_the_low_nibble() -> None:
    weight = np.array([[5, 4, 0, 0, 0, 0, 5, 4, 5, 0, 4, 0]], dtype=np.float16)
    packed = sparse24.pack_metadata(sparse24.kept_positions(weight), "nibble")
    # groups 0b0100, 0b1110 share byte 0; the odd third group 0b1000 has a zero high nibble
    assert packed.tolist() == [[0xE4, 0x08]]
    assert sparse24.meta_row_bytes(12, "nibble") == 2
    assert sparse24.meta_row_bytes(12, "byte") == 3


def test_prune_keeps_the_two_largest_magnitudes_and_ties_keep_the_lower_index() -> None:
    weight = np.array([[1, -7, 3, 2, 2, 2, 2, 2]], dtype=np.float16)
    assert sparse24.prune(weight).tolist() == [[0, -7, 3, 0, 2, 2, 0, 0]]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 6),
    groups=st.integers(1, 9),
    meta_format=st.sampled_from(sparse24.META_FORMATS),
    data=st.data(),
)
def test_pack_unpack_round_trip(
    rows: int, groups: int, meta_format: str, data: st.DataObject
) -> None:
    choice = data.draw(hnp.arrays(np.int64, (rows, groups), elements=st.integers(0, 5)))
    positions = np.asarray(PAIRS, dtype=np.uint8)[choice]
    packed = sparse24.pack_metadata(positions, meta_format)
    assert packed.shape == (rows, sparse24.meta_row_bytes(4 * groups, meta_format))
    np.testing.assert_array_equal(
        sparse24.unpack_metadata(packed, 4 * groups, meta_format), positions
    )


@settings(max_examples=60, deadline=None)
@given(
    weight=hnp.arrays(
        np.float16,
        st.tuples(st.integers(1, 5), st.integers(1, 8).map(lambda g: 4 * g)),
        elements=st.floats(-100, 100, width=16),
    ),
    meta_format=st.sampled_from(sparse24.META_FORMATS),
)
def test_compress_keeps_the_largest_pair_of_every_group(
    weight: np.ndarray, meta_format: str
) -> None:
    compressed = sparse24.Sparse24Weight.compress(weight, meta_format)
    dense = compressed.dense()
    np.testing.assert_array_equal(dense, sparse24.prune(weight))
    rows, k = weight.shape
    kept = np.zeros((rows, k), dtype=bool)
    positions = sparse24.unpack_metadata(compressed.metadata, k, meta_format)
    np.put_along_axis(kept.reshape(rows, k // 4, 4), positions.astype(np.intp), True, axis=-1)
    magnitude = np.abs(weight.astype(np.float64)).reshape(rows, k // 4, 4)
    kept = kept.reshape(rows, k // 4, 4)
    assert kept.sum(axis=-1).tolist() == [[2] * (k // 4)] * rows
    smallest_kept = np.where(kept, magnitude, np.inf).min(axis=-1)
    largest_dropped = np.where(kept, -np.inf, magnitude).max(axis=-1)
    assert np.all(smallest_kept >= largest_dropped)
    np.testing.assert_array_equal(dense[kept.reshape(rows, k)], compressed.values.ravel())
    assert compressed.nbytes == weight.nbytes // 2 + compressed.metadata.nbytes


@pytest.mark.parametrize("k", [0, 6, 10, -4])
def test_k_must_be_a_positive_multiple_of_4(k: int) -> None:
    with pytest.raises(ParameterError, match="multiple of 4"):
        sparse24.check_k(k)


def test_bad_weights_and_metadata_are_parameter_errors() -> None:
    with pytest.raises(ParameterError, match="weight K=6"):
        sparse24.prune(np.zeros((2, 6), dtype=np.float16))
    with pytest.raises(ParameterError, match="2-D"):
        sparse24.prune(np.zeros(8, dtype=np.float16))
    with pytest.raises(ParameterError, match="meta_format"):
        sparse24.pack_metadata(np.zeros((1, 1, 2), dtype=np.uint8), "crumb")
    with pytest.raises(ParameterError, match="idx0 < idx1"):
        sparse24.unpack_metadata(np.array([[0b0101]], dtype=np.uint8), 4, "byte")
    with pytest.raises(ParameterError, match="padding"):
        sparse24.unpack_metadata(np.array([[0xE4]], dtype=np.uint8), 4, "nibble")
    with pytest.raises(ParameterError, match=r"uint8 \[N, 2\]"):
        sparse24.unpack_metadata(np.zeros((1, 3), dtype=np.uint8), 16, "nibble")
