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

Prints the median wall time of each, its ratio to the floor, each round's time
and how busy the whole machine was meanwhile (``/proc/stat``: every process's
work, the other users' too, and time the hypervisor stole), with the floor's own
CPU time: what the machine was busy with beyond that was someone else's, and a
core someone else holds is one ``--jobs 2`` cannot use. (The CPU time of the
sweep's workers is not measurable from here: they are children of its
forkserver, which nobody waits for.) Then the CPUs this machine has and its load average before and after the rounds (a sweep
cannot beat the floor by more than the cores it is given, nor use a core that
another job is busy on). A measure that exits non-zero stops the bench: its
time would be that of a failure, not of the work.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _machine_ticks() -> tuple[int, int]:
    """Busy and total clock ticks of all CPUs since boot (idle and iowait are not busy)."""
    with open("/proc/stat") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:9]]
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)


def _timed(argv: list[str]) -> tuple[float, float, float]:
    """Wall seconds, own CPU seconds (what was waited for) and the machine's busy share."""
    cpu, (busy, total), start = _children_cpu(), _machine_ticks(), time.perf_counter()
    done = subprocess.run(argv, check=False, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    busy_after, total_after = _machine_ticks()
    if done.returncode != 0:
        raise SystemExit(f"exit {done.returncode}: {' '.join(argv)}\n{done.stderr[-2000:]}")
    share = (busy_after - busy) / max(total_after - total, 1)
    return elapsed, _children_cpu() - cpu, share


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
    load_before = os.getloadavg()[0]
    times: dict[str, list[tuple[float, float, float]]] = {}
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
    floors = times["floor: run + analyze in one process"]
    floor = statistics.median(wall for wall, _, _ in floors)
    configs = len(args.tiles.split(","))
    print(f"pool_demo n={args.n}, {configs} configurations (tile={args.tiles}), cores=1")
    load = f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    print(f"CPUs: {os.cpu_count()}, {load}, rounds: {args.rounds}")
    own = statistics.median(cpu for _, cpu, _ in floors)
    print(f"floor's own CPU time (user + system): {own:.2f} s (median)")
    print(f"{'measure':<40} {'median s':>9} {'x floor':>8} {'busy':>5}  rounds s")
    for name, values in times.items():
        median = statistics.median(wall for wall, _, _ in values)
        busy = statistics.median(share for _, _, share in values)
        rounds = " ".join(f"{wall:.2f}" for wall, _, _ in values)
        print(f"{name:<40} {median:>9.2f} {median / floor:>8.2f} {busy:>5.0%}  {rounds}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
