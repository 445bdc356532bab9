"""Benchmark that the analysis grows linearly with the trace, on the shapes that
once made it quadratic, and print a markdown table.

Usage: ``python bench/bench_linear.py [--scale 1] [--runs 3]``

Shapes (each at 3 sizes, every size twice the previous):

* unique-names: alloc/free pairs on one vector core, every pair with its own
  buffer name (and never used, so every rule that reports per buffer name
  reports each one);
* many-cores: alloc/copy/free triples, each triple on its own core (vector and
  cube cores, up to 32,000 of each, then round again).

Every measurement is ``analyze_trace`` (every rule, correlation, metrics) on an
already read trace, median of ``--runs``; the ratio column is the time over
the previous size's time (2.0 is linear, 4.0 quadratic). The traces are built with the real
:class:`Recorder`, so they are what ``ubscope run`` would write.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ubscope.analyzers import analyze_trace
from ubscope.probe.chip import load_chip
from ubscope.probe.events import CoreKind, Space
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import TraceWriter, new_metadata, read_trace

CORES_PER_KIND = 32_000


def write_unique_names(path: Path, events: int) -> None:
    """``events / 2`` alloc/free pairs on core 0, each buffer named differently."""
    _write(path, "unique_names", events, _unique_names)


def write_many_cores(path: Path, events: int) -> None:
    """``events / 3`` alloc/copy/free triples, each on its own core."""
    _write(path, "many_cores", events, _many_cores)


def _unique_names(rec: Recorder, events: int) -> None:
    for index in range(events // 2):
        t = 1000 * index
        rec.alloc(CoreKind.AIV, 0, Space.UB, 0, 256, 256, f"buf{index}", "site", t)
        rec.free(CoreKind.AIV, 0, Space.UB, 0, 256, 256, f"buf{index}", "site", t + 500)


def _many_cores(rec: Recorder, events: int) -> None:
    for index in range(events // 3):
        kind = CoreKind.AIV if index % 2 == 0 else CoreKind.AIC
        space = Space.UB if kind == CoreKind.AIV else Space.L1
        core = (index // 2) % CORES_PER_KIND
        t = 1000 * index
        rec.alloc(kind, core, space, 0, 512, 512, "tile", "site", t)
        rec.copy(
            kind,
            core,
            Space.GM,
            0x12C0_C000_0000 + 512 * index,
            space,
            0,
            512,
            512,
            512,
            1,
            "x",
            "copyin",
            t + 100,
            300,
        )
        rec.free(kind, core, space, 0, 512, 512, "tile", "site", t + 500)


def _write(path: Path, kernel: str, events: int, body) -> None:
    writer = TraceWriter(path, new_metadata(load_chip().to_dict(), kernel, {"events": events}))
    rec = Recorder(sink=writer.write)
    rec.kernel_begin(kernel, 1, 0, "vector")
    body(rec, events)
    rec.kernel_end(kernel, 1000 * events, 1000 * events)
    rec.flush()
    writer.close()


SHAPES = {"unique-names": write_unique_names, "many-cores": write_many_cores}
BASE_EVENTS = {"unique-names": 10_000, "many-cores": 75_000}


def time_analysis(path: Path, runs: int) -> float:
    trace = read_trace(path)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        analyze_trace(trace)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the sizes")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print("| shape | events | analysis | ratio to the previous size |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for shape, write in SHAPES.items():
            previous = None
            for step in range(3):
                events = int(BASE_EVENTS[shape] * args.scale) << step
                path = Path(folder) / f"{shape}-{events}.ubtrace"
                write(path, events)
                seconds = time_analysis(path, args.runs)
                ratio = f"{seconds / previous:.2f}x" if previous else "-"
                print(f"| {shape} | {events:,} | {seconds:.2f} s | {ratio} |", flush=True)
                previous = seconds
    return 0


if __name__ == "__main__":
    sys.exit(main())
