"""The float64 references the kernels are checked against, checked in turn
against numpy written here from the definitions (and torch, where installed).

Each kernel is tested twice: its reference function on small random inputs,
and a run, whose reference and output must match the computation from the
inputs the run kept (``KernelResult.inputs``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.gemm.reference import fp16_gemm_reference, int4_gemm_reference
from ubscope.kernels.layernorm.reference import layernorm_reference
from ubscope.kernels.paged_attention.reference import attention_reference
from ubscope.kernels.registry import run_kernel
from ubscope.kernels.sparse_attention.plan import AttentionShape
from ubscope.kernels.sparse_attention.reference import reference_attention
from ubscope.probe.kernel_spec import ATOL, RTOL

EXACT = dict(rtol=1e-12, atol=1e-12)  # float64 against float64: rounding order only


# -- the definitions ---------------------------------------------------------------


def numpy_int4_gemm(x, w, scale, offset, group_size):
    """y = x @ W with W[r, c] = (w[r, c] + offset[g, c]) * scale[g, c], g = r // group_size
    (one group of all K rows per channel when group_size is 0)."""
    k = w.shape[0]
    group = np.arange(k) // (group_size or k)
    weights = (w.astype(np.float64) + offset.astype(np.float64)[group]) * scale.astype(np.float64)[
        group
    ]
    return x.astype(np.float64) @ weights


def numpy_layernorm(x, residual, gamma, beta, eps):
    """(s - mean) / sqrt(var + eps) * gamma + beta over each row of s = x + residual."""
    s = x.astype(np.float64) + residual.astype(np.float64)
    hidden = s.shape[1]
    mean = s.sum(axis=1, keepdims=True) / hidden
    var = ((s - mean) ** 2).sum(axis=1, keepdims=True) / hidden
    return (s - mean) / np.sqrt(var + eps) * gamma.astype(np.float64) + beta.astype(np.float64)


def softmax_attention(q, k, v):
    """softmax(q K^T / sqrt(d)) V for one head: q (d,), k and v (tokens, d)."""
    scores = k.astype(np.float64) @ q.astype(np.float64) / math.sqrt(q.shape[0])
    weights = np.exp(scores - scores.max())
    return weights / weights.sum() @ v.astype(np.float64)


def numpy_paged_attention(query, key_cache, value_cache, block_table, seq_lens, heads, kv_heads):
    """Decode attention from a paged cache: each sequence's K/V rows gathered
    page by page through its block table, then softmax attention per query
    head over the KV head it shares (GQA). query is BSH (batch, 1, heads * d)."""
    batch = len(seq_lens)
    dim = query.shape[-1] // heads
    block_size = key_cache.shape[1]
    out = np.zeros((batch, heads, dim))
    for b in range(batch):
        n = int(seq_lens[b])
        pages = block_table[b, : -(-n // block_size)]
        keys = np.concatenate([key_cache[p] for p in pages])[:n].reshape(n, kv_heads, dim)
        values = np.concatenate([value_cache[p] for p in pages])[:n].reshape(n, kv_heads, dim)
        q = query[b, 0].reshape(heads, dim)
        for h in range(heads):
            kv = h // (heads // kv_heads)
            out[b, h] = softmax_attention(q[h], keys[:, kv], values[:, kv])
    return out


def run(chip, kernel, **overrides):
    spec = get_kernel(kernel)
    return run_kernel(spec, spec.resolve(overrides=overrides), chip).result


# -- GEMM ------------------------------------------------------------------------


@pytest.mark.parametrize(("k", "group_size"), [(40, 0), (100, 32), (96, 32)])
def test_int4_gemm_reference_is_the_antiquant_matmul(k, group_size):
    rng = np.random.default_rng(k + group_size)
    n = 24
    groups = -(-k // group_size) if group_size else 1
    x = rng.standard_normal((3, k)).astype(np.float16)
    w = rng.integers(-8, 8, (k, n), dtype=np.int8)
    scale = rng.uniform(0.5, 1.5, (groups, n)).astype(np.float16)
    offset = rng.uniform(-2, 2, (groups, n)).astype(np.float16)
    np.testing.assert_allclose(
        int4_gemm_reference(x, w, scale, offset, group_size),
        numpy_int4_gemm(x, w, scale, offset, group_size),
        **EXACT,
    )


def test_fp16_gemm_reference_is_the_matmul():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 32)).astype(np.float16)
    w = rng.standard_normal((32, 16)).astype(np.float16)
    expected = np.einsum("mk,kn->mn", x.astype(np.float64), w.astype(np.float64))
    np.testing.assert_allclose(fp16_gemm_reference(x, w), expected, **EXACT)


@pytest.mark.parametrize("group_size", [0, 32])
def test_int4_gemm_run_matches_its_inputs(chip, group_size):
    result = run(chip, "int4_gemm", m=3, k=100, n=64, tile_k=32, tile_n=64, group_size=group_size)
    data = result.inputs
    expected = numpy_int4_gemm(data["x"], data["w_int"], data["scale"], data["offset"], group_size)
    np.testing.assert_allclose(result.reference("y"), expected, **EXACT)
    np.testing.assert_allclose(result.outputs["y"].astype(np.float64), expected, RTOL, ATOL)


def test_fp16_gemm_run_matches_its_inputs(chip):
    result = run(chip, "fp16_gemm", m=3, k=96, n=64, tile_k=32, tile_n=64, cores=1)
    x, w = (result.inputs[name].astype(np.float64) for name in ("x", "w"))
    np.testing.assert_allclose(result.reference("y"), x @ w, **EXACT)
    np.testing.assert_allclose(result.outputs["y"].astype(np.float64), x @ w, RTOL, ATOL)


# -- LayerNorm -------------------------------------------------------------------


def test_layernorm_reference_is_the_definition():
    rng = np.random.default_rng(2)
    x, residual = (rng.standard_normal((5, 33)).astype(np.float16) for _ in range(2))
    gamma, beta = (rng.standard_normal(33).astype(np.float16) for _ in range(2))
    np.testing.assert_allclose(
        layernorm_reference(x, residual, gamma, beta, 1e-5),
        numpy_layernorm(x, residual, gamma, beta, 1e-5),
        **EXACT,
    )


@pytest.mark.parametrize("inplace", [True, False])
def test_layernorm_run_matches_its_inputs(chip, inplace):
    result = run(chip, "layernorm", rows=6, hidden=100, cores=2, inplace=inplace, eps=1e-3)
    data = result.inputs
    expected = numpy_layernorm(data["x"], data["residual"], data["gamma"], data["beta"], 1e-3)
    np.testing.assert_allclose(result.reference("y"), expected, **EXACT)
    np.testing.assert_allclose(result.outputs["y"].astype(np.float64), expected, RTOL, ATOL)


# -- paged attention ----------------------------------------------------------------


@pytest.mark.parametrize(("heads", "kv_heads"), [(2, 2), (4, 2), (3, 1)])
def test_attention_reference_is_softmax_attention(heads, kv_heads):
    rng = np.random.default_rng(heads)
    dim, tokens = 16, 21
    q = rng.standard_normal((heads, dim)).astype(np.float16)
    k, v = (rng.standard_normal((tokens, kv_heads * dim)).astype(np.float16) for _ in range(2))
    split = [k[:5], k[5:]], [v[:5], v[5:]]  # the history arrives in pieces
    group = heads // kv_heads
    expected = np.stack(
        [
            softmax_attention(
                q[h],
                k.reshape(tokens, kv_heads, dim)[:, h // group],
                v.reshape(tokens, kv_heads, dim)[:, h // group],
            )
            for h in range(heads)
        ]
    )
    np.testing.assert_allclose(attention_reference(q, *split, kv_heads), expected, **EXACT)


@pytest.mark.parametrize(
    "overrides",
    [
        dict(heads=2, kv_heads=1, head_dim=16, block_size=16, max_seq_len=40),
        dict(heads=4, kv_heads=2, head_dim=32, block_size=32, max_seq_len=100, layout="contiguous"),
    ],
    ids=["paged", "gqa-contiguous"],
)
def test_paged_attention_last_step_matches_the_cache_it_read(chip, overrides):
    """The reference is computed from each sequence's token history; the same
    numbers must come out of the cache gathered through the block table."""
    params = dict(batch=3, steps=3, cores=2, **overrides)
    result = run(chip, "paged_attention", **params)
    data = result.inputs
    expected = numpy_paged_attention(
        data["query"],
        data["key_cache"],
        data["value_cache"],
        data["block_table"],
        data["seq_lens"],
        params["heads"],
        params["kv_heads"],
    )
    np.testing.assert_allclose(result.reference("out")[-1], expected, **EXACT)
    np.testing.assert_allclose(result.outputs["out"][-1].astype(np.float64), expected, RTOL, ATOL)


# -- sparse attention ----------------------------------------------------------------


@pytest.mark.parametrize("causal", [True, False])
def test_sparse_attention_reference_is_the_attention_layer(causal):
    """out = concat_h(softmax(q_h k_h^T / sqrt(d)) v_h) Wo^T with q, k, v = x Wq^T, x Wk^T,
    x Wv^T, computed token by token and head by head within each sequence; causal: each
    token over the keys and values of the tokens up to itself."""
    rng = np.random.default_rng(4)
    shape = AttentionShape(batch=2, seq_len=5, hidden=32, heads=4)
    b, s, d = shape.batch, shape.seq_len, shape.head_dim
    x = rng.standard_normal((b * s, 32)).astype(np.float16)
    weights = {name: rng.standard_normal((32, 32)).astype(np.float16) for name in "qkvo"}
    q, k, v = (x.astype(np.float64) @ weights[name].astype(np.float64).T for name in "qkv")
    context = np.zeros((b * s, 32))
    for seq in range(b):
        for h in range(shape.heads):
            cols = slice(h * d, (h + 1) * d)
            for token in range(seq * s, (seq + 1) * s):
                rows = slice(seq * s, token + 1 if causal else (seq + 1) * s)
                context[token, cols] = softmax_attention(
                    q[token, cols], k[rows, cols], v[rows, cols]
                )
    expected = context @ weights["o"].astype(np.float64).T
    np.testing.assert_allclose(
        reference_attention(x, weights, shape, causal=causal), expected, **EXACT
    )


# -- torch, where installed --------------------------------------------------------


def test_references_match_torch():
    torch = pytest.importorskip("torch", reason="torch is not installed; numpy checks stand")
    functional = torch.nn.functional
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 64)).astype(np.float16)
    w = rng.integers(-8, 8, (64, 16), dtype=np.int8)
    scale = rng.uniform(0.5, 1.5, (2, 16)).astype(np.float16)
    offset = rng.uniform(-2, 2, (2, 16)).astype(np.float16)
    t = {
        name: torch.from_numpy(a).double() for name, a in dict(x=x, w=w, s=scale, o=offset).items()
    }
    weights = (t["w"] + t["o"].repeat_interleave(32, 0)) * t["s"].repeat_interleave(32, 0)
    np.testing.assert_allclose(
        int4_gemm_reference(x, w, scale, offset, 32), (t["x"] @ weights).numpy(), **EXACT
    )
    residual = rng.standard_normal((4, 64)).astype(np.float16)
    gamma, beta = (rng.standard_normal(64).astype(np.float16) for _ in range(2))
    expected = functional.layer_norm(
        t["x"] + torch.from_numpy(residual).double(),
        (64,),
        torch.from_numpy(gamma).double(),
        torch.from_numpy(beta).double(),
        eps=1e-5,
    )
    np.testing.assert_allclose(
        layernorm_reference(x, residual, gamma, beta, 1e-5), expected.numpy(), rtol=1e-9, atol=1e-9
    )
    q = rng.standard_normal((2, 16)).astype(np.float16)
    k, v = (rng.standard_normal((9, 16)).astype(np.float16) for _ in range(2))
    attention = functional.scaled_dot_product_attention(
        *(torch.from_numpy(a).double()[None] for a in (q, k, v))
    )[0]
    np.testing.assert_allclose(
        attention_reference(q, [k], [v], 1), attention.numpy(), rtol=1e-9, atol=1e-9
    )
