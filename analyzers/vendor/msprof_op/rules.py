"""Rules over ``msprof op`` kernel metrics (``MSOP0xx``): UB bank conflicts and
MTE-bound kernels, per operator launch with the offending blocks in evidence."""

from __future__ import annotations

from typing import TypedDict

import pandas as pd

from ubscope.analyzers.findings import Finding, Location, Severity
from ubscope.analyzers.rules.base import Threshold, register
from ubscope.analyzers.vendor.common import VendorReport
from ubscope.analyzers.vendor.msprof_op.reader import MSPROF_OP
from ubscope.analyzers.vendor.rule import VendorRule

EVIDENCE_BLOCKS = 16


def _int(value: object) -> int | None:
    """A block id, or None when the cell is empty or not a whole number."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def _core_kind(sub_block: object) -> str:
    text = str(sub_block).lower()
    return "aiv" if text.startswith("vector") else "aic" if text.startswith("cube") else "aicore"


class Launch(TypedDict):
    """Where one metric CSV's rows come from."""

    op_name: str | None
    launch: int | None
    device: int | None
    dir: str


def _launches(table: pd.DataFrame) -> list[tuple[Launch, pd.DataFrame]]:
    """Rows per operator launch (one metric CSV), with its op name/launch/device."""
    groups = []
    for _, rows in table.groupby("dir", sort=False):
        first = rows.iloc[0]
        context: Launch = {
            "op_name": None if pd.isna(first.get("op_name")) else str(first["op_name"]),
            "launch": _int(first.get("launch")),
            "device": _int(first.get("device")),
            "dir": str(first.get("dir")),
        }
        groups.append((context, rows))
    return groups


def _blocks(rows: pd.DataFrame) -> pd.DataFrame:
    """block_id / core kind per row (310P rows have no ids: row order is the core)."""
    block = (
        rows["block_id"] if "block_id" in rows else pd.Series(range(len(rows)), index=rows.index)
    )
    sub = rows["sub_block_id"] if "sub_block_id" in rows else pd.Series("", index=rows.index)
    return pd.DataFrame({"block_id": block, "sub_block_id": sub, "core_kind": sub.map(_core_kind)})


class BankConflictRule(VendorRule):
    """Per-block UB bank conflict ratio from ResourceConflictRatio.csv."""

    input_kind = "msprof_op"
    severity = Severity.WARNING
    columns: tuple[str, ...] = ()
    what = ""

    def check(self, data: VendorReport) -> list[Finding]:
        table = data.tables.get("ResourceConflictRatio")
        column = next((c for c in self.columns if table is not None and c in table), None)
        if table is None or column is None:
            return []
        findings = []
        for context, rows in _launches(table):
            blocks = _blocks(rows).assign(ratio=pd.to_numeric(rows[column], errors="coerce"))
            over = blocks[blocks["ratio"] > self.limits["max_ratio"]].sort_values(
                "ratio", ascending=False
            )
            if over.empty:
                continue
            worst = over.iloc[0]
            block_id = _int(worst["block_id"])
            findings.append(
                self.finding(
                    f"{context['op_name'] or 'operator'}: UB {self.what} conflicts on "
                    f"{len(over)} of {len(blocks)} block(s), worst {worst['ratio']:.1%} of cycles "
                    f"on block {block_id}",
                    Location(
                        kernel=context["op_name"],
                        core=block_id,
                        core_kind=worst["core_kind"],
                        space="UB",
                    ),
                    evidence={
                        "metric": column,
                        "launch": context["launch"],
                        "device": context["device"],
                        "dir": context["dir"],
                        "blocks": [
                            {
                                "block_id": _int(b),
                                "sub_block_id": str(s),
                                "ratio": round(float(r), 4),
                            }
                            for b, s, r in over[["block_id", "sub_block_id", "ratio"]]
                            .head(EVIDENCE_BLOCKS)
                            .itertuples(index=False)
                        ],
                    },
                    suggestion=self.fix(),
                    estimated_gain=f"up to {worst['ratio']:.0%} of vector cycles on block {block_id}",
                    source=MSPROF_OP,
                )
            )
        return findings


@register
class BankGroupConflict(BankConflictRule):
    """msprof op: vector instructions stall on UB bank-group conflicts.

    ## What it does

    ``aiv_vec_bankgroup_cflt_ratio`` (``aic_...`` on 310P) in
    ResourceConflictRatio.csv above ``max_ratio`` on any block; one finding
    per operator launch listing the blocks over the threshold.

    ## Why it matters

    Operands of one vector instruction in the same UB bank group are
    read serially, so the instruction takes several cycles instead of one.

    ## Example

    ResourceConflictRatio.csv with ``block_id,sub_block_id,
    aiv_vec_bankgroup_cflt_ratio`` rows ``0,vector0,0.12``: block 0 stalls
    12 % of its vector cycles on bank-group conflicts (``max_ratio`` 0.04).

    ## How to fix

    Place source and destination tensors in different bank groups
    (offset buffers by the bank-group stride, e.g. via TBuf/queue ordering or
    padding), or split the operation so operands do not collide.
    """

    code = "MSOP001"
    name = "ub-bank-group-conflict"
    thresholds = {
        "max_ratio": Threshold(
            0.04, "share of a block's vector cycles stalled on bank-group conflicts"
        )
    }
    columns = ("aiv_vec_bankgroup_cflt_ratio", "aic_vec_bankgroup_cflt_ratio")
    what = "bank-group"


@register
class BankConflict(BankConflictRule):
    """msprof op: vector instructions stall on UB bank conflicts.

    ## What it does

    ``aiv_vec_bank_cflt_ratio`` (``aic_...`` on 310P) in
    ResourceConflictRatio.csv above ``max_ratio`` on any block; one finding
    per operator launch listing the blocks over the threshold.

    ## Why it matters

    Two operands in the same UB bank are accessed in different cycles,
    stalling the vector pipe (the old msprof advice flagged > 4 %).

    ## Example

    ResourceConflictRatio.csv with ``block_id,sub_block_id,
    aiv_vec_bank_cflt_ratio`` rows ``3,vector1,0.09``: block 3 stalls 9 % of
    its vector cycles on bank conflicts (``max_ratio`` 0.04).

    ## How to fix

    Pad or offset buffers by one bank width (32 B) so concurrently read
    operands map to different banks; avoid strides that are multiples of the
    bank count.
    """

    code = "MSOP002"
    name = "ub-bank-conflict"
    thresholds = {
        "max_ratio": Threshold(0.04, "share of a block's vector cycles stalled on bank conflicts")
    }
    columns = ("aiv_vec_bank_cflt_ratio", "aic_vec_bank_cflt_ratio")
    what = "bank"


MTE_PIPES = ("aiv_mte2", "aiv_mte3", "aic_mte1", "aic_mte2", "aic_mte3")


def pipe_shares(rows: pd.DataFrame) -> tuple[dict[str, float], dict[str, str]]:
    """Mean share of its own core's busy time per MTE pipe, and the denominator used.

    ``<pipe>_time(us)`` over the row's ``aic_time(us)``/``aiv_time(us)`` where
    both are present: in mix (AIC+AIV) kernels the ``<pipe>_ratio`` columns
    are fractions of the whole task, not of the core's own time, so they
    under-read a busy pipe. ``<pipe>_ratio`` is the fallback when a file has
    no time columns.
    """
    shares: dict[str, float] = {}
    denominators: dict[str, str] = {}
    for pipe in MTE_PIPES:
        core_time = f"{pipe.split('_')[0]}_time(us)"
        if f"{pipe}_time(us)" in rows and core_time in rows:
            busy = pd.to_numeric(rows[f"{pipe}_time(us)"], errors="coerce")
            total = pd.to_numeric(rows[core_time], errors="coerce")
            share = (busy / total.where(total > 0)).mean()
            denominator = core_time
        elif f"{pipe}_ratio" in rows:
            share = pd.to_numeric(rows[f"{pipe}_ratio"], errors="coerce").mean()
            denominator = f"{pipe}_ratio (fraction of the task duration)"
        else:
            continue
        if pd.notna(share):
            shares[pipe] = round(float(share), 4)
            denominators[pipe] = denominator
    return shares, denominators


@register
class MteBound(VendorRule):
    """msprof op: the kernel is bound by memory transfer (MTE) pipes.

    ## What it does

    From PipeUtilization.csv, the mean over blocks of each MTE pipe's
    share of its own core's busy time (``aiv_mte2_time(us)`` over
    ``aiv_time(us)``, ``aic_mte2_time(us)`` over ``aic_time(us)``, ...);
    flags a launch when the busiest MTE pipe reaches ``min_mte_ratio``
    (msprof-analyze advisor uses 0.8). The ``*_ratio`` columns are used only
    when a file has no time columns: in mix (AIC+AIV) kernels they are
    fractions of the whole task and under-read a busy pipe. The evidence
    names the denominator of every share.

    ## Why it matters

    When transfers GM->UB/L1 (MTE2) or UB->GM (MTE3) take most of the
    time, faster compute changes nothing; the kernel waits on memory.

    ## Example

    PipeUtilization.csv rows ``block_id,aiv_time(us),aiv_mte2_time(us)``
    = ``0,10.0,9.1`` and ``1,10.0,8.7``: MTE2 is busy 89 % of the vector
    core's time (``min_mte_ratio`` 0.8).

    ## How to fix

    Double-buffer (queue depth 2) so transfers overlap compute, use
    larger contiguous DataCopy bursts, reuse data already in UB/L1, fuse with
    neighbours to skip GM round trips.
    """

    code = "MSOP003"
    explained_by = ("GM001", "GM002", "GM003", "ALN003", "ALN004")
    name = "mte-bound"
    input_kind = "msprof_op"
    severity = Severity.WARNING
    thresholds = {
        "min_mte_ratio": Threshold(
            0.8, "mean share of its core's busy time the busiest MTE pipe takes"
        )
    }

    def check(self, data: VendorReport) -> list[Finding]:
        table = data.tables.get("PipeUtilization")
        if table is None:
            return []
        findings = []
        for context, rows in _launches(table):
            shares, denominators = pipe_shares(rows)
            if not shares:
                continue
            pipe = max(shares, key=shares.__getitem__)
            if shares[pipe] < self.limits["min_mte_ratio"]:
                continue
            core, engine = pipe.split("_")
            findings.append(
                self.finding(
                    f"{context['op_name'] or 'operator'}: {engine.upper()} on {core} is busy "
                    f"{shares[pipe]:.0%} of the {core} time (MTE-bound)",
                    Location(kernel=context["op_name"], core_kind=core),
                    evidence={
                        "launch": context["launch"],
                        "device": context["device"],
                        "dir": context["dir"],
                        "mean_shares": shares,
                        "denominators": denominators,
                    },
                    suggestion=self.fix(),
                    source=MSPROF_OP,
                )
            )
        return findings
