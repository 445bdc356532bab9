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

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding
from ubscope.analyzers.model.arrays import CORE_KIND_LABELS, group_id
from ubscope.analyzers.rules import load_rules
from ubscope.analyzers.vendor.rule import VendorRule
from ubscope.probe.events import Space

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


def vendor_rules() -> dict[str, type[VendorRule]]:
    """The vendor rules by code: each says which trace codes can explain its
    findings (``explained_by``) and whether they only describe (``descriptive``)."""
    return {code: rule for code, rule in load_rules().items() if issubclass(rule, VendorRule)}


def matches(vendor: Finding, trace: Finding, explainers: tuple[str, ...]) -> bool:
    """Whether ``trace`` explains ``vendor``: its code is one of ``explainers``
    (the vendor rule's ``explained_by``), and no disagreement on kernel, space,
    core or address where both say."""
    if trace.code not in explainers:
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
    redzone = ctx.table.redzone_writes()
    rows = np.r_[blocks.alloc_row, redzone.rows]
    start = np.r_[blocks.addr, redzone.address]
    end = np.r_[blocks.end, redzone.address + redzone.bytes]
    gid = np.r_[blocks.gid, ctx.gid(redzone.rows)]
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
    rules = vendor_rules()
    for vendor in (f for f in findings if f.source != "ubscope"):
        rule = rules.get(vendor.code)
        if rule is not None and rule.descriptive:
            continue
        explainers = rule.explained_by if rule is not None else ()
        explained = [t for t in trace_findings if matches(vendor, t, explainers)]
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
