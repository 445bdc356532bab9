"""Streamed analysis of traces up to 100 M events: time and peak RSS (issue 17).

Usage: ``python bench/bench_stream.py [--sizes 1,10,50,100] [--runs 1]
[--workdir DIR] [--in-memory-up-to 10]``

Per size (millions of events) the trace ``DIR/big-{N}M.ubtrace`` is written
once by make_big_trace.py (its Recorder streams batches to disk, so writing
takes bounded memory too) and then measured, each step in a fresh child
process, the steps interleaved and repeated ``--runs`` times:

* floor: pyarrow reading the stream batch by batch, counting rows (the least
  any one-pass analysis reads);
* stream: ``analyze_path(path, stream=True)``, what ``ubscope analyze --stream`` runs;
* report: the streamed analysis and its HTML report, what ``ubscope report --stream`` runs;
* pages: the TUI's Events view on a streamed trace: locating every batch on disk,
  then formatting a screen of 40 events at 20 places over the trace (each read
  from its page on disk);
* in memory: ``analyze_path(path, stream=False)``, for sizes up to
  ``--in-memory-up-to`` millions (larger ones would need its ~205 B/event).

Prints a Markdown table (time, CPU time, peak RSS, RSS per event) and the
exponent of time against events for the streamed analysis.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from child_runs import CPU_SECONDS, child_result
from make_big_trace import write_big_trace

from tests.helpers.peak_memory import child_script

PAGE_VISITS = 20
CHILD = child_script(
    f"""
import json, sys, time
step, path = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if step == "floor":
    import pyarrow as pa
    with pa.ipc.open_stream(path) as reader:
        events = sum(batch.num_rows for batch in reader)
elif step == "report":
    import tempfile
    from ubscope.analyzers.api import analyze_path
    from ubscope.reports.report import write_report
    analysis = analyze_path(path, stream=True)
    with tempfile.TemporaryDirectory() as folder:
        write_report(analysis, folder + "/report.html")
    events = analysis.trace.event_count
elif step == "pages":
    import numpy as np
    from ubscope.analyzers import EventPages
    from ubscope.probe.chip import load_chip
    from ubscope.tui.widgets.event_table import COLUMNS, PagedColumns
    columns = PagedColumns(EventPages(path, load_chip()))
    events = columns.count
    # a screen of 40 rows formatted at 20 places over the trace, as scrolling does
    for first in np.linspace(0, events - 40, {PAGE_VISITS}).astype(np.int64):
        rows = np.arange(first, first + 40)
        [column.values(columns, rows) for column in COLUMNS]
else:
    from ubscope.analyzers.api import analyze_path
    events = analyze_path(path, stream=step == "stream").trace.event_count
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "cpu_seconds": {CPU_SECONDS},
                  "rss_bytes": peak_rss_bytes(), "events": events}}))
"""
)
LABELS = {
    "floor": "pyarrow batch scan",
    "stream": "streamed analyze",
    "report": "streamed analyze + HTML report",
    "pages": f"TUI Events: index + {PAGE_VISITS} screens",
    "memory": "in-memory analyze",
}


def measure(step: str, trace: Path) -> dict[str, float]:
    return child_result(CHILD, step, trace)


def trace_of(millions: float, workdir: Path) -> Path:
    trace = workdir / f"big-{millions:g}M.ubtrace"
    if not trace.exists():
        free = shutil.disk_usage(workdir).free
        needed = int(millions * 1e6 * 4.5)  # ~4.2 B per event on disk
        if free < needed:
            raise SystemExit(f"{workdir}: {needed / 2**30:.1f} GiB needed for {trace.name}")
        write_big_trace(int(millions * 1_000_000), trace)
    return trace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,50,100", help="millions of events")
    parser.add_argument("--runs", type=int, default=1, help="interleaved runs per step")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ubscope-bench-stream"))
    parser.add_argument("--in-memory-up-to", type=float, default=10, metavar="MILLIONS")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for millions in (float(size) for size in args.sizes.split(",")):
        trace = trace_of(millions, args.workdir)
        in_memory = ["memory"] if millions <= args.in_memory_up_to else []
        steps = ["floor", "stream", "report", "pages", *in_memory]
        runs: dict[str, list[dict[str, float]]] = {step: [] for step in steps}
        for _ in range(args.runs):
            for step in steps:
                runs[step].append(measure(step, trace))
        for step in steps:
            best = {
                key: float(np.median([run[key] for run in runs[step]]))
                for key in ("seconds", "cpu_seconds", "events")
            }
            best["rss_bytes"] = max(run["rss_bytes"] for run in runs[step])
            rows.append((trace.stat().st_size, step, best))
        print(f"measured {trace.name}", file=sys.stderr, flush=True)
    print(f"{args.runs} interleaved run(s) per step, medians; peak RSS the largest\n")
    print("| events | file | step | time | CPU time | peak RSS | RSS per event |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for size, step, row in rows:
        events = row["events"]
        print(
            f"| {events:,.0f} | {size / 2**20:,.0f} MiB | {LABELS[step]} | {row['seconds']:.2f} s"
            f" | {row['cpu_seconds']:.2f} s | {row['rss_bytes'] / 2**20:,.0f} MiB"
            f" | {row['rss_bytes'] / events:.1f} B |"
        )
    streamed = [(row["events"], row) for _, step, row in rows if step == "stream"]
    if len(streamed) > 1:
        log_events = np.log([count for count, _ in streamed])
        for key in ("seconds", "cpu_seconds"):
            fit = np.polyfit(log_events, np.log([row[key] for _, row in streamed]), 1)[0]
            print(f"\nstreamed analyze: {key} ~ events^{fit:.2f}", end="")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
