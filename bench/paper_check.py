"""Paper check: the article's INT4 claims against ubscope's traces and cost model.

Run: python bench/paper_check.py   (the 2:4 claims: python bench/bench_sparse.py)

The article claims, for INT4 vs FP16 weights: 4x less weight memory and 2.17x
throughput (FP16 120, INT8 180, INT4 260 tokens/s). ubscope reproduces what a
memory model can: weight bytes exactly, and modelled decode throughput (tokens
per second = tokens in the batch over the modelled kernel time of one GEMM of
the model's shape). Accuracy (78.2 / 77.9 / 76.5 %) needs a real model and data
and is not reproduced.
"""

from __future__ import annotations

from ubscope.kernels.gemm.specs import modelled_time_ps, weight_bytes

ARTICLE_MEMORY = 4.0
ARTICLE_THROUGHPUT = 260 / 120
# LLaMA-2-13B projection shapes (hidden 5120, MLP 13824) and the bench's 4096 square.
SHAPES = [
    ("4096 x 4096", 4096, 4096),
    ("5120 x 5120 (attn proj)", 5120, 5120),
    ("5120 x 13824 (MLP up)", 5120, 13824),
]
BATCHES = (1, 16)


def main() -> None:
    print(
        "| GEMM K x N | M (tokens) | FP16 weight | INT4 weight | memory ratio (article 4x) "
        "| FP16 time | INT4 time | modelled speedup (article 2.17x) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, k, n in SHAPES:
        fp16_bytes = weight_bytes({"k": k, "n": n}, dense=True)
        int4_bytes = weight_bytes({"k": k, "n": n})
        for m in BATCHES:
            params = {"m": m, "k": k, "n": n}
            fp16 = modelled_time_ps(params, dense=True)
            int4 = modelled_time_ps(params)
            print(
                f"| {label} | {m} | {fp16_bytes / 2**20:.1f} MiB | {int4_bytes / 2**20:.2f} MiB | "
                f"{fp16_bytes / int4_bytes:.2f}x | {fp16 / 1e6:.1f} µs | {int4 / 1e6:.1f} µs | "
                f"{fp16 / int4:.2f}x |"
            )


if __name__ == "__main__":
    main()
