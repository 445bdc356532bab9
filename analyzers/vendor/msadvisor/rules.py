"""Advisor finding codes (``ADV0xx``): problems reported by the old msadvisor
knowledge bases and by ``msprof-analyze advisor``, read by
:func:`~ubscope.analyzers.vendor.msadvisor.reader.read_msadvisor`."""

from __future__ import annotations

from ubscope.analyzers.rules.base import register
from ubscope.analyzers.vendor.rule import ReportedFindingRule


class AdvisorRule(ReportedFindingRule):
    """An advisor-reported problem."""

    input_kind = "msadvisor"
    tool_suggests = True


@register
class KnowledgeBaseProblem(AdvisorRule):
    """msadvisor: a knowledge base recommends a change.

    ## What it does

    A result object of the old msadvisor (CANN 5-8 "expert system")
    that lists rows in its extendResult (operators, settings, suggestions)
    or whose summary recommends something ("need to be optimized", "建议",
    and not "no problem"/"无需"). errorCode decides nothing: the
    API-optimisation base writes '0' for "problem found", the
    running-environment base '1' beside a recommendation; it stays in the
    results table. The summary is the message, the extendResult tables are
    in evidence.

    ## Why it matters

    The knowledge bases encode known slow or wasteful patterns for the
    operator or model that was profiled.

    ## Example

    A result JSON of the API-optimisation knowledge base:
    ``{"classType": "0", "errorCode": "0", "summary": "Memory-bound operators
    found", "extendResult": [{"type": "1", "key": ["Op Name", "Bandwidth
    Usage"], "value": [["Add_1", "0.93"]]}]}``.

    ## How to fix

    Follow the suggestion rows in evidence; rerun msadvisor to confirm.
    """

    code = "ADV001"
    name = "msadvisor-problem"


@register
class MemoryOperatorIssue(AdvisorRule):
    """msprof-analyze advisor: memory allocation/free APIs take much time.

    ## What it does

    The "Memory Operator Issues" check — AscendCL@aclMallocMemInner,
    aclrtFree or aclrtFreePhysical calls whose total duration exceeds the
    advisor's limit (10 ms by default).

    ## Why it matters

    While the host allocates or frees, the device idles ("free time").

    ## Example

    The advisor's problems sheet row ``Memory Operator Issues | Found 808
    AscendCL@aclrtFreePhysical, cost 940626.57 us, which will lead to large
    amount of free time.``

    ## How to fix

    Export PYTORCH_NPU_ALLOC_CONF=expandable_segments:True, avoid
    torch.npu.empty_cache() in the loop, reduce the batch size when HBM is
    nearly full.
    """

    code = "ADV002"
    name = "advisor-memory-operators"


@register
class ByteAlignment(AdvisorRule):
    """msprof-analyze advisor: communication data not 512-byte aligned.

    ## What it does

    The "Byte Alignment Analysis" check — SDMA communication operators
    whose data size is not a multiple of 512 bytes.

    ## Why it matters

    Unaligned transfers use the link less efficiently.

    ## Example

    The advisor's problems sheet row ``Byte Alignment Analysis | 3
    communication operators are not aligned.``

    ## How to fix

    Pad or reshape the communicated tensors to 512-byte multiples.
    """

    code = "ADV003"
    explained_by = ("ALN003",)
    name = "advisor-byte-alignment"


@register
class BandwidthContention(AdvisorRule):
    """msprof-analyze advisor: communication bandwidth taken by concurrent compute.

    ## What it does

    The "Bandwidth Contention Analysis" check — SDMA bandwidth below the
    threshold while computation overlaps communication.

    ## Why it matters

    Overlapped compute competes for HBM bandwidth and slows collectives.

    ## Example

    The advisor's problems sheet row ``Bandwidth Contention Analysis | The
    SDMA bandwidth of hcom_allReduce__606_0_1 is 9.7 GB/s while matmul kernels
    run alongside it.``

    ## How to fix

    Compare with fusion/overlap disabled; reschedule memory-heavy
    kernels away from large collectives.
    """

    code = "ADV004"
    name = "advisor-bandwidth-contention"


@register
class OperatorBound(AdvisorRule):
    """msprof-analyze advisor: operators bound by memory transfer or other pipes.

    ## What it does

    Operator-level findings such as "Operator No Bound Issues" and
    "AI Core Performance Analysis" (operator_bound_ratio 0.8), and one
    finding per row of the workbook's MTE-bound operator-sequence sheet
    (基于mte瓶颈的算子序列分析: operators by name where the sheet names
    them, else by their rows in kernel_details.csv, with MTE and execution
    time in µs).

    ## Why it matters

    A kernel limited by MTE (GM<->UB/L1 transfers) gains nothing from
    faster compute; fusion or tiling changes are needed.

    ## Example

    The advisor's problems sheet row ``AI Core Performance Analysis | 12
    operators are bound by MTE2 (operator_bound_ratio 0.8)``, or a row of the
    MTE-bound operator-sequence sheet naming ``Add_1, Mul_2`` with their MTE
    and execution time.

    ## How to fix

    Fuse the listed operator sequences, enlarge tiles / double-buffer to
    hide transfers, check AOE tuning.
    """

    code = "ADV005"
    explained_by = ("GM001", "GM002", "GM003", "ALN003", "ALN004")
    name = "advisor-operator-bound"


@register
class OtherAdvisorProblem(AdvisorRule):
    """msprof-analyze advisor: any other problem category.

    ## What it does

    A problem row/section whose category has no dedicated code (e.g.
    AI Core frequency, dynamic shapes, dataloader, and the fusible-operator
    analysis, which is host-dispatch advice); overall summaries,
    comparisons ("Kernel compare", "Api compare") and low-priority items
    are INFO. Empty or "nan" cells are absent, never text.

    ## Why it matters

    The advisor's own analysis; kept so nothing it reports is lost.

    ## Example

    The advisor's problems sheet row ``AI Core Frequency | 15 operators
    are found during frequency reduction. | 1. check temperature``.

    ## How to fix

    Follow the advisor's suggestion for the category (the finding carries
    it when the advisor gave one); rerun the advisor to confirm.
    """

    code = "ADV009"
    name = "advisor-other"
