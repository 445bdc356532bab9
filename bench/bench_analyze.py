"""Benchmark reading and analysing traces against the Arrow floor and peers, and
print markdown tables.

Usage::

    python bench/bench_analyze.py TRACE [--runs 3]
    python bench/bench_analyze.py --sizes 1,5,10,20 [--workdir DIR] [--runs 3]

Each measurement runs in a fresh subprocess (so peak RSS is that step's own);
the steps of one run are interleaved and the runs repeated, and every ratio is
the median over the runs of the step's time over the floor's time in the same
run (absolute times on a shared machine are noisy; ratios less so), and beside
it the step's fastest run over the floor's fastest ("best x best"): the
floor's huge-page faults make its time swing far more than the analysis',
so a slow floor flatters the median ratio. CPU time
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
  busy time and last end per core, flagged events per kind, name and tag;
* the same peers doing those and, as well, the first and last copy or compute
  touching every allocated block while it is live (what UB009-UB011 rest on,
  and the costliest aggregation of ubscope's analysis): blocks paired alloc to
  free in order per address, touches joined to them as of their row (an ASOF
  join). The peers match touches at a block's start address only, ubscope any
  address inside the block; in ``make_big_trace`` traces every touch is at a
  start, so the results must agree, and the benchmark checks that they do
  (count and sums of the first and last sequence numbers).

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
from typing import Any

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

import numpy as np
import pyarrow as pa
from ubscope.probe.trace import read_trace
from ubscope.analyzers import analyze_path, analyze_trace


def arrow_table():
    with pa.OSFile(path) as handle:
        return pa.ipc.open_stream(handle).read_all()


from ubscope.probe.events import ON_CHIP_SPACES, Flag

ON_CHIP = tuple(space.name for space in ON_CHIP_SPACES)  # the labels of the trace
SECOND, THIRD = int(Flag.SECOND_SOURCE), int(Flag.THIRD_SOURCE)
# first / last touch of every block: allocs and frees paired in order per
# (core, space, address), every on-chip operand of a copy or compute (a
# compute's second and third sources where its flags say it has them) joined
# to the latest block allocated at its address before it, kept while live
DUCKDB_TOUCHES = f'''
with keyed as (
  select seq, kind, flags, addr, src_addr, arg2, burst_len,
    hash(core_kind, core, space) as dst_key, hash(core_kind, core, src_space) as src_key,
    space in {ON_CHIP} as dst_on_chip, src_space in {ON_CHIP} as src_on_chip
  from events where kind in ('alloc', 'free', 'copy', 'compute')),
ends as (
  select dst_key as key, addr, seq, kind,
    row_number() over (partition by dst_key, addr, kind order by seq) as n
  from keyed where kind in ('alloc', 'free')),
blocks as (
  select a.key, a.addr, a.seq as alloc_seq, f.seq as free_seq
  from ends a left join ends f on a.key = f.key and a.addr = f.addr and a.n = f.n
    and f.kind = 'free'
  where a.kind = 'alloc'),
touches as (
  select dst_key as key, addr, seq from keyed where kind in ('copy', 'compute') and dst_on_chip
  union all
  select src_key, src_addr, seq from keyed where kind in ('copy', 'compute') and src_on_chip
  union all
  select src_key, arg2, seq from keyed where kind = 'compute' and flags & {SECOND} != 0
  union all
  select src_key, burst_len, seq from keyed where kind = 'compute' and flags & {THIRD} != 0)
select min(t.seq) as first_seq, max(t.seq) as last_seq
from touches t asof join blocks b on t.key = b.key and t.addr = b.addr and t.seq > b.alloc_seq
where b.free_seq is null or t.seq < b.free_seq
group by b.alloc_seq
'''


def touch_digest(first_seq, last_seq):
    # what the peers and ubscope must agree on: blocks touched, and the sums of
    # their first and last touches' sequence numbers
    return [len(first_seq), int(np.sum(first_seq)), int(np.sum(last_seq))]


def duckdb_aggregations(with_touches):
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
    if with_touches:
        usage = con.sql(DUCKDB_TOUCHES).fetchnumpy()
        return events.num_rows, touch_digest(usage["first_seq"], usage["last_seq"])
    return events.num_rows, None


def polars_touches(events):
    import polars as pl

    key = ["core_kind", "core", "space", "addr"]
    ends = (
        events.filter(pl.col("kind").is_in(["alloc", "free"]))
        .select(*key, "seq", "kind")
        .with_columns(n=pl.int_range(pl.len()).over(*key, "kind"))
    )
    frees = ends.filter(pl.col("kind") == "free").select(*key, "n", free_seq="seq")
    blocks = (
        ends.filter(pl.col("kind") == "alloc")
        .join(frees, on=[*key, "n"], how="left")
        .select(*key, alloc_seq="seq", free_seq="free_seq")
        .sort("alloc_seq")
    )
    access = events.filter(pl.col("kind").is_in(["copy", "compute"]))

    def source(address):
        return ["core_kind", "core", pl.col("src_space").alias("space"), address.alias("addr"), "seq"]

    touches = pl.concat(
        [
            access.filter(pl.col("space").is_in(ON_CHIP)).select(*key, "seq"),
            access.filter(pl.col("src_space").is_in(ON_CHIP)).select(source(pl.col("src_addr"))),
            access.filter(pl.col("flags") & SECOND != 0).select(source(pl.col("arg2"))),
            access.filter(pl.col("flags") & THIRD != 0).select(source(pl.col("burst_len"))),
        ]
    ).sort("seq")
    live = touches.join_asof(
        blocks,
        left_on="seq",
        right_on="alloc_seq",
        by=key,
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    ).filter(
        pl.col("alloc_seq").is_not_null()
        & (pl.col("free_seq").is_null() | (pl.col("seq") < pl.col("free_seq")))
    )
    usage = live.group_by("alloc_seq").agg(pl.col("seq").min().alias("first"), pl.col("seq").max())
    return touch_digest(usage["first"].to_numpy(), usage["seq"].to_numpy())


def polars_aggregations(with_touches):
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
    return events.height, polars_touches(events) if with_touches else None


if step == "analyze":
    trace = read_trace(path)
    pa.default_memory_pool().release_unused()  # as analyze_path does
start, cpu, faults = time.perf_counter(), time.process_time(), minor_faults()
digest = None
if step == "floor":
    events = arrow_table().num_rows
elif step == "read":
    events = read_trace(path).event_count
elif step == "analyze":
    analysis = analyze_trace(trace)
    events = analysis.trace.event_count
elif step == "path":
    events = analyze_path(path).trace.event_count
elif step.startswith("duckdb"):
    events, digest = duckdb_aggregations(step.endswith("touches"))
else:
    events, digest = polars_aggregations(step.endswith("touches"))
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
faults = minor_faults() - faults
if step == "analyze":  # after the clock: what the peers' block touches must equal
    usage, seq = analysis.context.block_usage, trace.table.column("seq")
    used = usage.last_row >= 0
    digest = touch_digest(seq[usage.first_row[used]], seq[usage.last_row[used]])
print(json.dumps({"seconds": seconds, "cpu": cpu, "faults": faults, "rss_bytes": peak_rss_bytes(),
                  "events": events, "touches": digest}))
"""
)
STEPS = {
    "floor": "Arrow floor: `read_all()`",
    "read": "`read_trace`",
    "analyze": "analyze (loaded trace)",
    "path": "read + analyze (`analyze_path`)",
    "duckdb": "DuckDB: read + 5 aggregations",
    "polars": "polars: read + 5 aggregations",
    "duckdb_touches": "DuckDB: read + 5 aggregations + block touches",
    "polars_touches": "polars: read + 5 aggregations + block touches",
}
PEERS = {step: step.split("_")[0] for step in STEPS if step.startswith(("duckdb", "polars"))}


# one child's figures: seconds, cpu, faults, rss_bytes, events, and touches (the
# block-touch digest, or None)
Measurement = dict[str, Any]


def measure(step: str, trace: Path) -> Measurement:
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


def interleaved(trace: Path, steps: list[str], runs: int) -> dict[str, list[Measurement]]:
    """Every step once per run, in order, ``runs`` times."""
    results: dict[str, list[Measurement]] = {step: [] for step in steps}
    for _ in range(runs):
        for step in steps:
            results[step].append(measure(step, trace))
    return results


def summary(results: dict[str, list[Measurement]]) -> dict[str, dict[str, Any]]:
    """Per step: median wall and CPU seconds, their median ratios to the same
    run's floor, peak RSS."""
    floor = results["floor"]
    return {
        step: {
            "seconds": statistics.median(r["seconds"] for r in runs),
            "ratio": statistics.median(
                r["seconds"] / f["seconds"] for r, f in zip(runs, floor, strict=True)
            ),
            # the step's fastest run over the floor's: the floor's time swings
            # with the cost of its huge-page faults (0.39-1.47 s at 10 M events
            # on one quiet VM in one hour), the analysis' far less, so a slow
            # floor flatters the median ratio
            "best_ratio": min(r["seconds"] for r in runs) / min(f["seconds"] for f in floor),
            "cpu": statistics.median(r["cpu"] for r in runs),
            "cpu_ratio": statistics.median(
                r["cpu"] / f["cpu"] for r, f in zip(runs, floor, strict=True)
            ),
            "faults": statistics.median(r["faults"] for r in runs),
            "rss": max(r["rss_bytes"] for r in runs),
            "events": runs[0]["events"],
            "touches": runs[0]["touches"],
        }
        for step, runs in results.items()
    }


def against_peers(results: dict[str, list[Measurement]]) -> None:
    """The analysis' time over each peer's, per run (medians), and whether the
    peers' block touches equal ubscope's."""
    ours = results["analyze"]
    expected = ours[0]["touches"]
    print()
    for step, runs in results.items():
        if step not in PEERS:
            continue
        ratio = statistics.median(
            a["seconds"] / r["seconds"] for a, r in zip(ours, runs, strict=True)
        )
        line = f"analyze / {STEPS[step].split(':')[0]} ({step}): {ratio:.2f}x"
        digest = runs[0]["touches"]
        if digest is not None:
            agree = "equal ubscope's" if digest == expected else f"DIFFER: {digest} vs {expected}"
            line += f"; first/last touches of {digest[0]:,} blocks {agree}"
        print(line + "  ")


def single(trace: Path, runs: int) -> None:
    steps = available_steps(list(STEPS))
    results = interleaved(trace, steps, runs)
    rows = summary(results)
    events = rows["floor"]["events"]
    print(f"trace: {trace.name} ({events:,} events), {runs} interleaved run(s), medians\n")
    floor_times = [run["seconds"] for run in results["floor"]]
    print(f"floor: {min(floor_times):.2f}-{max(floor_times):.2f} s over the runs\n")
    print(
        "| step | time | x floor | best x best | CPU time | x floor | page faults "
        "| peak RSS | RSS per event |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for step in steps:
        row = rows[step]
        print(
            f"| {STEPS[step]} | {row['seconds']:.2f} s | {row['ratio']:.2f}x "
            f"| {row['best_ratio']:.2f}x "
            f"| {row['cpu']:.2f} s | {row['cpu_ratio']:.2f}x | {row['faults'] / 1000:,.0f} k "
            f"| {row['rss'] / 2**20:,.0f} MiB | {row['rss'] / events:.0f} B |"
        )
    against_peers(results)


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
