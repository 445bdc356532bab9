"""Probe benchmark: recording throughput and bytes per event on disk.

Run: python bench/bench_probe.py
Targets (issue 2): >= 1 million events per second through the public recording
calls on one core; <= 24 bytes per event on disk for a typical kernel trace.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip
from ubscope.probe.events import CoreKind, Space
from ubscope.probe.recorder import Recorder

EVENTS = 1_000_000
REPEATS = 5


def recording_rate() -> float:
    """Events per second for a realistic mix of copies, computes and allocations."""
    rates = []
    aiv, gm, ub = int(CoreKind.AIV), int(Space.GM), int(Space.UB)
    for _ in range(REPEATS):
        rec = Recorder()
        copy, compute, alloc, free = rec.copy, rec.compute, rec.alloc, rec.free
        start = time.perf_counter()
        for i in range(EVENTS // 4):
            t = i * 1000
            alloc(aiv, i & 47, ub, 0, 16384, 16384, "x_que", "copyin", t)
            copy(aiv, i & 47, gm, 4096 * i, ub, 0, 16384, 16384, 16384, 1, "x", "copyin", t, 900)
            compute(aiv, i & 47, ub, 0, 32768, "Add", 8192, "compute", t + 900, 64)
            free(aiv, i & 47, ub, 0, 16384, 16384, "x_que", "copyin", t + 964)
        rec.flush()
        rates.append(EVENTS / (time.perf_counter() - start))
    return statistics.median(rates)


def bytes_per_event(kernel: str, preset: str | None = None) -> tuple[int, float]:
    spec = get_kernel(kernel)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.ubtrace"
        outcome = run_kernel(spec, spec.resolve(preset=preset), load_chip(), path, preset=preset)
        return outcome.events, path.stat().st_size / outcome.events


def main() -> None:
    rate = recording_rate()
    print("| measure | value | target |")
    print("|---|---|---|")
    print(
        f"| recording throughput (median of {REPEATS} x {EVENTS:,} events) | "
        f"{rate / 1e6:.2f} M events/s | >= 1.0 M events/s |"
    )
    for kernel, preset in TRACES:
        events, per_event = bytes_per_event(kernel, preset)
        label = f"{kernel} {preset or 'default'}"
        print(
            f"| bytes per event on disk: {label} ({events:,} events) | {per_event:.1f} B | <= 24 B |"
        )


TRACES = [
    ("int4_gemm", None),
    ("sparse_matmul", None),
    ("paged_attention", None),
    ("layernorm", None),
    ("pool_demo", None),
]

if __name__ == "__main__":
    main()
