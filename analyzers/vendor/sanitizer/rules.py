"""msSanitizer finding codes (``SAN0xx``), read from its memcheck, initcheck,
racecheck and synccheck reports by :func:`~ubscope.analyzers.vendor.sanitizer.reader.read_sanitizer`."""

from __future__ import annotations

from ubscope.analyzers.findings import Severity
from ubscope.analyzers.rules.base import register
from ubscope.analyzers.vendor.rule import ReportedFindingRule


class SanitizerRule(ReportedFindingRule):
    """An msSanitizer report record."""

    input_kind = "sanitizer"
    severity = Severity.ERROR


@register
class IllegalAccess(SanitizerRule):
    """msSanitizer: illegal read or write outside any valid buffer.

    ## What it does

    Memcheck saw a kernel access (``illegal read/write of size N``, old
    spelling ``illegel``; newer builds: ``Invalid UB write of size N by aicore
    (..) type (..) block (..) pipe (..) in launch (..)``) to an address that
    belongs to no allocation — in UB, L1/L0 or GM (the GM form names the
    distance to the nearest allocation). The location is the first stack frame
    outside CANN (``cann-<version>/``, ``ascend-toolkit/``, ``latest/``,
    ``asc/impl``, ``basic_api``, ``tikcpp``, ``kernel_operator_*`` headers);
    the whole stack is in evidence, and ``:0`` / ``<unknown>`` mean no location.

    ## Why it matters

    On hardware this silently corrupts other data or raises an AI Core
    exception far from the cause.

    ## Example

    ``illegal write of size 768 at 0x0 on UB in bounds_write_demo``
    from a DataCopy of 768 bytes into a buffer allocated for 256.

    ## How to fix

    Check the offset and length at the reported file:line against the
    buffer size (tails, block offsets, element vs byte counts).
    """

    code = "SAN001"
    explained_by = ("UB001", "UB002", "UB004", "UB014", "GM004")
    name = "sanitizer-illegal-access"


@register
class MisalignedAccess(SanitizerRule):
    """msSanitizer: access whose address is not aligned for the instruction.

    ## What it does

    ``misaligned access of size N`` at an address that is not a multiple
    of the required granularity (32 B for UB vector/DataCopy operands).

    ## Why it matters

    The hardware rounds or faults; results are wrong or the kernel traps.

    ## Example

    ``misaligned access of size 13 at 0x6 on UB`` from a DataCopy
    that starts 6 bytes into a tile.

    ## How to fix

    Align buffer offsets (allocate with aligned sizes, pad tails) or use
    the DataCopyPad variants for unaligned lengths.
    """

    code = "SAN002"
    explained_by = ("ALN001",)
    name = "sanitizer-misaligned"


@register
class OutOfBoundsOverlap(SanitizerRule):
    """msSanitizer: cores (or SIMT threads) write overlapping GM ranges.

    ## What it does

    ``WARNING: out of bounds of size N ... when writing data`` — the
    same bytes are written by more than one block or thread.

    ## Why it matters

    The final value depends on scheduling; results differ between runs.

    ## Example

    ``out of bounds of size 256 at 0x12c0c00150fc on GM when writing
    data`` in block aiv(9): the last block's tail overlaps block 8's slice.

    ## How to fix

    Give each block a disjoint output slice; check the per-core offset
    and the tail handling of the last block.
    """

    code = "SAN003"
    explained_by = ("GM004", "UB004")
    name = "sanitizer-overlapping-write"
    severity = Severity.WARNING


@register
class UninitializedRead(SanitizerRule):
    """msSanitizer initcheck: read of memory never written.

    ## What it does

    ``uninitialized read of size N`` — the kernel consumed UB/GM bytes
    that nothing wrote before.

    ## Why it matters

    The values are leftovers of earlier kernels; results are random.

    ## Example

    ``uninitialized read of size 224 at 0x12c0c0015000 on GM`` of an
    output buffer read back before any core wrote it.

    ## How to fix

    Write (DataCopy in, Duplicate) the buffer before reading it, or shrink
    the read to the initialised part.
    """

    code = "SAN004"
    name = "sanitizer-uninitialized-read"


@register
class MemoryLeak(SanitizerRule):
    """msSanitizer: device memory allocated and never freed.

    ## What it does

    Each ``Direct leak of N byte(s)`` block of a LeakCheck report, with
    the allocation site; the SUMMARY totals are in the ``summaries`` table.

    ## Why it matters

    Leaked GM accumulates over iterations until allocations fail.

    ## Example

    ``Direct leak of 32800 byte(s) at 0x124080024000 on GM`` from an
    aclrtMalloc without aclrtFree.

    ## How to fix

    Free the allocation on every path (including error paths).
    """

    code = "SAN005"
    explained_by = ("UB005",)
    name = "sanitizer-leak"


@register
class IllegalFree(SanitizerRule):
    """msSanitizer: free of an address that is not a live allocation.

    ## What it does

    ``illegal free()`` — double free, or free of a pointer the
    allocator never returned.

    ## Why it matters

    Corrupts the allocator's state; later allocations overlap.

    ## Example

    ``illegal free() at 0x124080013000 on GM`` after the same pointer
    was freed once already.

    ## How to fix

    Free each allocation exactly once, with the pointer the allocator
    returned.
    """

    code = "SAN006"
    name = "sanitizer-illegal-free"


@register
class UnusedMemory(SanitizerRule):
    """msSanitizer: device memory allocated but never accessed.

    ## What it does

    ``Unused memory of N byte(s)`` (with ``--check-unused-memory=yes``).

    ## Why it matters

    Wasted HBM that could hold larger batches or buffers.

    ## Example

    ``Unused memory of 1000 byte(s) at 0x1240c0016000 on GM``: a
    workspace the kernel never touches.

    ## How to fix

    Drop the allocation or shrink it to what the kernel uses.
    """

    code = "SAN007"
    explained_by = ("UB011",)
    name = "sanitizer-unused-memory"
    severity = Severity.WARNING


@register
class RaceHazard(SanitizerRule):
    """msSanitizer racecheck: RAW/WAR/WAW hazard between pipes or cores.

    ## What it does

    ``Potential RAW|WAR|WAW hazard detected`` — two accesses to the same
    memory on different pipes (e.g. PIPE_MTE2 write, PIPE_MTE3 read) with no
    synchronisation between them; the accesses and their stacks are in
    evidence, and the offset (``RAW()+0x4000``) is the finding's address.

    ## Why it matters

    The outcome depends on pipe timing; wrong data appears intermittently.

    ## Example

    ``Potential RAW hazard detected at UB``: PIPE_MTE2 writes
    ``RAW()+0x4000`` and PIPE_V reads it with no wait_flag between them.

    ## How to fix

    Add the set_flag/wait_flag pair (or a PipeBarrier / queue EnQue/DeQue)
    that orders the two pipes.
    """

    code = "SAN010"
    name = "sanitizer-race"


@register
class SyncProblem(SanitizerRule):
    """msSanitizer synccheck: unpaired or redundant sync, divergent or locked threads.

    ## What it does

    ``Unpaired|Redundant set_flag/wait_flag instructions detected``,
    ``Sync error detected`` or a kernel that locked up waiting for an event;
    the pipes and the kernel named after them (``in "copy_demo(...)"``) are kept.

    ## Why it matters

    An unpaired wait hangs the core; an unpaired set leaves event state
    behind for the next kernel; redundant syncs cost time.

    ## Example

    ``Unpaired set_flag instructions detected from PIPE_S to
    PIPE_MTE3`` at the kernel's last set_flag, never waited on.

    ## How to fix

    Pair every set_flag with exactly one wait_flag on the same event id
    and pipes, in every branch.
    """

    code = "SAN011"
    name = "sanitizer-sync"
    severity = Severity.WARNING


@register
class MissingCacheFlush(SanitizerRule):
    """msSanitizer racecheck: missing DCCI on a cross-core data dependency.

    ## What it does

    ``Missing DCCI instructions detected on cross core data dependency``
    — one core reads GM data another wrote while a stale copy may sit in the
    data cache.

    ## Why it matters

    The reader sees old values even though the write has finished.

    ## Example

    Block aic(1) writes a GM tile that block aiv(0) reads without a
    DataCacheCleanAndInvalid between them.

    ## How to fix

    Flush/invalidate the cache line (DataCacheCleanAndInvalid / DCCI)
    between the write and the cross-core read.
    """

    code = "SAN012"
    name = "sanitizer-missing-dcci"
