"""Report benchmark: a 10-million-event trace to an HTML report (and a Perfetto export).

Run: python bench/bench_report.py [--events 10000000] [--trace FILE]
Targets (issue 6): the report of a 10 M-event trace is <= 10 MB and takes
<= 15 s (reading and analysing the trace included). The trace comes from
bench/make_big_trace.py (the real Recorder and TraceWriter) unless --trace is given.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from ubscope.analyzers import analyze_path
from ubscope.reports.perfetto import write_perfetto
from ubscope.reports.report import write_report

sys.path.insert(0, str(Path(__file__).resolve().parent))
from child_runs import trace_for

EVENTS = 10_000_000


def _timed(action):
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS, help="events in the generated trace")
    parser.add_argument("--trace", type=Path, help="use this trace instead of generating one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trace = trace_for(args.trace, args.events, Path(tmp))
        analysis, analyse_s = _timed(lambda: analyze_path(trace))
        report, report_s = _timed(lambda: write_report(analysis, Path(tmp) / "big.html"))
        export, export_s = _timed(lambda: write_perfetto(analysis, Path(tmp) / "big.json"))
        events = analysis.trace.event_count
        report_mb = report.stat().st_size / 1e6
        export_mb = export.stat().st_size / 1e6
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| trace events | {events:,} | 10 M |")
    print(f"| read + analyse | {analyse_s:.1f} s | |")
    print(f"| build + write the HTML report | {report_s:.1f} s | |")
    print(f"| report total (read, analyse, report) | {analyse_s + report_s:.1f} s | <= 15 s |")
    print(f"| report size | {report_mb:.1f} MB | <= 10 MB |")
    print(f"| Perfetto export (after analysis) | {export_s:.1f} s, {export_mb:.0f} MB | |")


if __name__ == "__main__":
    main()
