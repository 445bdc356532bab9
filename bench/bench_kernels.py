"""Python kernels against the math alone, and against an older tree.

Run: python bench/bench_kernels.py [--repeat 5] [--before WORKTREE]

1. Whole process (issue 17, item 5): ``ubscope run int4_gemm`` at M=16,
   N=K=4096 (emulation, trace written, numerics checked) against a numpy
   script of the same math (this file with ``--floor``: the same inputs,
   dequantization, the matmul and the float64 reference check), each in a
   fresh interpreter, interleaved and repeated. Target: within 2.5x.
2. In process, per kernel at its demo size: the seconds ``ubscope run``
   spends running the kernel into a trace and checking it, in this tree and,
   with ``--before`` (a ``git worktree add`` of an older commit), in that
   tree, interleaved in fresh interpreters.

Wall times on a shared machine are noisy; the child processes' CPU seconds
(user + system) are reported beside them, and the ratios of both.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from older_tree import older_tree, timed

INT4_ARGS = ("int4_gemm", "m=16", "n=4096", "k=4096")
# Each kernel at the size `ubscope demo` runs it (its defaults), int4_gemm at the target's.
KERNELS = (INT4_ARGS, ("fp16_gemm",), ("layernorm",), ("paged_attention",), ("sparse_matmul",))


def floor(m: int = 16, n: int = 4096, k: int = 4096, seed: int = 0) -> None:
    """The math of int4_gemm in numpy alone: x ~ N(0, 1) fp16, int4 weights,
    per-channel scale and offset drawn as the kernel draws them;
    ``(w + offset) * scale`` in fp32 cast once to fp16, ``x @ w`` accumulated
    in fp32 and rounded to fp16, then the float64 reference and its check."""
    import numpy as np

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, k)).astype(np.float16)
    w = rng.integers(-8, 8, (k, n), dtype=np.int8)
    scale = (rng.uniform(0.5, 1.5, (1, n)) / (5 * math.sqrt(k))).astype(np.float16)
    offset = rng.uniform(-2.0, 2.0, (1, n)).astype(np.float16)
    weights = ((w + offset.astype(np.float32)) * scale.astype(np.float32)).astype(np.float16)
    y = (x.astype(np.float32) @ weights.astype(np.float32)).astype(np.float16)
    reference = x.astype(np.float64) @ ((w + offset.astype(np.float64)) * scale)
    error = float(np.abs(y - reference).max())
    matches = bool(np.allclose(y, reference, rtol=1e-2, atol=1e-2))
    print(json.dumps({"seconds": time.perf_counter() - start, "error": error, "ok": matches}))


def in_process(args: list[str]) -> None:
    """Seconds (wall, CPU) of what ``ubscope run`` does after start-up: run
    the kernel into a trace, then the error and verdict it prints."""
    from ubscope.kernels.catalog import get_kernel
    from ubscope.kernels.registry import run_kernel
    from ubscope.probe.chip import load_chip

    name, overrides = args[0], {}
    for assignment in args[1:]:
        key, value = assignment.split("=")
        overrides[key] = int(value)
    spec = get_kernel(name)
    params = spec.resolve(overrides=overrides)
    chip = load_chip()
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = time.perf_counter(), time.process_time()
        outcome = run_kernel(spec, params, chip, Path(tmp) / "run.ubtrace")
        outcome.result.max_errors()  # as `ubscope run` asks: errors, verdict, verdict
        ok = outcome.result.matches() and outcome.result.matches()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"seconds": wall, "cpu": cpu, "ok": ok}))


def whole_run(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        trace = str(Path(tmp) / "int4.ubtrace")
        params = [f"--param={value}" for value in INT4_ARGS[1:]]
        run = [sys.executable, "-m", "ubscope", "run", INT4_ARGS[0], *params, "-o", trace]
        numpy_script = [sys.executable, __file__, "--floor"]
        runs, floors = [], []
        for _ in range(repeat):  # interleaved, so machine load hits both alike
            runs.append(timed(run)[:2])
            floors.append(timed(numpy_script)[:2])
    wall = statistics.median(r[0] for r in runs), statistics.median(f[0] for f in floors)
    cpu = statistics.median(r[1] for r in runs), statistics.median(f[1] for f in floors)
    print(f"\n### Whole process, median of {repeat} interleaved\n")
    print("| | ubscope run int4_gemm M=16 N=K=4096 | numpy script | ratio | target |")
    print("|---|---|---|---|---|")
    print(f"| wall | {wall[0]:.2f} s | {wall[1]:.2f} s | {wall[0] / wall[1]:.2f}x | <= 2.5x |")
    print(f"| CPU (user+sys) | {cpu[0]:.2f} s | {cpu[1]:.2f} s | {cpu[0] / cpu[1]:.2f}x | |")


def per_kernel(repeat: int, before: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        old_env = older_tree(before, Path(tmp)) if before is not None else None
        rows = []
        for args in KERNELS:
            command = [sys.executable, __file__, "--in-process", *args]
            new, old = [], []
            for _ in range(repeat):
                new.append(json.loads(timed(command)[2]))
                if old_env is not None:
                    old.append(json.loads(timed(command, old_env)[2]))
            rows.append((" ".join(args), new, old))
    print(f"\n### In process (run into a trace + numerics check), median of {repeat}\n")
    print("| kernel | this tree wall / CPU | before wall / CPU | before / this (CPU) |")
    print("|---|---|---|---|")
    for label, new, old in rows:
        new_wall = statistics.median(r["seconds"] for r in new)
        new_cpu = statistics.median(r["cpu"] for r in new)
        cells = [f"{new_wall:.2f} s / {new_cpu:.2f} s", "-", "-"]
        if old:
            old_wall = statistics.median(r["seconds"] for r in old)
            old_cpu = statistics.median(r["cpu"] for r in old)
            cells[1:] = [f"{old_wall:.2f} s / {old_cpu:.2f} s", f"{old_cpu / new_cpu:.2f}x"]
        print(f"| {label} | {' | '.join(cells)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--before", type=Path, help="a worktree of an older commit to compare")
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--in-process", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        floor()
        return
    if args.in_process:
        in_process(args.in_process)
        return
    print(f"load average before: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    whole_run(args.repeat)
    per_kernel(args.repeat, args.before)
    print(f"\nload average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
