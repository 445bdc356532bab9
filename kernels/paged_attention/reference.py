"""The float64 reference paged decode attention is checked against."""

from __future__ import annotations

import math

import numpy as np


def attention_reference(
    q: np.ndarray, keys: list[np.ndarray], values: list[np.ndarray], kv_heads: int
) -> np.ndarray:
    """float64 softmax(q.K^T / sqrt(D)).V of one sequence from its own token
    history (not the cache): q (heads, D), K/V rows (tokens, H) in order."""
    heads, dim = q.shape
    group = heads // kv_heads

    def per_head(rows: list[np.ndarray]) -> np.ndarray:
        merged = np.concatenate(rows).astype(np.float64).reshape(-1, kv_heads, dim)
        return np.repeat(merged, group, axis=1)

    k, v = per_head(keys), per_head(values)
    scores = np.einsum("lhd,hd->hl", k, q.astype(np.float64)) / math.sqrt(dim)
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return np.einsum("hl,lhd->hd", weights, v)
