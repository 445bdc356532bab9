"""The layer in float64, the reference its output is checked against."""

from __future__ import annotations

import math

import numpy as np

from ubscope.kernels.sparse_attention.plan import AttentionShape


def reference_attention(
    x: np.ndarray, weights: dict[str, np.ndarray], shape: AttentionShape, *, causal: bool
) -> np.ndarray:
    """The layer in float64 with the weights the kernels use; ``causal``: each
    token attends to itself and the tokens before it in its sequence."""
    x = x.astype(np.float64)
    q, k, v = (x @ weights[name].astype(np.float64).T for name in ("q", "k", "v"))
    b, s, h, d = shape.batch, shape.seq_len, shape.heads, shape.head_dim

    def heads(t: np.ndarray) -> np.ndarray:
        return t.reshape(b, s, h, d).transpose(0, 2, 1, 3)

    logits = heads(q) @ heads(k).transpose(0, 1, 3, 2) / math.sqrt(d)
    if causal:
        logits[..., np.triu(np.ones((s, s), dtype=bool), k=1)] = -np.inf
    logits -= logits.max(axis=-1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=-1, keepdims=True)
    ctx = (probs @ heads(v)).transpose(0, 2, 1, 3).reshape(b * s, h * d)
    return ctx @ weights["o"].astype(np.float64).T
