"""Let the C heap keep large freed blocks for reuse during an analysis, and numpy
its arrays in small pages.

glibc serves every allocation above its mmap threshold (at most 32 MiB) with a
fresh mapping and unmaps it on free. The analysis of a 10 M-event trace makes
hundreds of numpy temporaries of 40-80 MB; each then pays its page faults and
the kernel's zeroing again, which made the analysis grow faster than the trace.
Raising the mmap and trim thresholds puts those blocks on the heap, where the
next temporary reuses them: at 10 M events 20-25 % less CPU time on the loaded
shared machine, about 4 % on a quiet one, the same peak RSS (issue 17).

numpy asks for transparent huge pages for its large arrays (``madvise``). On
the benchmark machine (a VM) a huge-page fault cost ~2 ms: the first touch of
the ~1.3 GB a 10 M-event analysis adds took 1.8-2.9 s of system time with them
against 0.5-0.7 s without, in 4 KiB pages; user time stayed within the noise.

glibc also gives every thread but the first an arena of its own, grown in
heaps of at most 64 MiB: a larger block there is always a fresh mapping, what
the thresholds cannot change. The analysis' second thread and the read's
helper threads made their temporaries so. One arena for the process keeps
them on the one heap: reading and analysing 10 M events took 23-25 % fewer
page faults (460 k -> 347 k), 30 % less system time and 5 % less wall time,
peak RSS -3 % (medians of 6 interleaved runs). The setting must come before
the process's other threads first allocate (an arena, once made, is reused by
the next thread), so the read sets it before it starts its helpers.
"""

from __future__ import annotations

import ctypes
import functools
import importlib

from ubscope.probe.libc import c_function

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
# Blocks up to this size come from the heap, and up to this much freed memory
# at its top stays mapped.
_THRESHOLD_BYTES = 1 << 30


@functools.cache
def reuse_large_blocks() -> bool:
    """Raise glibc's mmap and trim thresholds once per process, keep its threads
    on one arena and stop numpy's huge-page advice; whether glibc's part could be
    done (False elsewhere than glibc, e.g. musl or macOS, where it changes nothing)."""
    _small_pages_for_arrays()
    mallopt = c_function("mallopt", ctypes.c_int, ctypes.c_int)
    if mallopt is None:
        return False
    return bool(
        mallopt(_M_MMAP_THRESHOLD, _THRESHOLD_BYTES)
        and mallopt(_M_TRIM_THRESHOLD, _THRESHOLD_BYTES)
        and mallopt(_M_ARENA_MAX, 1)
    )


def _small_pages_for_arrays() -> None:
    # numpy's switch is private (the NUMPY_MADVISE_HUGEPAGE variable is read only
    # when numpy is imported); a numpy without it keeps the huge-page advice
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):  # numpy 2, 1
        try:
            switch = importlib.import_module(module)._set_madvise_hugepage
        except (ImportError, AttributeError):
            continue
        switch(False)
        return
