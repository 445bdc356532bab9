"""The float64 reference LayerNorm kernels are checked against."""

from __future__ import annotations

import numpy as np


def layernorm_reference(
    x: np.ndarray, residual: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float
) -> np.ndarray:
    """``LayerNorm(x + residual) * gamma + beta`` over the last axis, in float64."""
    total = x.astype(np.float64) + residual.astype(np.float64)
    centered = total - total.mean(axis=1, keepdims=True)
    rstd = 1.0 / np.sqrt((centered**2).mean(axis=1, keepdims=True) + eps)
    return centered * rstd * gamma.astype(np.float64) + beta.astype(np.float64)
