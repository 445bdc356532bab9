"""The float64 references the GEMM kernels are checked against."""

from __future__ import annotations

import numpy as np

from ubscope.probe.errors import ParameterError


def check_antiquant_shape(shape: tuple[int, ...], k: int, n: int, group_size: int) -> None:
    """Scale/offset must be (1, N) per channel or (ceil(K/g), N) per group."""
    groups = -(-k // group_size) if group_size else 1
    if tuple(shape) != (groups, n):
        expected = f"ceil(K/{group_size})={groups}" if group_size else "1 (per channel)"
        raise ParameterError(
            f"antiquant scale/offset shape {tuple(shape)} does not match {expected} x N={n}"
        )


def dequantize(w: np.ndarray, scale: np.ndarray, offset: np.ndarray, group_size: int) -> np.ndarray:
    """``(w + offset) * scale`` in float64, scale/offset rows repeated per group."""
    k, n = w.shape
    check_antiquant_shape(scale.shape, k, n, group_size)
    check_antiquant_shape(offset.shape, k, n, group_size)
    weights = w.astype(np.float64)
    span = group_size or k
    for group, start in enumerate(range(0, k, span)):
        rows = weights[start : start + span]
        rows += offset[group].astype(np.float64)
        rows *= scale[group].astype(np.float64)
    return weights


def _product(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w`` in float64, computed as ``(w.T @ x.T).T``: OpenBLAS multiplies a
    few rows of x by a wide w several times slower than the same product
    transposed (3-5x measured at 16 x 4096 by 4096 x 820)."""
    return (np.asarray(w, dtype=np.float64).T @ np.asarray(x, dtype=np.float64).T).T


def fp16_gemm_reference(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w`` in float64."""
    return _product(x, w)


def int4_gemm_reference(
    x: np.ndarray, w: np.ndarray, scale: np.ndarray, offset: np.ndarray, group_size: int
) -> np.ndarray:
    """``x @ ((w + offset) * scale)`` in float64 (w the int4 values, unpacked)."""
    return _product(x, dequantize(w, scale, offset, group_size))
