"""Rules over torch_npu profiler memory data (``TNPU0xx``).

They read the reduced tables of :func:`~ubscope.analyzers.vendor.torch_npu.reader.read_torch_npu`
(``memory_record_summary``, ``operator_memory_by_name``,
``operator_memory_lifetimes``), so they work the same on a 1 GB export.
"""

from __future__ import annotations

import math

import pandas as pd

from ubscope.analyzers.findings import Finding, Location, Severity
from ubscope.analyzers.rules.base import Threshold, register
from ubscope.analyzers.vendor.common import VendorReport
from ubscope.analyzers.vendor.rule import VendorRule
from ubscope.analyzers.vendor.torch_npu import cluster_rules as cluster_rules  # TNPU004-005
from ubscope.analyzers.vendor.torch_npu.memory import CACHING_ALLOCATOR, allocator_rows, mib_text
from ubscope.analyzers.vendor.torch_npu.reader import TORCH_NPU


def _peak_reserved_mb(data: VendorReport) -> float | None:
    summary = data.tables.get("memory_record_summary")
    if summary is None or summary.empty:
        return None
    peak = allocator_rows(summary)["peak_reserved_mb"].max()
    return None if pd.isna(peak) else float(peak)


@register
class AllocatorFragmentation(VendorRule):
    """torch_npu: the caching allocator reserves much more than tensors use at its peak.

    ## What it does

    From memory_record PTA rows, at the highest Total Reserved, the
    largest Total Allocated seen at that level; flags when
    (reserved - allocated) / reserved exceeds ``max_unused_fraction`` and
    reserved is at least ``min_reserved_mb``.

    ## Why it matters

    Reserved-but-unallocated memory is held in cached blocks that are
    too fragmented (or too small) for the request that forced the peak; it
    counts against HBM and causes out-of-memory while "free" memory exists.

    ## Example

    memory_record.csv PTA rows whose peak ``Total Reserved(MB)`` is 4096
    while ``Total Allocated(MB)`` at that level is 2048: half the reserved
    memory holds no tensor (``max_unused_fraction`` 0.3, ``min_reserved_mb``
    256).

    ## How to fix

    Set PYTORCH_NPU_ALLOC_CONF=expandable_segments:True (or a
    max_split_size_mb), allocate large long-lived buffers first, avoid
    varying shapes that defeat block reuse.
    """

    code = "TNPU001"
    name = "allocator-fragmentation"
    input_kind = "torch_npu"
    severity = Severity.WARNING
    thresholds = {
        "max_unused_fraction": Threshold(
            0.3, "share of the peak reserved memory that no tensor holds"
        ),
        "min_reserved_mb": Threshold(
            256.0, "peak reserved MiB (torch_npu's MB) below which nothing is flagged"
        ),
    }

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
                    f"caching allocator on {row['device']}: at its peak of {mib_text(reserved)} "
                    f"reserved at most {mib_text(allocated)} was allocated "
                    f"({unused:.0%} reserved but unused)",
                    Location(space="GM"),
                    evidence={
                        "device": row["device"],
                        "peak_reserved_mb": reserved,
                        "allocated_at_peak_mb": allocated,
                        "unused_fraction": round(unused, 4),
                        "peak_reserved_ns": int(row["peak_reserved_ns"]),
                    },
                    suggestion=self.fix(),
                    estimated_gain=f"up to {mib_text(reserved - allocated)} of HBM",
                    source=TORCH_NPU,
                )
            )
        return findings


@register
class PeakOperatorMemory(VendorRule):
    """torch_npu: the operators with the largest single allocations.

    ## What it does

    From operator_memory, the ``top_n`` operators whose largest block
    is at least ``min_block_mb``, with their share of the allocator's peak
    reserved memory.

    ## Why it matters

    A few huge blocks usually set the memory peak; shrinking them is the
    most direct way to fit a larger batch or avoid out-of-memory.

    ## Example

    operator_memory.csv rows ``aten::matmul,...,Size(KB)=2097152``: one
    matmul allocates 2 GiB, the largest single allocation of the run.

    ## How to fix

    Recompute (activation checkpointing), split the operator into
    chunks, use in-place variants or free the producer's output earlier.
    """

    code = "TNPU002"
    name = "peak-operator-memory"
    input_kind = "torch_npu"
    severity = Severity.WARNING
    thresholds = {
        "min_block_mb": Threshold(
            256.0, "largest block (MiB, torch_npu's MB) an operator must reach to be listed"
        ),
        "top_n": Threshold(5, "operators listed at most, largest block first"),
    }

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
            share = (
                f" ({block_mb / peak:.0%} of the {mib_text(peak)} peak reserved)" if peak else ""
            )
            findings.append(
                self.finding(
                    f"{row['name']} allocates blocks of up to {mib_text(block_mb)}{share}, "
                    f"{row['allocations']} allocation(s), {mib_text(row['total_kb'] / 1024)} "
                    "in total",
                    Location(space="GM", tag=row["name"]),
                    evidence={
                        "device": row["device"],
                        "max_block_mb": round(block_mb, 3),
                        "allocations": int(row["allocations"]),
                        "total_mb": round(row["total_kb"] / 1024, 3),
                        "peak_reserved_mb": peak,
                    },
                    suggestion=self.fix(),
                    source=TORCH_NPU,
                )
            )
        return findings


@register
class AllocationChurn(VendorRule):
    """torch_npu: many allocations per second, mostly short-lived blocks.

    ## What it does

    From operator_memory, allocations per second over the profiled span
    above ``max_allocs_per_s``, or the share of released blocks living less
    than ``short_lived_us`` above ``max_short_lived_fraction`` (thresholds are
    read on the 1-2-5 lifetime histogram, so ``short_lived_us`` rounds down
    to 1, 2, 5, 10, 20, 50, ... µs). Needs ``min_allocations`` allocations.

    ## Why it matters

    Every allocation costs host time in the caching allocator and
    short-lived blocks fragment it; temporaries inside loops are the usual
    cause.

    ## Example

    operator_memory.csv with 50 000 allocations over 2 s of profile, 80 %
    of the released blocks freed within 10 µs of their ``Allocation
    Time(us)``.

    ## How to fix

    Preallocate and reuse buffers (out= arguments, in-place ops), fuse
    the operators that create the temporaries, hoist allocations out of
    loops.
    """

    code = "TNPU003"
    name = "allocation-churn"
    input_kind = "torch_npu"
    severity = Severity.WARNING
    thresholds = {
        "max_allocs_per_s": Threshold(2000.0, "allocations per second of profiled span"),
        "short_lived_us": Threshold(
            100.0, "lifetime (µs) below which a block counts as short-lived"
        ),
        "max_short_lived_fraction": Threshold(0.5, "share of released blocks that are short-lived"),
        "min_allocations": Threshold(1000.0, "allocations needed before anything is judged"),
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
                suggestion=self.fix(),
                source=TORCH_NPU,
            )
        ]
