"""Ascend C CPU-debug finding codes (``CPU0xx``), read from the log of a kernel
built with ``-DCMAKE_ASC_RUN_MODE=cpu`` by
:func:`ubscope.analyzers.vendor.cpu_debug.read_cpu_debug`. With a trace, each
is correlated with the ubscope rule that flags the same problem (in brackets)."""

from __future__ import annotations

from ubscope.analyzers.findings import Severity
from ubscope.analyzers.rules.base import register
from ubscope.analyzers.rules.vendor_reported import ReportedFindingRule


class CpuDebugRule(ReportedFindingRule):
    """A failed check of an Ascend C kernel run on the CPU."""

    input_kind = "cpu_debug"
    severity = Severity.ERROR


@register
class CpuDebugUbRange(CpuDebugRule):
    """CPU debug: a tensor lies outside the Unified Buffer (like UB001).

    What: ``absUbAddr is 0x..., tensorSize is N, which exceeds the limit of
    ub M`` or ``absUbAddr is 0x..., which should be in range of [0, M)`` —
    the CPU build checked a UB operand and found it past the end of UB. The
    location is the first back-trace frame outside CANN (the user's line).
    Why: on the NPU nothing checks this; the access wraps or corrupts other
    buffers, and the kernel fails later somewhere else.
    Example: a tile of 200 KiB on a 192 KiB UB: ``absUbAddr is 0x0,
    tensorSize is 204800, which exceeds the limit of ub 196608``.
    Fix: check the tensor's offset and length at the reported line against
    the UB size (tiling, tails, element vs byte counts).
    """

    code = "CPU001"
    name = "cpu-debug-ub-range"


@register
class CpuDebugAlignment(CpuDebugRule):
    """CPU debug: an operand address is not aligned as required (like ALN001).

    What: ``dst address should be 32B aligned``, ``absUbAddr is 0x..., which
    must be 32B aligned`` or ``Failed to check ... start address alignment in
    ..., its start address must align with 32B``.
    Why: the hardware ignores the low address bits or faults; the data lands
    in the wrong place.
    Example: ``DataCopy(xLocal[3], ...)`` on half: a 6-byte offset.
    Fix: align UB offsets and tile lengths to 32 B, or use DataCopyPad for
    unaligned lengths.
    """

    code = "CPU002"
    name = "cpu-debug-alignment"


@register
class CpuDebugBufferSetup(CpuDebugRule):
    """CPU debug: InitBuffer asked for more than the UB pool holds (like UB001).

    What: ``buffer size is N, exceeds the limit ...`` or ``curPoolAddr is N,
    limits is M`` — the buffers set up with InitBuffer end past the pool.
    Why: the NPU build does not check this; buffers silently overlap.
    Example: two queues of 2 x 64 KiB and a 96 KiB TBuf on a 192 KiB UB.
    Fix: shrink the buffer sizes or counts (single-buffer one queue, smaller
    tiles) until their sum fits.
    """

    code = "CPU003"
    name = "cpu-debug-buffer-setup"


@register
class CpuDebugQueueLimit(CpuDebugRule):
    """CPU debug: too many buffers in one queue position (like UB007).

    What: ``current size is 4, max buffer number in same queue position is 4``
    — AllocTensor/FreeTensor ran out of event ids for one queue position.
    Why: the same kernel hangs on the NPU (the FAQ "AllocTensor/FreeTensor
    fails during verification").
    Example: AllocTensor four times from one queue without FreeTensor.
    Fix: FreeTensor (or EnQue/DeQue) each buffer before allocating the next,
    or give the queue more buffers in InitBuffer.
    """

    code = "CPU004"
    name = "cpu-debug-queue-limit"


@register
class CpuDebugOtherCheck(CpuDebugRule):
    """CPU debug: another Ascend C check failed.

    What: an ``[ERROR][Block_n]...`` record whose message is none of the
    UB-range, alignment, buffer-setup or queue checks; the message, CANN's
    check location and the back-trace are in evidence.
    Why: every such check aborts the CPU run; on the NPU the same mistake
    runs unchecked.
    Example: ``tiling_.GetDepthA1() is 0 , which should be larger than 0``.
    Fix: read the message at the reported line; it names the argument at fault.
    """

    code = "CPU009"
    name = "cpu-debug-check"
