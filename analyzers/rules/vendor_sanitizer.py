"""msSanitizer finding codes (``SAN0xx``), read from its memcheck, initcheck,
racecheck and synccheck reports by :func:`ubscope.analyzers.vendor.read_sanitizer`."""

from __future__ import annotations

from ubscope.analyzers.findings import Severity
from ubscope.analyzers.rules.base import register
from ubscope.analyzers.rules.vendor_reported import ReportedFindingRule


class SanitizerRule(ReportedFindingRule):
    """An msSanitizer report record."""

    input_kind = "sanitizer"
    severity = Severity.ERROR


@register
class IllegalAccess(SanitizerRule):
    """msSanitizer: illegal read or write outside any valid buffer.

    What: memcheck saw a kernel access (``illegal read/write of size N``, old
    spelling ``illegel``; newer builds: ``Invalid UB write of size N by aicore
    (..) type (..) block (..) pipe (..) in launch (..)``) to an address that
    belongs to no allocation — in UB, L1/L0 or GM (the GM form names the
    distance to the nearest allocation). The location is the first stack frame
    outside CANN (``cann-<version>/``, ``ascend-toolkit/``, ``latest/``,
    ``asc/impl``, ``basic_api``, ``tikcpp``, ``kernel_operator_*`` headers);
    the whole stack is in evidence, and ``:0`` / ``<unknown>`` mean no location.
    Why: on hardware this silently corrupts other data or raises an AI Core
    exception far from the cause.
    Example: ``illegal write of size 768 at 0x0 on UB in bounds_write_demo``
    from a DataCopy of 768 bytes into a buffer allocated for 256.
    Fix: check the offset and length at the reported file:line against the
    buffer size (tails, block offsets, element vs byte counts).
    """

    code = "SAN001"
    name = "sanitizer-illegal-access"


@register
class MisalignedAccess(SanitizerRule):
    """msSanitizer: access whose address is not aligned for the instruction.

    What: ``misaligned access of size N`` at an address that is not a multiple
    of the required granularity (32 B for UB vector/DataCopy operands).
    Why: the hardware rounds or faults; results are wrong or the kernel traps.
    Example: ``misaligned access of size 13 at 0x6 on UB`` from a DataCopy
    that starts 6 bytes into a tile.
    Fix: align buffer offsets (allocate with aligned sizes, pad tails) or use
    the DataCopyPad variants for unaligned lengths.
    """

    code = "SAN002"
    name = "sanitizer-misaligned"


@register
class OutOfBoundsOverlap(SanitizerRule):
    """msSanitizer: cores (or SIMT threads) write overlapping GM ranges.

    What: ``WARNING: out of bounds of size N ... when writing data`` — the
    same bytes are written by more than one block or thread.
    Why: the final value depends on scheduling; results differ between runs.
    Example: ``out of bounds of size 256 at 0x12c0c00150fc on GM when writing
    data`` in block aiv(9): the last block's tail overlaps block 8's slice.
    Fix: give each block a disjoint output slice; check the per-core offset
    and the tail handling of the last block.
    """

    code = "SAN003"
    name = "sanitizer-overlapping-write"
    severity = Severity.WARNING


@register
class UninitializedRead(SanitizerRule):
    """msSanitizer initcheck: read of memory never written.

    What: ``uninitialized read of size N`` — the kernel consumed UB/GM bytes
    that nothing wrote before.
    Why: the values are leftovers of earlier kernels; results are random.
    Example: ``uninitialized read of size 224 at 0x12c0c0015000 on GM`` of an
    output buffer read back before any core wrote it.
    Fix: write (DataCopy in, Duplicate) the buffer before reading it, or shrink
    the read to the initialised part.
    """

    code = "SAN004"
    name = "sanitizer-uninitialized-read"


@register
class MemoryLeak(SanitizerRule):
    """msSanitizer: device memory allocated and never freed.

    What: each ``Direct leak of N byte(s)`` block of a LeakCheck report, with
    the allocation site; the SUMMARY totals are in the ``summaries`` table.
    Why: leaked GM accumulates over iterations until allocations fail.
    Example: ``Direct leak of 32800 byte(s) at 0x124080024000 on GM`` from an
    aclrtMalloc without aclrtFree.
    Fix: free the allocation on every path (including error paths).
    """

    code = "SAN005"
    name = "sanitizer-leak"


@register
class IllegalFree(SanitizerRule):
    """msSanitizer: free of an address that is not a live allocation.

    What: ``illegal free()`` — double free, or free of a pointer the
    allocator never returned.
    Why: corrupts the allocator's state; later allocations overlap.
    Example: ``illegal free() at 0x124080013000 on GM`` after the same pointer
    was freed once already.
    Fix: free each allocation exactly once, with the pointer the allocator
    returned.
    """

    code = "SAN006"
    name = "sanitizer-illegal-free"


@register
class UnusedMemory(SanitizerRule):
    """msSanitizer: device memory allocated but never accessed.

    What: ``Unused memory of N byte(s)`` (with ``--check-unused-memory=yes``).
    Why: wasted HBM that could hold larger batches or buffers.
    Example: ``Unused memory of 1000 byte(s) at 0x1240c0016000 on GM``: a
    workspace the kernel never touches.
    Fix: drop the allocation or shrink it to what the kernel uses.
    """

    code = "SAN007"
    name = "sanitizer-unused-memory"
    severity = Severity.WARNING


@register
class RaceHazard(SanitizerRule):
    """msSanitizer racecheck: RAW/WAR/WAW hazard between pipes or cores.

    What: ``Potential RAW|WAR|WAW hazard detected`` — two accesses to the same
    memory on different pipes (e.g. PIPE_MTE2 write, PIPE_MTE3 read) with no
    synchronisation between them; the accesses and their stacks are in
    evidence, and the offset (``RAW()+0x4000``) is the finding's address.
    Why: the outcome depends on pipe timing; wrong data appears intermittently.
    Example: ``Potential RAW hazard detected at UB``: PIPE_MTE2 writes
    ``RAW()+0x4000`` and PIPE_V reads it with no wait_flag between them.
    Fix: add the set_flag/wait_flag pair (or a PipeBarrier / queue EnQue/DeQue)
    that orders the two pipes.
    """

    code = "SAN010"
    name = "sanitizer-race"


@register
class SyncProblem(SanitizerRule):
    """msSanitizer synccheck: unpaired or redundant sync, divergent or locked threads.

    What: ``Unpaired|Redundant set_flag/wait_flag instructions detected``,
    ``Sync error detected`` or a kernel that locked up waiting for an event;
    the pipes and the kernel named after them (``in "copy_demo(...)"``) are kept.
    Why: an unpaired wait hangs the core; an unpaired set leaves event state
    behind for the next kernel; redundant syncs cost time.
    Example: ``Unpaired set_flag instructions detected from PIPE_S to
    PIPE_MTE3`` at the kernel's last set_flag, never waited on.
    Fix: pair every set_flag with exactly one wait_flag on the same event id
    and pipes, in every branch.
    """

    code = "SAN011"
    name = "sanitizer-sync"
    severity = Severity.WARNING


@register
class MissingCacheFlush(SanitizerRule):
    """msSanitizer racecheck: missing DCCI on a cross-core data dependency.

    What: ``Missing DCCI instructions detected on cross core data dependency``
    — one core reads GM data another wrote while a stale copy may sit in the
    data cache.
    Why: the reader sees old values even though the write has finished.
    Example: block aic(1) writes a GM tile that block aiv(0) reads without a
    DataCacheCleanAndInvalid between them.
    Fix: flush/invalidate the cache line (DataCacheCleanAndInvalid / DCCI)
    between the write and the cross-core read.
    """

    code = "SAN012"
    name = "sanitizer-missing-dcci"
