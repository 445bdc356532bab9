"""2:4 structured sparsity on the host: pruning, compression and metadata packing.

A weight ``W[N, K]`` is pruned along K: of every group of 4 consecutive
elements the 2 largest magnitudes are kept (ties keep the lower index). The
compressed form is ``values[N, K/2]`` (kept elements in order) plus metadata:
per group two 2-bit **absolute** positions ``idx0 < idx1`` packed as the 4-bit
code ``idx0 | idx1 << 2`` (NVIDIA/PyTorch semi-structured style, so
``[T,T,F,F] -> 0b0100``, ``[T,F,T,F] -> 0b1000``, ``[F,F,T,T] -> 0b1110``).

Two metadata layouts, each one byte-aligned row per weight row:

* ``nibble``: two groups per byte, the first group in the low nibble
  (``ceil(K/8)`` bytes per row; an odd last group leaves the high nibble 0);
* ``byte``: the article's one byte per group, the code in the low nibble
  (``K/4`` bytes per row). The article's own example (``[a,0,b,0] -> 0b0100``)
  does not match any consistent encoding, so it is not copied.

The CUTLASS tile reordering and Ascend's relative, reversed int8 index format
(``ascend_hardware.md`` section 5) are out of scope: the kernels here read this
row layout directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ubscope.probe.errors import ParameterError

GROUP = 4  # dense elements per group
KEPT = 2  # elements kept per group
META_FORMATS = ("nibble", "byte")
SHIFT_BITS = 2  # bits per stored position


def check_k(k: int, what: str = "k") -> None:
    """K must split into whole groups of 4."""
    if k < GROUP or k % GROUP:
        raise ParameterError(f"{what}={k}: 2:4 sparsity needs a positive multiple of {GROUP}")


def check_meta_format(meta_format: str) -> None:
    if meta_format not in META_FORMATS:
        raise ParameterError(
            f"meta_format={meta_format!r}: expected one of {', '.join(META_FORMATS)}"
        )


def meta_row_bytes(k: int, meta_format: str) -> int:
    """Bytes of metadata for one weight row of ``k`` dense elements."""
    check_meta_format(meta_format)
    groups = k // GROUP
    return -(-groups // 2) if meta_format == "nibble" else groups


def _as_matrix(weight: np.ndarray) -> np.ndarray:
    weight = np.asarray(weight)
    if weight.ndim != 2:
        raise ParameterError(f"weight: expected a 2-D [N, K] matrix, got shape {weight.shape}")
    check_k(weight.shape[1], "weight K")
    return weight


def kept_positions(weight: np.ndarray) -> np.ndarray:
    """``[N, K/4, 2]`` uint8 positions (0-3, ascending) of the 2 largest
    magnitudes of every group of 4."""
    weight = _as_matrix(weight)
    rows, k = weight.shape
    magnitude = np.abs(weight.astype(np.float64)).reshape(rows, k // GROUP, GROUP)
    order = np.argsort(-magnitude, axis=-1, kind="stable")[..., :KEPT]
    return np.sort(order, axis=-1).astype(np.uint8)


def prune(weight: np.ndarray) -> np.ndarray:
    """The dense weight with the 2 smallest magnitudes of every group zeroed."""
    weight = _as_matrix(weight)
    positions = kept_positions(weight)
    return expand(gather_values(weight, positions), positions)


def gather_values(weight: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``[N, K/2]`` kept values of ``weight`` at ``positions`` (group by group)."""
    rows, k = weight.shape
    grouped = weight.reshape(rows, k // GROUP, GROUP)
    return np.take_along_axis(grouped, positions.astype(np.intp), axis=-1).reshape(rows, k // 2)


def expand(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Rebuild the dense ``[N, K]`` matrix from values and positions."""
    rows, groups = positions.shape[:2]
    dense = np.zeros((rows, groups, GROUP), dtype=values.dtype)
    np.put_along_axis(dense, positions.astype(np.intp), values.reshape(rows, groups, KEPT), axis=-1)
    return dense.reshape(rows, groups * GROUP)


def encode_groups(positions: np.ndarray) -> np.ndarray:
    """4-bit group codes ``idx0 | idx1 << 2`` from ``[..., 2]`` positions."""
    positions = positions.astype(np.uint8)
    return positions[..., 0] | (positions[..., 1] << SHIFT_BITS)


def pack_metadata(positions: np.ndarray, meta_format: str = "nibble") -> np.ndarray:
    """``[N, meta_row_bytes]`` uint8 metadata of ``[N, K/4, 2]`` positions."""
    check_meta_format(meta_format)
    codes = encode_groups(positions)
    if meta_format == "byte":
        return np.ascontiguousarray(codes)
    rows, groups = codes.shape
    if groups % 2:
        codes = np.concatenate([codes, np.zeros((rows, 1), dtype=np.uint8)], axis=1)
    return np.ascontiguousarray(codes[:, 0::2] | (codes[:, 1::2] << 4))


def unpack_metadata(packed: np.ndarray, k: int, meta_format: str = "nibble") -> np.ndarray:
    """``[N, K/4, 2]`` positions from packed metadata; rejects codes that are
    not two ascending positions and bits set in padding."""
    check_k(k)
    packed = np.asarray(packed)
    expected = meta_row_bytes(k, meta_format)
    if packed.ndim != 2 or packed.shape[1] != expected or packed.dtype != np.uint8:
        raise ParameterError(
            f"metadata: expected uint8 [N, {expected}] for k={k} ({meta_format}), "
            f"got {packed.dtype} {packed.shape}"
        )
    groups = k // GROUP
    if meta_format == "byte":
        codes, padding = packed, packed >> 4
    else:
        codes = np.stack([packed & 0xF, packed >> 4], axis=-1).reshape(packed.shape[0], -1)
        padding, codes = codes[:, groups:], codes[:, :groups]
    first, second = codes & 0b11, codes >> SHIFT_BITS
    if np.any(padding) or np.any(first >= second):
        raise ParameterError(
            "metadata: a group code is not two ascending positions (idx0 < idx1) or padding "
            "bits are set"
        )
    return np.stack([first, second], axis=-1).astype(np.uint8)


@dataclass(frozen=True)
class Sparse24Weight:
    """A 2:4-compressed weight: what the sparse kernels read from GM."""

    values: np.ndarray  # [N, K/2], the weight's dtype
    metadata: np.ndarray  # [N, meta_row_bytes] uint8
    k: int
    meta_format: str

    @classmethod
    def compress(cls, weight: np.ndarray, meta_format: str = "nibble") -> Sparse24Weight:
        """Prune ``weight`` to 2:4 and compress it."""
        weight = _as_matrix(weight)
        check_meta_format(meta_format)
        positions = kept_positions(weight)
        return cls(
            np.ascontiguousarray(gather_values(weight, positions)),
            pack_metadata(positions, meta_format),
            weight.shape[1],
            meta_format,
        )

    def dense(self) -> np.ndarray:
        """The pruned dense ``[N, K]`` weight."""
        return expand(self.values, unpack_metadata(self.metadata, self.k, self.meta_format))

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes + self.metadata.nbytes)
