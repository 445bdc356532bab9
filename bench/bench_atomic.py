"""Atomic copies into GM against plain ones, in the Python emulation.

Run: python bench/bench_atomic.py [--rows 4096] [--repeat 7] [--before WORKTREE]

One block copies ``rows`` rows of 8 floats (one 32 B block a row) from UB to
GM rows 64 B apart (``DataCopyParams(rows, 1, 0, 1)``), five times, once
without an atomic mode and once under ``SetAtomicAdd`` (float32): each
atomic copy reads what GM holds, adds and writes back, so it cannot beat the
plain copy; the measure is how far behind it is. The two runs alternate,
``--repeat`` times, in one process; the medians and their ratio are printed.
With ``--before`` (a ``git worktree add`` of an older commit) the older tree
is measured the same way in a process of its own, after this tree's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from older_tree import older_tree, timed

from ubscope.probe.chip import load_chip
from ubscope.probe.device import Device
from ubscope.probe.kernel_api import DataCopy, DataCopyParams, SetAtomicAdd, UBBufPool
from ubscope.probe.recorder import Recorder

COPIES = 5


def copy_out_seconds(rows: int, atomic: bool) -> float:
    """Seconds one launch of the copies takes (the device built beforehand)."""
    device = Device(load_chip(), Recorder(batch_events=1024))
    out = device.gm.tensor("out", np.zeros(rows * 16, np.float32))

    def kernel(block):
        core = block.aiv
        local = UBBufPool(core).allocate(rows * 8, np.float32)
        local.array[...] = 1.0
        if atomic:
            SetAtomicAdd(core, np.float32)
        for _ in range(COPIES):
            DataCopy(out, local, params=DataCopyParams(rows, 1, 0, 1))

    start = time.perf_counter()
    device.launch("copies", kernel, 1)
    return time.perf_counter() - start


def measure(rows: int, repeat: int) -> dict[str, float]:
    """Median seconds of the plain and the atomic copies, taking turns."""
    plain, atomic = [], []
    for _ in range(repeat):
        plain.append(copy_out_seconds(rows, atomic=False))
        atomic.append(copy_out_seconds(rows, atomic=True))
    return {"plain": statistics.median(plain), "atomic": statistics.median(atomic)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4096, help="rows per copy")
    parser.add_argument("--repeat", type=int, default=7, help="runs of each (median)")
    parser.add_argument("--before", type=Path, help="a worktree of an older commit to compare")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.rows, args.repeat)))
        return
    print(f"{COPIES} copies of {args.rows} rows, medians of {args.repeat} alternating runs\n")
    print("| tree | plain copies | atomic copies | atomic / plain |")
    print("|---|---|---|---|")
    command = [
        sys.executable,
        __file__,
        "--child",
        f"--rows={args.rows}",
        f"--repeat={args.repeat}",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        trees: list[tuple[str, dict[str, str] | None]] = [("this tree", None)]
        if args.before:
            trees.append((args.before.name, older_tree(args.before, Path(tmp))))
        for label, env in trees:
            seconds = json.loads(timed(command, env)[2])
            plain, atomic = seconds["plain"], seconds["atomic"]
            print(
                f"| {label} | {plain * 1e3:.2f} ms | {atomic * 1e3:.2f} ms | "
                f"{atomic / plain:.1f}x |"
            )


if __name__ == "__main__":
    main()
