"""Advisor finding codes (``ADV0xx``): problems reported by the old msadvisor
knowledge bases and by ``msprof-analyze advisor``, read by
:func:`ubscope.analyzers.vendor.read_msadvisor`."""

from __future__ import annotations

from ubscope.analyzers.rules.base import register
from ubscope.analyzers.rules.vendor_reported import ReportedFindingRule


class AdvisorRule(ReportedFindingRule):
    """An advisor-reported problem."""

    input_kind = "msadvisor"


@register
class KnowledgeBaseProblem(AdvisorRule):
    """msadvisor: a knowledge base recommends a change.

    What: a result object of the old msadvisor (CANN 5-8 "expert system")
    that lists rows in its extendResult (operators, settings, suggestions)
    or whose summary recommends something ("need to be optimized", "建议",
    and not "no problem"/"无需"). errorCode decides nothing: the
    API-optimisation base writes '0' for "problem found", the
    running-environment base '1' beside a recommendation; it stays in the
    results table. The summary is the message, the extendResult tables are
    in evidence.
    Why: the knowledge bases encode known slow or wasteful patterns for the
    operator or model that was profiled.
    Fix: follow the suggestion rows in evidence; rerun msadvisor to confirm.
    """

    code = "ADV001"
    name = "msadvisor-problem"


@register
class MemoryOperatorIssue(AdvisorRule):
    """msprof-analyze advisor: memory allocation/free APIs take much time.

    What: the "Memory Operator Issues" check — AscendCL@aclMallocMemInner,
    aclrtFree or aclrtFreePhysical calls whose total duration exceeds the
    advisor's limit (10 ms by default).
    Why: while the host allocates or frees, the device idles ("free time").
    Fix: export PYTORCH_NPU_ALLOC_CONF=expandable_segments:True, avoid
    torch.npu.empty_cache() in the loop, reduce the batch size when HBM is
    nearly full.
    """

    code = "ADV002"
    name = "advisor-memory-operators"


@register
class ByteAlignment(AdvisorRule):
    """msprof-analyze advisor: communication data not 512-byte aligned.

    What: the "Byte Alignment Analysis" check — SDMA communication operators
    whose data size is not a multiple of 512 bytes.
    Why: unaligned transfers use the link less efficiently.
    Fix: pad or reshape the communicated tensors to 512-byte multiples.
    """

    code = "ADV003"
    name = "advisor-byte-alignment"


@register
class BandwidthContention(AdvisorRule):
    """msprof-analyze advisor: communication bandwidth taken by concurrent compute.

    What: the "Bandwidth Contention Analysis" check — SDMA bandwidth below the
    threshold while computation overlaps communication.
    Why: overlapped compute competes for HBM bandwidth and slows collectives.
    Fix: compare with fusion/overlap disabled; reschedule memory-heavy
    kernels away from large collectives.
    """

    code = "ADV004"
    name = "advisor-bandwidth-contention"


@register
class OperatorBound(AdvisorRule):
    """msprof-analyze advisor: operators bound by memory transfer or other pipes.

    What: operator-level findings such as "Operator No Bound Issues" and
    "AI Core Performance Analysis" (operator_bound_ratio 0.8), and one
    finding per row of the workbook's MTE-bound operator-sequence sheet
    (基于mte瓶颈的算子序列分析: operators by name where the sheet names
    them, else by their rows in kernel_details.csv, with MTE and execution
    time in µs).
    Why: a kernel limited by MTE (GM<->UB/L1 transfers) gains nothing from
    faster compute; fusion or tiling changes are needed.
    Fix: fuse the listed operator sequences, enlarge tiles / double-buffer to
    hide transfers, check AOE tuning.
    """

    code = "ADV005"
    name = "advisor-operator-bound"


@register
class OtherAdvisorProblem(AdvisorRule):
    """msprof-analyze advisor: any other problem category.

    What: a problem row/section whose category has no dedicated code (e.g.
    AI Core frequency, dynamic shapes, dataloader, and the fusible-operator
    analysis, which is host-dispatch advice); overall summaries,
    comparisons ("Kernel compare", "Api compare") and low-priority items
    are INFO. Empty or "nan" cells are absent, never text.
    Why: the advisor's own analysis; kept so nothing it reports is lost.
    Fix: see the suggestion text carried by the finding.
    """

    code = "ADV009"
    name = "advisor-other"
