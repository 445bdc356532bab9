"""INT4 GEMM benchmark: emulation speed, probe overhead and GM traffic.

Run: python bench/bench_int4.py [--repeat 3] [--no-sweep]
Targets (issue 3, item 1):
* int4_gemm with M=16, N=K=4096 traced end to end (run, reference, trace file
  written) in under 10 s on one core;
* recording into memory costs at most 1.15x the same run with recording off;
* the default tiling moves at most 1.10x the minimal HBM traffic for every
  M in 1..16 (N=K=4096), as the analyzers count it (WORKSPACE copies excluded).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from ubscope.analyzers import TraceContext
from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import read_trace

SHAPE = {"k": 4096, "n": 4096}


def traced_run(m: int, folder: Path) -> tuple[float, float, int]:
    """Seconds to run and trace int4_gemm to a file, HBM bytes over the minimal
    traffic, and the modelled kernel time (ps)."""
    spec = get_kernel("int4_gemm")
    params = spec.resolve(overrides={"m": m, **SHAPE})
    path = folder / f"int4_m{m}.ubtrace"
    start = time.perf_counter()
    outcome = run_kernel(spec, params, load_chip(), path)
    seconds = time.perf_counter() - start
    if not outcome.result.matches():
        raise SystemExit(f"int4_gemm m={m}: output does not match the float64 reference")
    if spec.minimal_traffic is None:
        raise SystemExit("int4_gemm declares no minimal traffic to compare the HBM bytes with")
    minimal = spec.minimal_traffic(params)
    hbm = TraceContext(read_trace(path)).roofline["hbm_bytes"]
    return seconds, hbm / (minimal["read"] + minimal["write"]), outcome.duration_ps


def recording_overhead(m: int, repeats: int) -> tuple[float, float]:
    """Median seconds with recording into memory and with recording off."""
    spec = get_kernel("int4_gemm")
    params = spec.resolve(overrides={"m": m, **SHAPE})
    chip = load_chip()
    on, off = [], []
    for _ in range(repeats):  # interleaved, so machine load hits both alike
        start = time.perf_counter()
        run_kernel(spec, params, chip, recorder=Recorder())
        on.append(time.perf_counter() - start)
        start = time.perf_counter()
        run_kernel(spec, params, chip)
        off.append(time.perf_counter() - start)
    return statistics.median(on), statistics.median(off)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (median)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the M=1..15 traffic runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [traced_run(16, Path(tmp)) for _ in range(args.repeat)]
        sweep = [] if args.no_sweep else [traced_run(m, Path(tmp))[1] for m in range(1, 16)]
    seconds = statistics.median(run[0] for run in runs)
    traffic_16 = runs[0][1]
    on, off = recording_overhead(16, args.repeat)
    print("| measure | value | target |")
    print("|---|---|---|")
    print(
        f"| int4_gemm M=16 N=K=4096 traced end to end (median of {args.repeat}) | "
        f"{seconds:.2f} s | < 10 s |"
    )
    print(
        f"| recording on / off (median of {args.repeat} each: {on:.2f} s / {off:.2f} s) | "
        f"{on / off:.3f}x | <= 1.15x |"
    )
    print(f"| HBM bytes / minimal traffic, M=16 | {traffic_16:.3f}x | <= 1.10x |")
    if sweep:
        worst = max([*sweep, traffic_16])
        print(f"| HBM bytes / minimal traffic, worst of M=1..16 | {worst:.3f}x | <= 1.10x |")
    print(f"| modelled kernel time, M=16 | {runs[0][2] / 1e6:.1f} us | (info) |")


if __name__ == "__main__":
    main()
