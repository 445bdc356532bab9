"""Perfetto export benchmark: ``ubscope export`` against ``ubscope analyze`` of
the same 10 M-event trace (issue 17).

Run: python bench/bench_perfetto.py [--events 10000000] [--trace FILE] [--repeats 3] [--stream]

The export runs the analysis (its findings become instant events) and writes
the Chrome trace-event JSON, the slices while the rules run; target: the
whole export within 1.5x of the analysis, at bounded memory. Each command runs in a child process (its
time and peak RSS, VmHWM), the two interleaved and repeated. The trace comes
from bench/make_big_trace.py (the real Recorder and TraceWriter) unless
--trace is given. With --stream both commands stream the trace (docs/streaming.md):
the export formats its chunks on other threads while the analysis reads on.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers.peak_memory import child_script

sys.path.insert(0, str(Path(__file__).resolve().parent))
from child_runs import CPU_SECONDS, TABLE_HEADER, summary_row, trace_for

EVENTS = 10_000_000
# Runs in the child: one ubscope command line, its seconds and peak RSS.
CHILD = child_script(
    """
import io, json, sys, time
from contextlib import redirect_stdout
from ubscope.cli import main
start = time.perf_counter()
with redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
print(json.dumps({"seconds": time.perf_counter() - start, "cpu_seconds": CPU,
                  "rss_bytes": peak_rss_bytes(), "code": code}))
""".replace("CPU", CPU_SECONDS)
)


def _run(args: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    if result.get("code") not in (0, 1):
        raise SystemExit(f"ubscope {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS, help="events in the generated trace")
    parser.add_argument("--trace", type=Path, help="use this trace instead of generating one")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each command")
    parser.add_argument("--stream", action="store_true", help="both commands with --stream")
    args = parser.parse_args()
    streamed = ["--stream"] if args.stream else []
    with tempfile.TemporaryDirectory() as tmp:
        trace = trace_for(args.trace, args.events, Path(tmp))
        output = Path(tmp) / "big.json"
        commands = {
            "ubscope analyze": ["analyze", str(trace), "--format", "json", "-o", "-", *streamed],
            "ubscope export --format perfetto": [
                "export",
                str(trace),
                "-o",
                str(output),
                *streamed,
            ],
        }
        runs: dict[str, list[dict]] = {name: [] for name in commands}
        load = os.getloadavg()[0]
        for _ in range(args.repeats):
            for name, command in commands.items():
                runs[name].append(_run(command))
                load = max(load, os.getloadavg()[0])
        size_mb = output.stat().st_size / 1e6
    print(
        f"trace: {trace.name if args.trace else f'{args.events:,} events'}; export {size_mb:,.0f} MB; "
        f"{args.repeats} interleaved runs each{', streamed' if args.stream else ''}, "
        f"{os.cpu_count()} CPUs, load average up to {load:.1f}"
    )
    print(TABLE_HEADER.format(what="command", floor="analyze"))
    for name, results in runs.items():
        print(summary_row(name, results, runs["ubscope analyze"]))


if __name__ == "__main__":
    main()
