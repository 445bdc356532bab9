"""The C heap settings of an analysis: a large block freed by any thread is
kept and handed to the next large request, so the pages are not faulted in
(and zeroed by the kernel) again."""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import pytest

# In a fresh process (no thread has allocated yet, as when `ubscope` starts):
# a thread that is not the main one allocates, touches and frees a 96 MiB
# block twice and counts its own page faults each time. 96 MiB is above
# glibc's 64 MiB heaps of a thread's own arena, where no threshold keeps it.
CHILD = """
import json, resource, threading
import numpy as np
from ubscope.probe.heap import reuse_large_blocks

tuned = reuse_large_blocks()
faults = []

def allocate_twice():
    for _ in range(2):
        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        block = np.ones(96 << 20, dtype=np.uint8)
        del block
        faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)

worker = threading.Thread(target=allocate_twice)
worker.start()
worker.join()
print(json.dumps({"tuned": tuned, "faults": faults}))
"""


@pytest.mark.skipif(
    not hasattr(resource, "RUSAGE_THREAD"), reason="per-thread page faults are Linux only"
)
def test_a_threads_freed_large_block_is_reused_without_faulting_it_in_again() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=60
    )
    result = json.loads(done.stdout)
    if not result["tuned"]:
        pytest.skip("not glibc: its heap cannot be tuned, nothing to test")
    first, second = result["faults"]
    # the first touch faults in the 96 MiB: 24,576 pages of 4 KiB, or 48 of 2 MiB
    # where the kernel gives huge pages anyway; the second reuses them (before
    # one arena: 24,579 then 24,577 faults)
    assert first >= 48
    assert second < first / 20, result
