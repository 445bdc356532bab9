"""npuchk finding codes (``NCK0xx``), read from the ``*_npuchk.log`` files of a
kernel run in CPU-debug mode by :func:`~ubscope.analyzers.vendor.npuchk.reader.read_npuchk`."""

from __future__ import annotations

from ubscope.analyzers.findings import Severity
from ubscope.analyzers.rules.base import register
from ubscope.analyzers.vendor.rule import ReportedFindingRule


class NpuchkRule(ReportedFindingRule):
    """An npuchk error class."""

    input_kind = "npuchk"
    severity = Severity.ERROR


@register
class NpuchkIllegalAccess(NpuchkRule):
    """npuchk: access to memory not allocated, or already freed (ErrorRead1/ErrorWrite1).

    ## What it does

    The instruction read or wrote UB that no AllocTensor holds.

    ## Why it matters

    The data belongs to another tensor or to nobody; results are wrong.

    ## Example

    ``inQueueX.FreeTensor(xLocal)`` followed by ``DataCopy(xLocal, ...)``.

    ## How to fix

    AllocTensor before the access and FreeTensor only after the last use.
    """

    code = "NCK001"
    explained_by = ("UB002",)
    name = "npuchk-illegal-access"


@register
class NpuchkOutOfBounds(NpuchkRule):
    """npuchk: access past the start or end of its tensor (ErrorRead3/ErrorWrite2).

    ## What it does

    The access starts inside an allocated tensor but its length runs
    past the tensor's valid data.

    ## Why it matters

    It reads or overwrites the neighbouring tensor.

    ## Example

    ``[V] [ErrorRead3] on read 0x7f328c11b010 0x800B`` from a vadd
    whose repeat count covers more than the tile.

    ## How to fix

    Check offsets and lengths against the tensor's size, tails included.
    """

    code = "NCK002"
    explained_by = ("UB001", "UB002", "UB012", "UB014")
    name = "npuchk-out-of-bounds"


@register
class NpuchkMisaligned(NpuchkRule):
    """npuchk: read or write address not 32 B aligned (ErrorRead4/ErrorWrite4).

    ## What it does

    A UB operand does not start on a 32-byte boundary.

    ## Why it matters

    UB instructions address 32-byte blocks; the data moves shifted.

    ## Example

    A tiling length that is not a multiple of 32 B per core.

    ## How to fix

    Align offsets and tile lengths to 32 B, or use DataCopyPad.
    """

    code = "NCK003"
    explained_by = ("ALN001",)
    name = "npuchk-misaligned"


@register
class NpuchkSuspiciousData(NpuchkRule):
    """npuchk: data read before written, or overwritten before read (ErrorRead2/ErrorWrite3).

    ## What it does

    Npuchk's "suspicious" classes: a read of bytes nothing wrote, or a
    write over data nothing read.

    ## Why it matters

    The first computes on garbage, the second throws a result away;
    both are often a missing or misplaced copy.

    ## Example

    Add on a tensor whose DataCopy in was skipped on the last tile.

    ## How to fix

    Write the data before reading it; read results before overwriting.
    """

    code = "NCK004"
    name = "npuchk-suspicious-data"
    severity = Severity.WARNING


@register
class NpuchkSync(NpuchkRule):
    """npuchk: missing or mismatched synchronisation (ErrorSync1-4).

    ## What it does

    A read or write without the PipeBarrier/set_flag-wait_flag that
    orders it after the pipe that produced the data, set/wait not paired, or
    an event id set twice before its wait.

    ## Why it matters

    The result depends on pipe timing; on the NPU it fails intermittently
    or hangs.

    ## Example

    Compute reads a tensor that DataCopy (MTE2) writes, without DeQue.

    ## How to fix

    Order the pipes with EnQue/DeQue, paired set_flag/wait_flag or PipeBarrier.
    """

    code = "NCK005"
    name = "npuchk-sync"


@register
class NpuchkLeak(NpuchkRule):
    """npuchk: buffer allocated and never freed (ErrorLeak; like UB005).

    ## What it does

    AllocTensor without a FreeTensor by the end of the kernel.

    ## Why it matters

    The queue runs out of buffers in longer runs; the NPU hangs.

    ## Example

    An early return between AllocTensor and FreeTensor.

    ## How to fix

    FreeTensor every tensor on every path.
    """

    code = "NCK006"
    explained_by = ("UB005",)
    name = "npuchk-leak"


@register
class NpuchkDoubleFree(NpuchkRule):
    """npuchk: buffer freed twice (ErrorFree).

    ## What it does

    FreeTensor on a tensor already freed.

    ## Why it matters

    The queue's bookkeeping breaks; later allocations overlap.

    ## Example

    FreeTensor in both Compute and CopyOut for the same tensor.

    ## How to fix

    Free each tensor exactly once, by the stage that used it last.
    """

    code = "NCK007"
    name = "npuchk-double-free"


@register
class NpuchkBufferMisuse(NpuchkRule):
    """npuchk: tensor set up or used against the queue rules (ErrorBuffer0-4).

    ## What it does

    Memory not set up with InitBuffer (0), a tensor used with another
    queue type (1), VECIN/VECOUT/VECCALC state not allowed (2), an operation
    on unallocated or out-of-bounds memory (3), a TBufPool not set up with
    InitBufPool (4).

    ## Why it matters

    The framework's synchronisation relies on these states; broken
    states mean unsynchronised or overlapping buffers on the NPU.

    ## Example

    EnQue of a VECCALC tensor.

    ## How to fix

    Set buffers up with InitBuffer/InitBufPool and move tensors through
    their own queue's AllocTensor/EnQue/DeQue/FreeTensor.
    """

    code = "NCK008"
    name = "npuchk-buffer-misuse"


@register
class NpuchkUnknownClass(NpuchkRule):
    """npuchk: an error class this version of ubscope does not know.

    ## What it does

    An ``[ErrorXxx]`` line whose class is not among the documented
    ErrorRead1-4, ErrorWrite1-4, ErrorSync1-4, ErrorLeak, ErrorFree and
    ErrorBuffer0-4; the line is kept in evidence.

    ## Why it matters

    A newer npuchk reports something new; it still needs a look.

    ## Example

    ``[V] [ErrorRead5] on read 0x... 0x20B``.

    ## How to fix

    Look the class up in the npu_check documentation of your CANN version.
    """

    code = "NCK009"
    name = "npuchk-unknown-class"
    severity = Severity.WARNING
