"""INT4 weight packing in the two layouts the INT4 GEMM reads.

``nd`` is torch_npu's ``npu_convert_weight_to_int4pack``: values packed along
the last dimension, low nibble first, 8 per int32, 4-bit two's complement::

    packed[..., i] = (w[8i] & 0xF) | (w[8i+1] & 0xF) << 4 | ... | (w[8i+7] & 0xF) << 28

so a (K, N) weight becomes int32 (K, N/8); on little-endian storage byte 0
holds element 0 in bits 3:0 and element 1 in bits 7:4.

``block16`` is the article's 16x16-block layout: the (K, N) weight is padded
with zeros to whole 16x16 blocks and stored block after block in row-major
block order (block (kb, nb) is block number ``kb * ceil(N/16) + nb``). A block
is 128 bytes: its 16 rows one after another, each row 8 bytes holding the
row's 16 values two per byte, low nibble first. The packed array is uint8
``(ceil(K/16), ceil(N/16), 16, 8)``. A tile of whole blocks is then a run of
long contiguous bursts whose GM starts stay 512 B aligned for tiles 64
columns wide, which ND rows of int4 only manage at multiples of 1024 columns.
"""

from __future__ import annotations

import numpy as np

from ubscope.probe.errors import ParameterError

INT4_MIN, INT4_MAX = -8, 7
VALUES_PER_INT32 = 8
BLOCK = 16  # rows and columns of a block16 block
LAYOUTS = ("nd", "block16")

_NIBBLE_SHIFTS = np.arange(VALUES_PER_INT32, dtype=np.uint32) * 4


def _signed_nibbles(nibbles: np.ndarray) -> np.ndarray:
    """4-bit two's complement to int8."""
    return ((nibbles.astype(np.int8) ^ 8) - 8).astype(np.int8)


def _checked_values(values: np.ndarray, where: str) -> np.ndarray:
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.integer):
        raise ParameterError(f"{where}: expected integer values, got dtype {values.dtype}")
    if values.size and (values.min() < INT4_MIN or values.max() > INT4_MAX):
        raise ParameterError(
            f"{where}: int4 values must lie in [{INT4_MIN}, {INT4_MAX}], "
            f"got min {values.min()} and max {values.max()}"
        )
    return values


def pack_int4(values: np.ndarray) -> np.ndarray:
    """torch_npu ``npu_convert_weight_to_int4pack``: int values in [-8, 7] with a
    last dimension that is a multiple of 8 -> int32 with that dimension / 8."""
    values = _checked_values(values, "pack_int4")
    if values.ndim < 1 or values.shape[-1] % VALUES_PER_INT32:
        raise ParameterError(
            f"pack_int4: the last dimension ({values.shape[-1] if values.ndim else 'scalar'}) "
            f"must be a multiple of {VALUES_PER_INT32}"
        )
    nibbles = (values.astype(np.int64) & 0xF).astype(np.uint32)
    groups = nibbles.reshape(*values.shape[:-1], -1, VALUES_PER_INT32)
    packed = np.bitwise_or.reduce(groups << _NIBBLE_SHIFTS, axis=-1)
    return packed.astype(np.uint32).view(np.int32)


def unpack_int4(packed: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pack_int4`: int32 (..., N/8) -> int8 (..., N)."""
    packed = np.asarray(packed)
    if packed.dtype != np.int32:
        raise ParameterError(f"unpack_int4: expected int32 packed words, got {packed.dtype}")
    nibbles = (packed.view(np.uint32)[..., None] >> _NIBBLE_SHIFTS) & 0xF
    return _signed_nibbles(nibbles).reshape(*packed.shape[:-1], -1)


def block16_shape(k: int, n: int) -> tuple[int, int, int, int]:
    """Shape of the packed block16 array for a (k, n) weight."""
    return (-(-k // BLOCK), -(-n // BLOCK), BLOCK, BLOCK // 2)


def pack_int4_block16(values: np.ndarray) -> np.ndarray:
    """The article's layout: (K, N) int values in [-8, 7] -> uint8 blocks
    ``(ceil(K/16), ceil(N/16), 16, 8)``, zero padded to whole blocks."""
    values = _checked_values(values, "pack_int4_block16")
    if values.ndim != 2:
        raise ParameterError(
            f"pack_int4_block16: expected a 2-D (K, N) weight, got {values.ndim}-D"
        )
    k, n = values.shape
    kb, nb, _, _ = block16_shape(k, n)
    padded = np.zeros((kb * BLOCK, nb * BLOCK), dtype=np.uint8)
    padded[:k, :n] = values.astype(np.int8).view(np.uint8) & 0xF
    blocks = padded.reshape(kb, BLOCK, nb, BLOCK).transpose(0, 2, 1, 3)
    return (blocks[..., 0::2] | (blocks[..., 1::2] << 4)).astype(np.uint8)


def unpack_int4_block16(packed: np.ndarray, k: int, n: int) -> np.ndarray:
    """Inverse of :func:`pack_int4_block16`: the (k, n) int8 weight."""
    packed = np.asarray(packed)
    if packed.dtype != np.uint8 or packed.shape != block16_shape(k, n):
        raise ParameterError(
            f"unpack_int4_block16: expected uint8 blocks of shape {block16_shape(k, n)} for "
            f"a ({k}, {n}) weight, got {packed.dtype} {packed.shape}"
        )
    kb, nb = packed.shape[:2]
    nibbles = np.stack((packed & 0xF, packed >> 4), axis=-1).reshape(kb, nb, BLOCK, BLOCK)
    values = _signed_nibbles(nibbles).transpose(0, 2, 1, 3).reshape(kb * BLOCK, nb * BLOCK)
    return np.ascontiguousarray(values[:k, :n])


def pack(values: np.ndarray, layout: str) -> np.ndarray:
    """Pack a (K, N) weight in ``layout`` (``nd`` or ``block16``)."""
    if layout == "nd":
        return pack_int4(values)
    if layout == "block16":
        return pack_int4_block16(values)
    raise ParameterError(f"int4 layout {layout!r}: expected one of {', '.join(LAYOUTS)}")


def unpack(packed: np.ndarray, layout: str, k: int, n: int) -> np.ndarray:
    """The (k, n) int8 weight back from ``pack(values, layout)``."""
    if layout == "nd":
        values = unpack_int4(packed)
        if values.shape != (k, n):
            raise ParameterError(f"unpack: nd words unpack to {values.shape}, expected ({k}, {n})")
        return values
    if layout == "block16":
        return unpack_int4_block16(packed, k, n)
    raise ParameterError(f"int4 layout {layout!r}: expected one of {', '.join(LAYOUTS)}")


def packed_nbytes(k: int, n: int, layout: str) -> int:
    """Bytes of the packed (k, n) weight as stored in GM."""
    if layout == "block16":
        kb, nb, rows, row_bytes = block16_shape(k, n)
        return kb * nb * rows * row_bytes
    return k * (-(-n // VALUES_PER_INT32)) * 4


def _fp16_pair_table() -> np.ndarray:
    """For every byte, its two int4 values (low nibble first) as two fp16 in one uint32."""
    codes = np.arange(256, dtype=np.uint8)
    pairs = np.stack((codes & 0xF, codes >> 4), axis=-1)
    return _signed_nibbles(pairs).astype(np.float16).view(np.uint32).reshape(256)


# Unpacking a byte to fp16 is one table look-up (the vector unit's int4 -> half Cast).
FP16_PAIRS = _fp16_pair_table()
