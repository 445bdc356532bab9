"""Rules over a cluster profile's ``cluster_ranks`` table (``TNPU004``-``TNPU005``).

The table comes from :func:`~ubscope.analyzers.vendor.torch_npu.cluster.cluster_report`;
a single rank folder has none, so these rules say nothing about it.
"""

from __future__ import annotations

import math

import pandas as pd

from ubscope.analyzers.findings import Finding, Location, Severity
from ubscope.analyzers.rules.base import Threshold, register
from ubscope.analyzers.vendor.common import VendorReport
from ubscope.analyzers.vendor.rule import VendorRule
from ubscope.analyzers.vendor.torch_npu.cluster import CLUSTER_TABLE
from ubscope.analyzers.vendor.torch_npu.memory import mib_text
from ubscope.analyzers.vendor.torch_npu.reader import TORCH_NPU


def _ranks(data: VendorReport) -> pd.DataFrame:
    return data.tables.get(CLUSTER_TABLE, pd.DataFrame())


# Shares are compared to 12 decimals: the float error of a ratio (1e-16) must not
# decide. 1100 / 1000 - 1 is 0.10000000000000009 and 1 - 900 / 1000 is
# 0.09999999999999998: both are 10 %, at a 10 % limit, not over it.
_SHARE_DECIMALS = 12


def _evidence(row: dict) -> dict[str, object]:
    return {
        "rank": row["rank"],
        "folder": row["folder"],
        "device": row["device"],
        "peak_reserved_mb": round(float(row["peak_reserved_mb"]), 3),
        "peak_allocated_mb": None
        if pd.isna(row["peak_allocated_mb"])
        else round(float(row["peak_allocated_mb"]), 3),
        "vs_median": None if pd.isna(row["vs_median"]) else round(float(row["vs_median"]), 4),
    }


@register
class RankMemoryOutlier(VendorRule):
    """torch_npu cluster: a rank's peak reserved memory is far from the other ranks'.

    ## What it does

    Over the ranks of a cluster profile (a folder of ``*_ascend_pt`` rank
    folders), the caching allocator's peak reserved memory of each rank
    (memory_record PTA rows) against the median of all ranks; flags each rank
    more than ``max_deviation`` above or below it (``--rank-outlier``, 10 %
    by default). Needs ``min_ranks`` ranks with memory figures.

    ## Why it matters

    Ranks of a data- or tensor-parallel job run the same model on equal
    shares: their memory should match. The rank that needs more runs out of
    memory first and sets the batch size for all; one that needs much less
    may hold a smaller share of the work (uneven sequence lengths, a pipeline
    stage with more layers) or skipped a step.

    ## Example

    Four ranks whose peak reserved memory is 1452, 1452, 1524.6 and 2178 MiB
    (torch_npu's "MB"): the median is 1488.3 MiB and the last rank sits 46 %
    above it. A rank exactly 10 % from the median is not flagged.

    ## How to fix

    Compare the outlier's operator_memory with another rank's (TNPU002 names
    its largest blocks): balance the work across ranks (equal sequence
    lengths per batch, layers per pipeline stage), or look for a cache or
    buffer only that rank keeps.
    """

    code = "TNPU004"
    name = "rank-memory-outlier"
    input_kind = "torch_npu"
    severity = Severity.WARNING
    thresholds = {
        "max_deviation": Threshold(
            0.10, "share above or below the median peak reserved memory a rank may sit"
        ),
        "min_ranks": Threshold(3, "ranks with memory figures needed before any is judged"),
    }

    def check(self, data: VendorReport) -> list[Finding]:
        ranks = _ranks(data)
        if len(ranks) < self.limits["min_ranks"]:
            return []
        median = float(ranks["peak_reserved_mb"].median())
        limit = round(self.limits["max_deviation"], _SHARE_DECIMALS)
        findings = []
        for row in ranks.to_dict("records"):
            deviation = float(row["vs_median"])
            if math.isnan(deviation):
                # Above a median of 0 B: far from it, by no share that can be written.
                distance = "above"
            elif round(abs(deviation), _SHARE_DECIMALS) <= limit:
                continue
            else:
                distance = f"{abs(deviation):.0%} {'above' if deviation > 0 else 'below'}"
            findings.append(
                self.finding(
                    f"{row['rank']} ({row['folder']}): peak reserved "
                    f"{mib_text(row['peak_reserved_mb'])} is {distance} the "
                    f"median {mib_text(median)} of {len(ranks)} ranks",
                    Location(space="GM", tag=str(row["rank"])),
                    evidence={**_evidence(row), "median_reserved_mb": round(median, 3)},
                    suggestion=self.fix(),
                    source=TORCH_NPU,
                )
            )
        return findings


@register
class ClusterWorstRanks(VendorRule):
    """torch_npu cluster: the ranks with the highest peak reserved memory.

    ## What it does

    Over the ranks of a cluster profile, the ``top_n`` ranks with the highest
    caching-allocator peak reserved memory, each with its peak allocated
    memory and the reserved-but-unallocated gap at its peak; one info finding.

    ## Why it matters

    The rank with the highest peak decides whether the job fits: it is the
    first to run out of memory when the batch or the model grows, and its
    headroom is the cluster's.

    ## Example

    A 64-rank job whose ranks peak between 30.1 and 31.0 GiB reserved: the
    finding names the three highest, rank 17 first with 31.0 GiB reserved of
    which 27.2 GiB allocated.

    ## How to fix

    Work on the worst rank first: its TNPU001-TNPU003 findings say whether its
    peak is fragmentation (a reserved-allocated gap), a few large blocks or
    allocation churn.
    """

    code = "TNPU005"
    name = "cluster-worst-ranks"
    input_kind = "torch_npu"
    severity = Severity.INFO
    descriptive = True
    thresholds = {"top_n": Threshold(3, "ranks named, highest peak reserved first")}

    def check(self, data: VendorReport) -> list[Finding]:
        ranks = _ranks(data)
        if len(ranks) < 2:
            return []
        worst = ranks.head(int(self.limits["top_n"])).to_dict("records")
        listed = "; ".join(
            f"{row['rank']} {mib_text(row['peak_reserved_mb'])} reserved"
            + (
                ""
                if pd.isna(row["allocated_at_peak_mb"])
                else f", {mib_text(row['allocated_at_peak_mb'])} allocated at its peak"
            )
            for row in worst
        )
        low, high = ranks["peak_reserved_mb"].min(), ranks["peak_reserved_mb"].max()
        return [
            self.finding(
                f"{len(ranks)} ranks peak between {mib_text(low)} and {mib_text(high)} "
                f"reserved; highest: {listed}",
                Location(space="GM", tag=str(worst[0]["rank"])),
                evidence={"ranks": len(ranks), "worst": [_evidence(row) for row in worst]},
                suggestion=self.fix(),
                source=TORCH_NPU,
            )
        ]
