"""``ubscope sweep`` against the serial floor of the same work (issue 17, item 6).

Usage: ``python bench/bench_sweep.py [--rounds 3] [--tiles 1024,2048,4096,8192] [--n 262144]``

The same grid (``pool_demo`` over ``--tiles`` at ``--n`` elements on one core)
is run, each measure in a fresh process and the measures taking turns round
after round (interleaved, so a change of load on this shared machine hits them
alike):

* floor: one Python process running each configuration and analyzing its
  trace in turn (``run_kernel`` + ``analyze_path``), no pool, no table;
* ``ubscope sweep --jobs 1`` and ``--jobs 2`` into an empty folder: the worker
  processes, the table and the terminal output on top of the same work;
* ``ubscope sweep`` again into the finished folder: what a resumed sweep with
  nothing left to run costs.

Prints the median wall time of each and its ratio to the floor, and the CPUs
this machine has and its load average (a sweep cannot beat the floor by more
than the cores it is given).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR = """
import sys
from ubscope.analyzers import analyze_path
from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.probe.chip import load_chip

folder, n, tiles = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
spec, chip = get_kernel("pool_demo"), load_chip()
for tile in tiles:
    params = spec.resolve([f"n={n}", f"tile={tile}", "cores=1"])
    trace = f"{folder}/pool_demo_{tile}.ubtrace"
    run_kernel(spec, params, chip, trace)
    analyze_path(trace).metrics
"""


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=False, capture_output=True)
    return time.perf_counter() - start


def _sweep(folder: Path, n: int, tiles: str, jobs: int) -> list[str]:
    return [
        *(sys.executable, "-m", "ubscope", "sweep", "pool_demo"),
        *("--grid", f"tile={tiles}", "-p", f"n={n}", "-p", "cores=1"),
        *("-o", str(folder), "--jobs", str(jobs)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--tiles", default="1024,2048,4096,8192", help="the swept tile sizes")
    parser.add_argument("--n", type=int, default=262144, help="elements (default 262144)")
    args = parser.parse_args()
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for round_ in range(args.rounds):
            cases = {
                "floor: run + analyze in one process": [
                    sys.executable,
                    "-c",
                    FLOOR,
                    str(root / f"floor{round_}"),
                    str(args.n),
                    args.tiles,
                ],  # fmt: skip
                "ubscope sweep --jobs 1": _sweep(root / f"j1_{round_}", args.n, args.tiles, 1),
                "ubscope sweep --jobs 2": _sweep(root / f"j2_{round_}", args.n, args.tiles, 2),
            }
            (root / f"floor{round_}").mkdir()
            for name, argv in cases.items():
                times.setdefault(name, []).append(_timed(argv))
            resumed = _sweep(root / f"j2_{round_}", args.n, args.tiles, 2)
            times.setdefault("ubscope sweep, all finished (resume)", []).append(_timed(resumed))
            for folder in root.iterdir():
                shutil.rmtree(folder)
    floor = statistics.median(times["floor: run + analyze in one process"])
    configs = len(args.tiles.split(","))
    print(f"pool_demo n={args.n}, {configs} configurations (tile={args.tiles}), cores=1")
    print(f"CPUs: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}, rounds: {args.rounds}")
    print(f"{'measure':<40} {'median s':>9} {'x floor':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<40} {median:>9.2f} {median / floor:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
