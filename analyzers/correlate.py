"""Correlation of vendor findings with the trace.

A vendor finding (msSanitizer, msadvisor, msprof op, torch_npu) and a trace
finding describe the same problem when their codes are related (an illegal
UB write and a red-zone write), and the kernel name, memory space, core
(kind + index) and address (range containment) agree wherever both know
them. Matched trace findings get "confirmed by msSanitizer (serialNo 12)";
vendor findings get "explained by UB002 ..." or "not explained by the trace"
(with the trace events at their address, when there are any).
"""

from __future__ import annotations

import re

import numpy as np

from ubscope.analyzers.context import CORE_KIND_LABELS, TraceContext, group_id
from ubscope.analyzers.findings import Finding
from ubscope.probe.events import EventKind, Space

# vendor code -> trace codes that can explain it
RELATED: dict[str, tuple[str, ...]] = {
    "SAN001": ("UB001", "UB002", "UB004", "GM004"),
    "SAN002": ("ALN001",),
    "SAN003": ("GM004", "UB004"),
    "SAN005": ("UB005",),
    "SAN007": ("UB011",),
    "CPU001": ("UB001", "UB002"),
    "CPU002": ("ALN001",),
    "CPU003": ("UB001",),
    "CPU004": ("UB007",),
    "NCK001": ("UB002",),
    "NCK002": ("UB001", "UB002", "UB012"),
    "NCK003": ("ALN001",),
    "NCK006": ("UB005",),
    "ADV003": ("ALN003",),
    "ADV005": ("GM001", "GM002", "GM003", "ALN003", "ALN004"),
    "MSOP003": ("GM001", "GM002", "GM003", "ALN003", "ALN004"),
    "SIM001": ("ALN001",),
}
# Vendor findings that describe rather than flag: nothing for the trace to explain.
DESCRIPTIVE = ("SIM003",)
_TEMPLATE = re.compile(r"<[^<>]*>")


def kernel_key(name: str) -> str:
    """``"void add_custom<half>(uint8_t*, ...)"`` -> ``add_custom``."""
    text = name.strip().strip('"')
    text = _TEMPLATE.sub("", text.partition("(")[0]).strip()
    return text.split()[-1].lower() if text.split() else ""


def kernels_agree(vendor: str | None, trace: str | None) -> bool:
    if not vendor or not trace:
        return True
    a, b = kernel_key(vendor), kernel_key(trace)
    return bool(a) and bool(b) and (a in b or b in a)


def _cores(finding: Finding) -> list[int] | None:
    cores = finding.evidence.get("cores")
    if isinstance(cores, list) and cores:
        return cores
    return [finding.location.core] if finding.location.core is not None else None


def matches(vendor: Finding, trace: Finding) -> bool:
    """Whether ``trace`` explains ``vendor`` (related codes, and no disagreement on
    kernel, space, core or address where both say)."""
    if trace.code not in RELATED.get(vendor.code, ()):
        return False
    v, t = vendor.location, trace.location
    if not kernels_agree(v.kernel, t.kernel):
        return False
    if v.space and t.space and v.space.upper() != t.space.upper():
        return False
    if v.core_kind and t.core_kind and v.core_kind.lower() != t.core_kind.lower():
        return False
    cores = _cores(trace)
    if v.core is not None and cores is not None and v.core not in cores:
        return False
    if v.addr_start is not None and t.addr_start is not None and t.addr_end is not None:
        v_end = v.addr_end if v.addr_end is not None else v.addr_start + 1
        if not (v.addr_start < t.addr_end and v_end > t.addr_start):
            return False
    return True


def reference(finding: Finding) -> str:
    """How to point at a vendor finding: serialNo, report line or code."""
    evidence = finding.evidence
    if "serialNo" in evidence:
        return f"serialNo {evidence['serialNo']}"
    if "report_line" in evidence:
        return f"line {evidence['report_line']}"
    return finding.code


def events_at(ctx: TraceContext, vendor: Finding) -> np.ndarray:
    """Allocation and red-zone event rows whose on-chip range holds the vendor
    finding's address on its core (empty when it names no on-chip address)."""
    loc = vendor.location
    if loc.addr_start is None or not loc.space or loc.space.upper() not in Space.__members__:
        return np.zeros(0, dtype=np.int64)
    space = Space[loc.space.upper()]
    if space in (Space.GM, Space.NONE):
        return np.zeros(0, dtype=np.int64)
    blocks = ctx.blocks
    redzone = ctx.rows(EventKind.REDZONE_WRITE)
    rows = np.r_[blocks.alloc_row, redzone]
    start = np.r_[blocks.addr, ctx.column("addr")[redzone]]
    end = np.r_[blocks.end, ctx.column("addr")[redzone] + ctx.column("size")[redzone]]
    gid = np.r_[blocks.gid, ctx.gid(redzone)]
    hit = (start <= loc.addr_start) & (end > loc.addr_start) & (gid % 8 == space)
    if loc.core is not None and loc.core_kind and loc.core_kind.lower() in CORE_KIND_LABELS:
        kind = CORE_KIND_LABELS.index(loc.core_kind.lower())
        wanted = group_id(np.array([kind]), np.array([loc.core]), np.array([int(space)]))[0]
        hit &= gid == wanted
    return np.sort(rows[hit])


def correlate(findings: list[Finding], ctx: TraceContext | None) -> None:
    """Annotate ``findings`` in place (``Finding.correlations``) when there is a trace."""
    if ctx is None:
        return
    trace_findings = [f for f in findings if f.source == "ubscope"]
    kernels = set(ctx.launches["name"]) or {ctx.trace.kernel}
    for vendor in (f for f in findings if f.source != "ubscope" and f.code not in DESCRIPTIVE):
        explained = [t for t in trace_findings if matches(vendor, t)]
        for trace in explained:
            note = f"confirmed by {vendor.source} ({reference(vendor)})"
            if note not in trace.correlations:
                trace.correlations.append(note)
        if explained:
            vendor.correlations.extend(
                f"explained by {t.code} ({t.location.describe()})" for t in explained
            )
            continue
        kernel = vendor.location.kernel
        if kernel and not any(kernels_agree(kernel, k) for k in kernels):
            vendor.correlations.append(
                f"not explained by the trace: kernel '{kernel}' is not in it"
            )
            continue
        rows = events_at(ctx, vendor)
        note = "not explained by the trace"
        if rows.size:
            seq = ctx.column("seq")
            note += f" (trace events at this address: {int(seq[rows[0]])}..{int(seq[rows[-1]])})"
        vendor.correlations.append(note)
