"""Benchmark reading and analysing traces against the Arrow floor and peers, and
print markdown tables.

Usage::

    python bench/bench_analyze.py TRACE [--runs 3]
    python bench/bench_analyze.py --sizes 1,5,10,20 [--workdir DIR] [--runs 3]

Each measurement runs in a fresh subprocess (so peak RSS is that step's own);
the steps of one run are interleaved and the runs repeated, and every ratio is
the median over the runs of the step's time over the floor's time in the same
run (absolute times on a shared machine are noisy; ratios less so). CPU time
(user + system, every thread) is given beside the wall time: other processes
inflate it much less. Page faults are the step's minor faults, one per page of
memory it touched for the first time: 4 KiB pages for ubscope's numpy arrays,
2 MiB huge pages for most of what Arrow's allocator hands out (the floor's).
On the benchmark machine, a VM whose host takes back the guest's free memory
in 2 MiB blocks, a 4 KiB fault cost 0.35 us of system time when the guest still
held the page and 8.5 us when the host had to back it again, so the faults
explain much of the variation in CPU time between runs.

* floor: ``pa.ipc.open_stream(...).read_all()`` of the same file, the bare Arrow
  read of every column,
* read: ``read_trace`` (validated, numpy columns),
* analyze: ``analyze_trace`` on the loaded trace (every rule, correlation,
  metrics),
* end to end: ``analyze_path`` (read + analyze), as ``ubscope analyze`` does,
* DuckDB and polars (benchmark-only peers, skipped with a message when not
  installed): read the trace (through pyarrow: neither reads an Arrow stream
  with dictionary deltas itself) and do the aggregations the analysis rests on,
  fewer than ubscope does: event counts per kind, per core and space the live
  bytes after every alloc/free (a running sum in program order) and their peak,
  GM traffic per tensor and direction with small-burst and unaligned counts,
  busy time and last end per core, flagged events per kind, name and tag.

``--sizes`` writes traces of ``bench/make_big_trace.py`` of the given millions of
events (kept in ``--workdir``) and fits the exponent of the analysis time and
of the end-to-end time against the event count (1.0 is linear).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from make_big_trace import write_big_trace

from tests.helpers.peak_memory import child_script

# Runs in the child: prints {"seconds": ..., "cpu": ..., "rss_bytes": ..., "events": ...}.
CHILD = child_script(
    """
import json, resource, sys, time
step, path = sys.argv[1], sys.argv[2]


def minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

import pyarrow as pa
from ubscope.probe.trace import read_trace
from ubscope.analyzers import analyze_path, analyze_trace


def arrow_table():
    with pa.OSFile(path) as handle:
        return pa.ipc.open_stream(handle).read_all()


def duckdb_aggregations():
    import duckdb

    events = arrow_table()
    con = duckdb.connect()
    con.register("events", events)
    queries = (
        "select kind, count(*) from events group by all",
        "select core_kind, core, space, max(live) from (select core_kind, core, space,"
        " sum(case when kind = 'alloc' then aligned_size else -aligned_size end) over"
        " (partition by core_kind, core, space order by seq rows unbounded preceding) as live"
        " from events where kind in ('alloc', 'free')) group by all",
        "select tensor, src_space = 'GM' as gm_read, count(*), sum(aligned_size),"
        " count(*) filter (where burst_len < 512), count(*) filter (where flags & 4 != 0)"
        " from events where kind = 'copy' and (src_space = 'GM' or space = 'GM') group by all",
        "select core_kind, core, sum(dur_ps), max(start_ps + dur_ps) from events group by all",
        "select kind, name, tag, count(*) from events where flags != 0 group by all",
    )
    for query in queries:
        con.sql(query).fetchall()
    return events.num_rows


def polars_aggregations():
    import polars as pl

    events = pl.from_arrow(arrow_table())  # polars' own reader rejects dictionary deltas
    group = ["core_kind", "core", "space"]
    blocks = events.filter(pl.col("kind").is_in(["alloc", "free"]))
    signed = pl.when(pl.col("kind") == "alloc").then(pl.col("aligned_size"))
    blocks.with_columns(
        live=signed.otherwise(-pl.col("aligned_size")).cum_sum().over(group)
    ).group_by(group).agg(pl.col("live").max())
    events.group_by("kind").len()
    gm = (pl.col("src_space") == "GM") | (pl.col("space") == "GM")
    events.filter((pl.col("kind") == "copy") & gm).group_by(
        "tensor", (pl.col("src_space") == "GM").alias("gm_read")
    ).agg(
        pl.len(),
        pl.col("aligned_size").sum(),
        (pl.col("burst_len") < 512).sum(),
        ((pl.col("flags") & 4) != 0).sum(),
    )
    events.group_by("core_kind", "core").agg(
        pl.col("dur_ps").sum(), (pl.col("start_ps") + pl.col("dur_ps")).max()
    )
    events.filter(pl.col("flags") != 0).group_by("kind", "name", "tag").len()
    return events.height


if step == "analyze":
    trace = read_trace(path)
    pa.default_memory_pool().release_unused()  # as analyze_path does
start, cpu, faults = time.perf_counter(), time.process_time(), minor_faults()
if step == "floor":
    events = arrow_table().num_rows
elif step == "read":
    events = read_trace(path).event_count
elif step == "analyze":
    events = analyze_trace(trace).trace.event_count
elif step == "path":
    events = analyze_path(path).trace.event_count
elif step == "duckdb":
    events = duckdb_aggregations()
else:
    events = polars_aggregations()
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
faults = minor_faults() - faults
print(json.dumps({"seconds": seconds, "cpu": cpu, "faults": faults, "rss_bytes": peak_rss_bytes(),
                  "events": events}))
"""
)
STEPS = {
    "floor": "Arrow floor: `read_all()`",
    "read": "`read_trace`",
    "analyze": "analyze (loaded trace)",
    "path": "read + analyze (`analyze_path`)",
    "duckdb": "DuckDB: read + aggregations",
    "polars": "polars: read + aggregations",
}
PEERS = {"duckdb": "duckdb", "polars": "polars"}


def measure(step: str, trace: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, step, str(trace)], capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"{step} failed on {trace}:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def available_steps(steps: list[str]) -> list[str]:
    """``steps`` without the peers that are not installed (said on stderr)."""
    kept = []
    for step in steps:
        if step in PEERS and find_spec(PEERS[step]) is None:
            print(f"{step}: not installed (pip install {PEERS[step]}), skipped", file=sys.stderr)
            continue
        kept.append(step)
    return kept


def interleaved(trace: Path, steps: list[str], runs: int) -> dict[str, list[dict[str, float]]]:
    """Every step once per run, in order, ``runs`` times."""
    results: dict[str, list[dict[str, float]]] = {step: [] for step in steps}
    for _ in range(runs):
        for step in steps:
            results[step].append(measure(step, trace))
    return results


def summary(results: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per step: median wall and CPU seconds, their median ratios to the same
    run's floor, peak RSS."""
    floor = results["floor"]
    return {
        step: {
            "seconds": statistics.median(r["seconds"] for r in runs),
            "ratio": statistics.median(
                r["seconds"] / f["seconds"] for r, f in zip(runs, floor, strict=True)
            ),
            "cpu": statistics.median(r["cpu"] for r in runs),
            "cpu_ratio": statistics.median(
                r["cpu"] / f["cpu"] for r, f in zip(runs, floor, strict=True)
            ),
            "faults": statistics.median(r["faults"] for r in runs),
            "rss": max(r["rss_bytes"] for r in runs),
            "events": runs[0]["events"],
        }
        for step, runs in results.items()
    }


def single(trace: Path, runs: int) -> None:
    steps = available_steps(list(STEPS))
    rows = summary(interleaved(trace, steps, runs))
    events = rows["floor"]["events"]
    print(f"trace: {trace.name} ({events:,} events), {runs} interleaved run(s), medians\n")
    print("| step | time | x floor | CPU time | x floor | page faults | peak RSS | RSS per event |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for step in steps:
        row = rows[step]
        print(
            f"| {STEPS[step]} | {row['seconds']:.2f} s | {row['ratio']:.2f}x "
            f"| {row['cpu']:.2f} s | {row['cpu_ratio']:.2f}x | {row['faults'] / 1000:,.0f} k "
            f"| {row['rss'] / 2**20:,.0f} MiB | {row['rss'] / events:.0f} B |"
        )


def exponent(events: Sequence[float], seconds: Sequence[float]) -> float:
    """Slope of log(time) against log(events): 1.0 is linear, 2.0 quadratic."""
    return float(np.polyfit(np.log(events), np.log(seconds), 1)[0])


def scaling(sizes: list[float], workdir: Path, runs: int) -> None:
    steps = ["floor", "analyze", "path"]
    table = []
    for millions in sizes:
        trace = workdir / f"big-{millions:g}M.ubtrace"
        if not trace.exists():
            write_big_trace(int(millions * 1_000_000), trace)
        rows = summary(interleaved(trace, steps, runs))
        table.append((rows["floor"]["events"], rows))
        print(f"measured {trace.name}", file=sys.stderr, flush=True)
    print(f"{runs} interleaved run(s) per size, medians\n")
    # CPU time beside wall time: on this shared machine another user's load
    # stretches the wall times (the floor's most, being the shortest) far more.
    print(
        "| events | floor | analyze | end to end | x floor | CPU: floor | analyze | end to end"
        " | x floor | peak RSS | RSS per event |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for events, rows in table:
        floor, analyze, path = rows["floor"], rows["analyze"], rows["path"]
        print(
            f"| {events:,} | {floor['seconds']:.2f} s | {analyze['seconds']:.2f} s"
            f" | {path['seconds']:.2f} s | {path['ratio']:.2f}x | {floor['cpu']:.2f} s"
            f" | {analyze['cpu']:.2f} s | {path['cpu']:.2f} s | {path['cpu_ratio']:.2f}x"
            f" | {path['rss'] / 2**20:,.0f} MiB | {path['rss'] / events:.0f} B |"
        )
    counts = [events for events, _ in table]
    print()
    for step, label in (("analyze", "analysis"), ("path", "end to end"), ("floor", "floor")):
        wall = exponent(counts, [rows[step]["seconds"] for _, rows in table])
        cpu = exponent(counts, [rows[step]["cpu"] for _, rows in table])
        print(f"{label}: wall time ~ events^{wall:.2f}, CPU time ~ events^{cpu:.2f}  ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace", type=Path, nargs="?", help="trace to measure")
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs (medians)")
    parser.add_argument(
        "--sizes", help="millions of events, comma-separated: fit the exponent instead"
    )
    parser.add_argument("--workdir", type=Path, help="where --sizes keeps its traces")
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = [float(size) for size in args.sizes.split(",")]
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ubscope-bench-"))
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            scaling(sizes, workdir, args.runs)
        finally:
            if args.workdir is None:
                shutil.rmtree(workdir)
        return 0
    if args.trace is None:
        parser.error("give a TRACE or --sizes")
    single(args.trace, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
