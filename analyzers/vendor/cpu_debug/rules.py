"""Ascend C CPU-debug finding codes (``CPU0xx``), read from the log of a kernel
built with ``-DCMAKE_ASC_RUN_MODE=cpu`` by
:func:`~ubscope.analyzers.vendor.cpu_debug.reader.read_cpu_debug`. With a trace, each
is correlated with the ubscope rule that flags the same problem (in brackets)."""

from __future__ import annotations

from ubscope.analyzers.findings import Severity
from ubscope.analyzers.rules.base import register
from ubscope.analyzers.vendor.rule import ReportedFindingRule


class CpuDebugRule(ReportedFindingRule):
    """A failed check of an Ascend C kernel run on the CPU."""

    input_kind = "cpu_debug"
    severity = Severity.ERROR


@register
class CpuDebugUbRange(CpuDebugRule):
    """CPU debug: a tensor lies outside the Unified Buffer (like UB001).

    ## What it does

    ``absUbAddr is 0x..., tensorSize is N, which exceeds the limit of
    ub M`` or ``absUbAddr is 0x..., which should be in range of [0, M)`` —
    the CPU build checked a UB operand and found it past the end of UB. The
    location is the first back-trace frame outside CANN (the user's line).

    ## Why it matters

    On the NPU nothing checks this; the access wraps or corrupts other
    buffers, and the kernel fails later somewhere else.

    ## Example

    A tile of 200 KiB on a 192 KiB UB: ``absUbAddr is 0x0,
    tensorSize is 204800, which exceeds the limit of ub 196608``.

    ## How to fix

    Check the tensor's offset and length at the reported line against
    the UB size (tiling, tails, element vs byte counts).
    """

    code = "CPU001"
    explained_by = ("UB001", "UB002")
    name = "cpu-debug-ub-range"


@register
class CpuDebugAlignment(CpuDebugRule):
    """CPU debug: an operand address is not aligned as required (like ALN001).

    ## What it does

    ``dst address should be 32B aligned``, ``absUbAddr is 0x..., which
    must be 32B aligned`` or ``Failed to check ... start address alignment in
    ..., its start address must align with 32B``.

    ## Why it matters

    The hardware ignores the low address bits or faults; the data lands
    in the wrong place.

    ## Example

    ``DataCopy(xLocal[3], ...)`` on half: a 6-byte offset.

    ## How to fix

    Align UB offsets and tile lengths to 32 B, or use DataCopyPad for
    unaligned lengths.
    """

    code = "CPU002"
    explained_by = ("ALN001",)
    name = "cpu-debug-alignment"


@register
class CpuDebugBufferSetup(CpuDebugRule):
    """CPU debug: InitBuffer asked for more than the UB pool holds (like UB001).

    ## What it does

    ``buffer size is N, exceeds the limit ...`` or ``curPoolAddr is N,
    limits is M`` — the buffers set up with InitBuffer end past the pool.

    ## Why it matters

    The NPU build does not check this; buffers silently overlap.

    ## Example

    Two queues of 2 x 64 KiB and a 96 KiB TBuf on a 192 KiB UB.

    ## How to fix

    Shrink the buffer sizes or counts (single-buffer one queue, smaller
    tiles) until their sum fits.
    """

    code = "CPU003"
    explained_by = ("UB001",)
    name = "cpu-debug-buffer-setup"


@register
class CpuDebugQueueLimit(CpuDebugRule):
    """CPU debug: too many buffers in one queue position (like UB007).

    ## What it does

    ``current size is 4, max buffer number in same queue position is 4``
    — AllocTensor/FreeTensor ran out of event ids for one queue position.

    ## Why it matters

    The same kernel hangs on the NPU (the FAQ "AllocTensor/FreeTensor
    fails during verification").

    ## Example

    AllocTensor four times from one queue without FreeTensor.

    ## How to fix

    FreeTensor (or EnQue/DeQue) each buffer before allocating the next,
    or give the queue more buffers in InitBuffer.
    """

    code = "CPU004"
    explained_by = ("UB007",)
    name = "cpu-debug-queue-limit"


@register
class CpuDebugOtherCheck(CpuDebugRule):
    """CPU debug: another Ascend C check failed.

    ## What it does

    An ``[ERROR][Block_n]...`` record whose message is none of the
    UB-range, alignment, buffer-setup or queue checks; the message, CANN's
    check location and the back-trace are in evidence.

    ## Why it matters

    Every such check aborts the CPU run; on the NPU the same mistake
    runs unchecked.

    ## Example

    ``tiling_.GetDepthA1() is 0 , which should be larger than 0``.

    ## How to fix

    Read the message at the reported line; it names the argument at fault.
    """

    code = "CPU009"
    name = "cpu-debug-check"
