"""Summaries of benchmark runs measured in child processes: one Markdown row
per contender, its median time against a floor or peer's."""

from __future__ import annotations

import statistics
from pathlib import Path

from make_big_trace import write_big_trace


def summary_row(name: str, results: list[dict], floor: list[dict]) -> str:
    """``| name | median s (min-max) | x floor | peak RSS MiB | x floor |`` from
    runs with ``seconds`` and ``rss_bytes``."""
    seconds = [r["seconds"] for r in results]
    rss = statistics.median(r["rss_bytes"] for r in results)
    floor_s = statistics.median(r["seconds"] for r in floor)
    floor_rss = statistics.median(r["rss_bytes"] for r in floor)
    return (
        f"| {name} | {statistics.median(seconds):.2f} s ({min(seconds):.2f}-{max(seconds):.2f})"
        f" | {statistics.median(seconds) / floor_s:.2f}x | {rss / 2**20:,.0f} MiB"
        f" | {rss / floor_rss:.2f}x |"
    )


def trace_for(trace: Path | None, events: int, folder: Path) -> Path:
    """``trace`` if given, else a new ``events``-event trace in ``folder``."""
    if trace is not None:
        return trace
    trace = folder / "big.ubtrace"
    write_big_trace(events, trace)
    return trace
