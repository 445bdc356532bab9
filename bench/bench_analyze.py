"""Benchmark the analysis of one trace and print a markdown table.

Usage: ``python bench/bench_analyze.py TRACE [--runs 3]``

Each measurement runs in a fresh subprocess (so peak RSS is that step's own)
and reports the median of ``--runs``:

* read: ``read_trace`` — the bare time to load the trace's columns,
* analyze: ``analyze_trace`` on the loaded trace (every rule, correlation,
  metrics) — the analysis proper,
* end to end: ``analyze_path`` (read + analyze), as ``ubscope analyze`` does.

Targets (issue 4): 10 M events analyzed in <= 5 s, peak RSS <= 2 GB,
analysis / read <= 5x. Make a trace with ``bench/make_big_trace.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers.peak_memory import child_script

# Runs in the child: prints {"seconds": ..., "rss_bytes": ..., "events": ...}.
CHILD = child_script(
    """
import json, sys, time
from ubscope.probe.trace import read_trace
from ubscope.analyzers import analyze_path, analyze_trace
step, path = sys.argv[1], sys.argv[2]
if step == "analyze":
    import pyarrow as pa
    trace = read_trace(path)
    pa.default_memory_pool().release_unused()  # as analyze_path does
    start = time.perf_counter()
    analysis = analyze_trace(trace)
elif step == "read":
    start = time.perf_counter()
    trace = read_trace(path)
else:
    start = time.perf_counter()
    analysis = analyze_path(path)
    trace = analysis.trace
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rss_bytes": peak_rss_bytes(), "events": trace.event_count}))
"""
)
STEPS = (
    ("read", "read trace columns"),
    ("analyze", "analyze (loaded trace)"),
    ("path", "read + analyze (end to end)"),
)


def measure(step: str, trace: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, step, str(trace)], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace", type=Path)
    parser.add_argument("--runs", type=int, default=3, help="runs per step (median reported)")
    args = parser.parse_args(argv)
    results = {}
    for step, _ in STEPS:
        runs = [measure(step, args.trace) for _ in range(args.runs)]
        results[step] = {
            "seconds": statistics.median(r["seconds"] for r in runs),
            "rss": max(r["rss_bytes"] for r in runs),
            "events": runs[0]["events"],
        }
    events = results["read"]["events"]
    print(f"trace: {args.trace} ({events:,} events), median of {args.runs} run(s)\n")
    print("| step | time (s) | events/s | peak RSS (MiB) |")
    print("|---|---:|---:|---:|")
    for step, label in STEPS:
        row = results[step]
        rate = events / row["seconds"] if row["seconds"] else float("inf")
        print(f"| {label} | {row['seconds']:.2f} | {rate:,.0f} | {row['rss'] / 2**20:,.0f} |")
    ratio = results["analyze"]["seconds"] / results["read"]["seconds"]
    print(f"\nanalysis / read = {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
