"""Atomic copies into GM against plain ones, in the Python emulation.

Run: python bench/bench_atomic.py [--rows 4096] [--repeat 7]

One block copies ``rows`` rows of 8 floats (one 32 B block a row) from UB to
GM rows 64 B apart (``DataCopyParams(rows, 1, 0, 1)``), five times, once
without an atomic mode and once under ``SetAtomicAdd`` (float32): each
atomic copy reads what GM holds, adds and writes back, so it cannot beat the
plain copy; the measure is how far behind it is. The two runs alternate,
``--repeat`` times, in one process; the medians and their ratio are printed.
For an older tree's figure, run it with that tree's package first on
``PYTHONPATH`` (as ``bench_kernels.py --before`` links one).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4096, help="rows per copy")
    parser.add_argument("--repeat", type=int, default=7, help="runs of each (median)")
    args = parser.parse_args()
    plain, atomic = [], []
    for _ in range(args.repeat):
        plain.append(copy_out_seconds(args.rows, atomic=False))
        atomic.append(copy_out_seconds(args.rows, atomic=True))
    plain_median, atomic_median = statistics.median(plain), statistics.median(atomic)
    print(f"{COPIES} copies of {args.rows} rows, median of {args.repeat} alternating runs")
    print(f"plain  {plain_median * 1e3:8.2f} ms")
    print(f"atomic {atomic_median * 1e3:8.2f} ms  ({atomic_median / plain_median:.1f}x plain)")


if __name__ == "__main__":
    main()
