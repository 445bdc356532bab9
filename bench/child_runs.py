"""Summaries of benchmark runs measured in child processes: one Markdown row
per contender, its median time against a floor or peer's."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

from make_big_trace import write_big_trace


def summary_row(name: str, results: list[dict], floor: list[dict]) -> str:
    """``| name | median s (min-max) | x floor | CPU s | x floor | peak RSS MiB | x floor |``
    from runs with ``seconds``, ``cpu_seconds`` and ``rss_bytes``. CPU time
    (all threads) is the steadier measure when other jobs share the cores."""

    def median(runs: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    seconds = [r["seconds"] for r in results]
    return (
        f"| {name} | {median(results, 'seconds'):.2f} s ({min(seconds):.2f}-{max(seconds):.2f})"
        f" | {median(results, 'seconds') / median(floor, 'seconds'):.2f}x"
        f" | {median(results, 'cpu_seconds'):.2f} s"
        f" | {median(results, 'cpu_seconds') / median(floor, 'cpu_seconds'):.2f}x"
        f" | {median(results, 'rss_bytes') / 2**20:,.0f} MiB"
        f" | {median(results, 'rss_bytes') / median(floor, 'rss_bytes'):.2f}x |"
    )


TABLE_HEADER = (
    "| {what} | time (median, min-max) | vs {floor} | CPU time | vs {floor} | peak RSS | vs {floor} |\n"
    "|---|---|---|---|---|---|---|"
)
CPU_SECONDS = "sum(__import__('os').times()[:2])"  # user + system, all threads


def trace_for(trace: Path | None, events: int, folder: Path) -> Path:
    """``trace`` if given, else a new ``events``-event trace in ``folder``."""
    if trace is not None:
        return trace
    trace = folder / "big.ubtrace"
    write_big_trace(events, trace)
    return trace


def child_result(script: str, *args: object) -> dict:
    """The JSON object the last line of ``python -c SCRIPT ARGS`` prints; the
    benchmark stops with the child's stderr when it fails."""
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])
