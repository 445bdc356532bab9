"""Run the hardening fuzz tests with the long hypothesis profile and print how
many inputs each reader was given and how they ended.

Usage: ``python bench/fuzz_long.py [--examples 3000] [--workers 2] [--shrink]``

It runs ``pytest`` on ``tests/hardening/test_fuzz_*.py`` with
``HYPOTHESIS_PROFILE=long`` (thousands of examples per reader instead of the
CI profile's 150, and every byte near each message boundary of a trace cut),
spread over ``--workers`` processes with pytest-xdist. Every input is read in
a worker process with a time bound (``--timeout`` seconds): a reader that
crashes, hangs, or answers bad input with anything but a one-line
``UbscopeError`` fails its test. The table below the pytest summary counts
inputs per reader: ``parsed`` (a result) and ``error`` (a one-line
``UbscopeError``); RELIABILITY.md records a run. Exit status: pytest's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FUZZ_TESTS = sorted(str(p) for p in (REPO / "tests" / "hardening").glob("test_fuzz_*.py"))


def merge(stats_files: list[Path]) -> dict[str, dict[str, float]]:
    """Per-reader counts summed over the xdist workers (slowest: the maximum)."""
    counts: dict[str, Counter] = {}
    slowest: dict[str, float] = {}
    for path in stats_files:
        for reader, entry in json.loads(path.read_text()).items():
            slowest[reader] = max(slowest.get(reader, 0.0), entry.pop("slowest_seconds", 0.0))
            counts.setdefault(reader, Counter()).update(entry)
    return {reader: {**counts[reader], "slowest_seconds": slowest[reader]} for reader in counts}


def table(stats: dict[str, dict[str, float]]) -> str:
    lines = [
        "| reader / stage | inputs | parsed | one-line error | slowest input (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for reader, entry in sorted(stats.items()):
        lines.append(
            f"| {reader} | {entry.get('inputs', 0):,} | {entry.get('parsed', 0):,} | "
            f"{entry.get('error', 0):,} | {entry['slowest_seconds']:.2f} |"
        )
    total = sum(entry.get("inputs", 0) for entry in stats.values())
    lines.append(f"| **all** | **{total:,}** | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--examples",
        type=int,
        default=3000,
        help="hypothesis examples per fuzz test (default 3000)",
    )
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (default 2)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds one input may take before it counts as a hang",
    )
    parser.add_argument(
        "--shrink", action="store_true", help="shrink failing inputs to a minimal example (slower)"
    )
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ubscope-fuzz-long-") as folder:
        stats_prefix = Path(folder) / "stats"
        env = {
            **os.environ,
            "HYPOTHESIS_PROFILE": "long",
            "UBSCOPE_FUZZ_EXAMPLES": str(args.examples),
            "UBSCOPE_FUZZ_TIMEOUT": str(args.timeout),
            "UBSCOPE_FUZZ_STATS": str(stats_prefix),
            "UBSCOPE_FUZZ_SHRINK": "1" if args.shrink else "0",
        }
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FUZZ_TESTS]
        if args.workers > 1:
            command += ["-n", str(args.workers)]
        command += args.pytest_args
        start = time.perf_counter()
        status = subprocess.run(command, cwd=REPO, env=env).returncode
        elapsed = time.perf_counter() - start
        stats = merge(sorted(Path(folder).glob("stats.*")))
    print(
        f"\nlong fuzz profile: {args.examples} examples per test, {args.workers} worker(s), "
        f"{elapsed / 60:.1f} min, pytest exit status {status}\n"
    )
    print(table(stats))
    return status


if __name__ == "__main__":
    sys.exit(main())
