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
"""

from __future__ import annotations

import ctypes
import functools
import importlib

from ubscope.probe.libc import c_function

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks up to this size come from the heap, and up to this much freed memory
# at its top stays mapped.
_THRESHOLD_BYTES = 1 << 30


@functools.cache
def reuse_large_blocks() -> bool:
    """Raise glibc's mmap and trim thresholds once per process, and stop numpy's
    huge-page advice; whether glibc's part could be done (False elsewhere than
    glibc, e.g. musl or macOS, where it changes nothing)."""
    _small_pages_for_arrays()
    mallopt = c_function("mallopt", ctypes.c_int, ctypes.c_int)
    if mallopt is None:
        return False
    return bool(
        mallopt(_M_MMAP_THRESHOLD, _THRESHOLD_BYTES)
        and mallopt(_M_TRIM_THRESHOLD, _THRESHOLD_BYTES)
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
