"""Paper check: the article's INT4 claims against ubscope's traces and cost model.

Run: python bench/paper_check.py [--sensitivity]   (the 2:4 claims: python bench/bench_sparse.py)

The article claims, for INT4 vs FP16 weights: 4x less weight memory and 2.17x
throughput (FP16 120, INT8 180, INT4 260 tokens/s). ubscope reproduces what a
memory model can: weight bytes exactly, and modelled decode throughput (tokens
per second = tokens in the batch over the modelled kernel time of one GEMM of
the model's shape). Accuracy (78.2 / 77.9 / 76.5 %) needs a real model and data
and is not reproduced.

``--sensitivity`` reruns the 4096 x 4096 speedup with each assumed or fitted
chip figure halved and doubled alone, so a verdict that hangs on one figure shows.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ubscope.kernels.gemm.specs import modelled_time_ps, weight_bytes
from ubscope.probe.chip import ChipProfile, load_chip

ARTICLE_MEMORY = 4.0
ARTICLE_THROUGHPUT = 260 / 120
# LLaMA-2-13B projection shapes (hidden 5120, MLP 13824) and the bench's 4096 square.
SHAPES = [
    ("4096 x 4096", 4096, 4096),
    ("5120 x 5120 (attn proj)", 5120, 5120),
    ("5120 x 13824 (MLP up)", 5120, 13824),
]
BATCHES = (1, 16)


def _scaled(field: str) -> Callable[[ChipProfile, float], ChipProfile]:
    def scale(chip: ChipProfile, factor: float) -> ChipProfile:
        value = getattr(chip, field)
        changes: dict[str, Any] = {
            field: {key: v * factor for key, v in value.items()}
            if isinstance(value, dict)
            else type(value)(value * factor)
        }
        return replace(chip, **changes)

    return scale


# The figures docs/trace-format.md marks as assumed, fitted or unconfirmed.
FIGURES = (
    ("HBM bandwidth (1.6 TB/s, unconfirmed)", _scaled("gm_bandwidth")),
    ("per-core GM cap (64 B/cycle, assumed)", _scaled("gm_rate_per_core")),
    ("L2 rate per core (86 B/cycle, 910B1 ini)", _scaled("l2_rate_per_core")),
    ("GM copy latency (fitted)", _scaled("gm_latency_ns")),
    ("GM copy issue time (fitted)", _scaled("gm_issue_ns")),
    ("launch overhead (fitted)", _scaled("launch_overhead_ns")),
)


def speedups(chip: ChipProfile, k: int, n: int) -> list[tuple[int, int, int]]:
    """(M, FP16 ps, INT4 ps) for each batch."""
    return [
        (
            m,
            modelled_time_ps({"m": m, "k": k, "n": n}, dense=True, chip=chip),
            modelled_time_ps({"m": m, "k": k, "n": n}, chip=chip),
        )
        for m in BATCHES
    ]


def print_table(chip: ChipProfile) -> None:
    print(
        "| GEMM K x N | M (tokens) | FP16 weight | INT4 weight | memory ratio (article 4x) "
        "| FP16 time | INT4 time | modelled speedup (article 2.17x) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, k, n in SHAPES:
        fp16_bytes = weight_bytes({"k": k, "n": n}, dense=True)
        int4_bytes = weight_bytes({"k": k, "n": n})
        for m, fp16, int4 in speedups(chip, k, n):
            print(
                f"| {label} | {m} | {fp16_bytes / 2**20:.1f} MiB | {int4_bytes / 2**20:.2f} MiB | "
                f"{fp16_bytes / int4_bytes:.2f}x | {fp16 / 1e6:.1f} µs | {int4 / 1e6:.1f} µs | "
                f"{fp16 / int4:.2f}x |"
            )


def print_sensitivity(chip: ChipProfile) -> None:
    label, k, n = SHAPES[0]
    header = " | ".join(f"speedup M={m} (x0.5 / x2)" for m in BATCHES)
    print(f"| figure ({label}) | {header} |")
    print("|---|" + "---|" * len(BATCHES))
    base = speedups(chip, k, n)
    print("| as profiled | " + " | ".join(f"{f / i:.2f}x" for _, f, i in base) + " |")
    for name, scale in FIGURES:
        low, high = speedups(scale(chip, 0.5), k, n), speedups(scale(chip, 2.0), k, n)
        cells = [
            f"{fl / il:.2f}x / {fh / ih:.2f}x"
            for (_, fl, il), (_, fh, ih) in zip(low, high, strict=True)
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="The article's INT4 vs FP16 claims under ubscope's model (markdown tables)."
    )
    parser.add_argument("--chip", default="Ascend910B2", help="chip profile (default Ascend910B2)")
    parser.add_argument(
        "--sensitivity",
        action="store_true",
        help="also rerun 4096 x 4096 with each assumed or fitted figure halved and doubled",
    )
    args = parser.parse_args(argv)
    chip = load_chip(args.chip)
    print_table(chip)
    if args.sensitivity:
        print()
        print_sensitivity(chip)


if __name__ == "__main__":
    main()
