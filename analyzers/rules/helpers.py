"""Helpers the rule modules share: per-kind values at given rows, findings grouped
per call site, core lists, the on-chip and GM ends of an event and
estimated-gain texts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.model.alignment import gm_side_address
from ubscope.analyzers.model.bursts import work_kinds
from ubscope.analyzers.rules.base import Rule
from ubscope.probe.events import Space
from ubscope.probe.units import count_cores, format_time_ps

# describe(group) -> (message, evidence, suggestion, estimated gain) of one call-site group
Describe = Callable[[Any], tuple[str, dict[str, Any], str, str | None]]


def moved_bytes(ctx: TraceContext, rows: np.ndarray) -> np.ndarray:
    """Bytes each copy at ``rows`` really moved (a truncated DataCopy drops its tail):
    a copy's footprint, read at its rows rather than searched among the copies."""
    return ctx.table.footprint()[rows]


def core_list(kind: str, cores: list[int], limit: int = 8) -> str:
    """``aiv0, aiv1, ... (+6 more)``."""
    shown = ", ".join(f"{kind}{c}" for c in cores[:limit])
    return shown + (f" (+{len(cores) - limit} more)" if len(cores) > limit else "")


def site_findings(
    rule: Rule,
    ctx: TraceContext,
    rows: np.ndarray,
    describe: Describe,
    keys: tuple[str, ...] = ("tag", "core_kind", "space"),
    **options: Any,
) -> list[Finding]:
    """One finding per call-site group of ``rows``; ``describe(group)`` returns
    (message, evidence, suggestion, estimated gain) for a row of ctx.site_groups."""
    if not rows.size:
        return []
    return findings_for_sites(rule, ctx, ctx.site_groups(rows, keys, **options), describe, keys)


def findings_for_sites(
    rule: Rule, ctx: TraceContext, sites: pd.DataFrame, describe: Describe, keys: tuple[str, ...]
) -> list[Finding]:
    """One finding per row of ``sites`` (call-site groups, as ctx.site_groups gives)."""
    findings: list[Finding] = []
    group: Any  # a row of ctx.site_groups
    for group in sites.itertuples(index=False):
        message, evidence, suggestion, gain = describe(group)
        fields = {"space": group.where_space if group.where_space != "NONE" else None}
        if "core_kind" in keys:
            fields["core_kind"] = group.core_kind
        location = ctx.location(
            np.array([group.first_row, group.last_row]),
            core=group.cores[0],
            tag=group.tag or None,
            tensor=group.tensor or None,
            addr_start=int(group.addr_start),
            addr_end=int(group.addr_end),
            **fields,
        )
        evidence = {"events": int(group.events), "cores": group.cores, **evidence}
        findings.append(
            rule.finding(
                message, location, evidence=evidence, suggestion=suggestion, estimated_gain=gain
            )
        )
    return findings


def per_kind_and_space(frame: pd.DataFrame) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(core kind, space, rows) of ``frame`` per core kind and space, in sorted order."""
    for (kind, space), group in frame.groupby(["core_kind", "space"]):
        yield str(kind), str(space), group


def where(group: Any) -> str:
    """``at call site 'copyin' on 8 aiv cores``."""
    site = f"at call site '{group.tag}'" if group.tag else "at an untagged call site"
    return f"{site} on {count_cores(len(group.cores), group.core_kind)}"


def on_chip_side(ctx: TraceContext, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(space, address) of the on-chip end of each event (the source of a copy out)."""
    space = ctx.column("space")[rows]
    out = space == Space.GM
    return (
        np.where(out, ctx.column("src_space")[rows], space),
        np.where(out, ctx.column("src_addr")[rows], ctx.column("addr")[rows]),
    )


def gm_address(ctx: TraceContext, rows: np.ndarray) -> np.ndarray:
    """GM address of each copy at ``rows`` (its source when it reads GM)."""
    column = ctx.column
    return gm_side_address(
        column("src_space")[rows], column("src_addr")[rows], column("addr")[rows]
    )


def bounded_saving_ps(ctx: TraceContext, saved_ps: float) -> float:
    """A saving on the kernel's critical path is never more than its modelled time."""
    return max(0.0, min(saved_ps, ctx.modelled_time_ps))


def saving_share(ctx: TraceContext, saved_ps: float) -> float:
    """A saving as a share of the kernel's modelled time (0 without a modelled time)."""
    modelled = ctx.modelled_time_ps
    return bounded_saving_ps(ctx, saved_ps) / modelled if modelled else 0.0


def gain_text(ctx: TraceContext, saved_ps: float, what: str) -> str | None:
    """Every rule's estimated gain: ``saved_ps``, a saving on the kernel's critical
    path (cores of a launch run side by side: see ``TraceContext.critical_path_sums``),
    bounded by the modelled time; None when nothing is saved."""
    saved_ps = bounded_saving_ps(ctx, saved_ps)
    return f"~{format_time_ps(saved_ps)} {what}" if saved_ps > 0 else None


def gain_severity(share: float, min_share: float, severity: Severity) -> Severity:
    """``severity`` when a finding's saving reaches ``min_share`` of the modelled
    time; INFO (a measurement, not a cost) below it."""
    return severity if share >= min_share else Severity.INFO


def work_kind(ctx: TraceContext, rows: np.ndarray) -> np.ndarray:
    """Per copy or compute row: GM_READ, GM_WRITE or ON_CHIP_WORK (the three
    kinds of work a core's pipes run side by side)."""
    return work_kinds(ctx.column("space")[rows], ctx.column("src_space")[rows])
