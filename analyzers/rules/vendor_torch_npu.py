"""Rules over torch_npu profiler memory data (``TNPU0xx``).

They read the reduced tables of :func:`ubscope.analyzers.vendor.read_torch_npu`
(``memory_record_summary``, ``operator_memory_by_name``,
``operator_memory_lifetimes``), so they work the same on a 1 GB export.
"""

from __future__ import annotations

import math

import pandas as pd

from ubscope.analyzers.findings import Finding, Location, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.vendor.common import TORCH_NPU, VendorReport

CACHING_ALLOCATOR = "PTA"


def _peak_reserved_mb(data: VendorReport) -> float | None:
    summary = data.tables.get("memory_record_summary")
    if summary is None or summary.empty:
        return None
    rows = summary[summary["component"] == CACHING_ALLOCATOR]
    peak = (rows if not rows.empty else summary)["peak_reserved_mb"].max()
    return None if pd.isna(peak) else float(peak)


@register
class AllocatorFragmentation(Rule):
    """torch_npu: the caching allocator reserves much more than tensors use at its peak.

    What: from memory_record PTA rows, at the highest Total Reserved, the
    largest Total Allocated seen at that level; flags when
    (reserved - allocated) / reserved exceeds ``max_unused_fraction`` and
    reserved is at least ``min_reserved_mb``.
    Why: reserved-but-unallocated memory is held in cached blocks that are
    too fragmented (or too small) for the request that forced the peak; it
    counts against HBM and causes out-of-memory while "free" memory exists.
    Fix: set PYTORCH_NPU_ALLOC_CONF=expandable_segments:True (or a
    max_split_size_mb), allocate large long-lived buffers first, avoid
    varying shapes that defeat block reuse.
    """

    code = "TNPU001"
    name = "allocator-fragmentation"
    input_kind = "torch_npu"
    severity = Severity.WARNING
    thresholds = {"max_unused_fraction": 0.3, "min_reserved_mb": 256.0}

    def check(self, data: VendorReport) -> list[Finding]:
        summary = data.tables.get("memory_record_summary")
        if summary is None:
            return []
        findings = []
        for row in summary[summary["component"] == CACHING_ALLOCATOR].to_dict("records"):
            reserved, allocated = row["peak_reserved_mb"], row["allocated_at_peak_mb"]
            if pd.isna(reserved) or pd.isna(allocated) or reserved < self.limits["min_reserved_mb"]:
                continue
            unused = (reserved - allocated) / reserved
            if unused <= self.limits["max_unused_fraction"]:
                continue
            findings.append(
                self.finding(
                    f"caching allocator on {row['device']}: at its peak of {reserved:.0f} MB reserved "
                    f"at most {allocated:.0f} MB was allocated ({unused:.0%} reserved but unused)",
                    Location(space="GM"),
                    evidence={
                        "device": row["device"],
                        "peak_reserved_mb": reserved,
                        "allocated_at_peak_mb": allocated,
                        "unused_fraction": round(unused, 4),
                        "peak_reserved_ns": int(row["peak_reserved_ns"]),
                    },
                    suggestion="Try PYTORCH_NPU_ALLOC_CONF=expandable_segments:True; keep shapes stable.",
                    estimated_gain=f"up to {reserved - allocated:.0f} MB of HBM",
                    source=TORCH_NPU,
                )
            )
        return findings


@register
class PeakOperatorMemory(Rule):
    """torch_npu: the operators with the largest single allocations.

    What: from operator_memory, the ``top_n`` operators whose largest block
    is at least ``min_block_mb``, with their share of the allocator's peak
    reserved memory.
    Why: a few huge blocks usually set the memory peak; shrinking them is the
    most direct way to fit a larger batch or avoid out-of-memory.
    Fix: recompute (activation checkpointing), split the operator into
    chunks, use in-place variants or free the producer's output earlier.
    """

    code = "TNPU002"
    name = "peak-operator-memory"
    input_kind = "torch_npu"
    severity = Severity.WARNING
    thresholds = {"min_block_mb": 256.0, "top_n": 5}

    def check(self, data: VendorReport) -> list[Finding]:
        by_name = data.tables.get("operator_memory_by_name")
        if by_name is None or by_name.empty:
            return []
        big = by_name[by_name["max_kb"] >= self.limits["min_block_mb"] * 1024]
        big = big.sort_values("max_kb", ascending=False).head(int(self.limits["top_n"]))
        peak = _peak_reserved_mb(data)
        findings = []
        for row in big.to_dict("records"):
            block_mb = row["max_kb"] / 1024
            share = f" ({block_mb / peak:.0%} of the {peak:.0f} MB peak reserved)" if peak else ""
            findings.append(
                self.finding(
                    f"{row['name']} allocates blocks of up to {block_mb:.0f} MB{share}, "
                    f"{row['allocations']} allocation(s), {row['total_kb'] / 1024:.0f} MB in total",
                    Location(space="GM", tag=row["name"]),
                    evidence={
                        "device": row["device"],
                        "max_block_mb": round(block_mb, 3),
                        "allocations": int(row["allocations"]),
                        "total_mb": round(row["total_kb"] / 1024, 3),
                        "peak_reserved_mb": peak,
                    },
                    suggestion="Split, recompute or free this operator's output earlier.",
                    source=TORCH_NPU,
                )
            )
        return findings


@register
class AllocationChurn(Rule):
    """torch_npu: many allocations per second, mostly short-lived blocks.

    What: from operator_memory, allocations per second over the profiled span
    above ``max_allocs_per_s``, or the share of released blocks living less
    than ``short_lived_us`` above ``max_short_lived_fraction`` (thresholds are
    read on the 1-2-5 lifetime histogram, so ``short_lived_us`` rounds down
    to 1, 2, 5, 10, 20, 50, ... µs). Needs ``min_allocations`` allocations.
    Why: every allocation costs host time in the caching allocator and
    short-lived blocks fragment it; temporaries inside loops are the usual
    cause.
    Fix: preallocate and reuse buffers (out= arguments, in-place ops), fuse
    the operators that create the temporaries, hoist allocations out of
    loops.
    """

    code = "TNPU003"
    name = "allocation-churn"
    input_kind = "torch_npu"
    severity = Severity.WARNING
    thresholds = {
        "max_allocs_per_s": 2000.0,
        "short_lived_us": 100.0,
        "max_short_lived_fraction": 0.5,
        "min_allocations": 1000.0,
    }

    def check(self, data: VendorReport) -> list[Finding]:
        by_name = data.tables.get("operator_memory_by_name")
        lifetimes = data.tables.get("operator_memory_lifetimes")
        if by_name is None or lifetimes is None or by_name.empty:
            return []
        allocations = int(by_name["allocations"].sum())
        if allocations < self.limits["min_allocations"]:
            return []
        span_s = (by_name["last_alloc_ns"].max() - by_name["first_alloc_ns"].min()) / 1e9
        rate = allocations / span_s if span_s > 0 else math.inf
        short = lifetimes[lifetimes["lifetime_below_us"] <= self.limits["short_lived_us"]]
        released = int(by_name["released"].sum())
        fraction = short["blocks"].sum() / released if released else 0.0
        if (
            rate <= self.limits["max_allocs_per_s"]
            and fraction <= self.limits["max_short_lived_fraction"]
        ):
            return []
        culprits = short.groupby("name")["blocks"].sum().nlargest(5)
        return [
            self.finding(
                f"{allocations} operator allocations at {rate:.0f}/s; {fraction:.0%} of released "
                f"blocks lived under {self.limits['short_lived_us']:g} µs",
                Location(space="GM"),
                evidence={
                    "allocations": allocations,
                    "span_s": round(float(span_s), 6),
                    "allocations_per_s": round(rate, 1),
                    "released": released,
                    "short_lived": int(short["blocks"].sum()),
                    "short_lived_fraction": round(float(fraction), 4),
                    "top_short_lived_operators": {str(k): int(v) for k, v in culprits.items()},
                },
                suggestion="Reuse buffers (out=, in-place ops) and hoist allocations out of loops.",
                source=TORCH_NPU,
            )
        ]
