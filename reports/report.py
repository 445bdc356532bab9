"""The HTML report of one analysis, or of two side by side (``--compare``).

:func:`write_report` is what ``ubscope report`` and ``ubscope demo`` call. The
page is one self-contained file (see :mod:`ubscope.reports.page`), written
atomically.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ubscope.reports import views
from ubscope.reports.atomic import atomic_output
from ubscope.reports.escape import text
from ubscope.reports.page import FigureIds, Section, figure_html, hint, pair_html, render_page
from ubscope.reports.style import share_y_range
from ubscope.reports.tables import (
    findings_table,
    header_html,
    metric_cards,
    metrics_comparison,
    trace_facts,
    warnings_html,
)

if TYPE_CHECKING:
    from ubscope.analyzers.api import Analysis

FIGURE_SECTIONS: tuple[tuple[str, str, tuple[views.FigureFamily, ...], str], ...] = (
    ("occupancy", "On-chip occupancy", (views.occupancy_figures,),
     "Live bytes per core over modelled time. The dashed red line is the space's capacity; "
     "on UB the dotted line marks where the scratch reserved by built-in APIs begins."),
    ("allocations", "Allocation map", (views.allocation_maps,),
     "One rectangle per allocation: its address range (y) while it is live (x), coloured by "
     "call-site tag. The red band is past capacity (the red zone); red outlines are blocks "
     "that reach into it, crosses are writes into it, triangles failed allocations."),
    ("fragmentation", "Fragmentation", (views.fragmentation_figures, views.kv_figures),
     "External fragmentation of free-list pools (1 - largest free block / free bytes) and "
     "the occupancy and empty token slots of KV-cache pages."),
    ("traffic", "GM traffic", (views.traffic_figures,),
     "Bytes moved between GM and the cores per tensor; the dashed line is the minimum "
     "(every input read once, every output written once)."),
    ("roofline", "Roofline", (views.roofline_figures,),
     "The chip's bandwidth and FP16 compute roofs with the kernel's modelled point."),
)  # fmt: skip
NO_VENDOR_INPUT = "No vendor output was given (--msadvisor, --sanitizer, --msprof-op, --torch-npu)."


@dataclass(frozen=True)
class Shown:
    """One analysis on the page: its side (``A``/``B`` in a comparison, else
    empty) and the label its figures and tables carry."""

    analysis: Analysis
    side: str

    @property
    def label(self) -> str:
        trace = self.analysis.trace
        name = trace.path.name if trace is not None else "vendor output"
        return f"{self.side}: {name}" if self.side else name

    def heading(self) -> str:
        """A sub-heading naming the side, only needed in a comparison."""
        return f"<h3>{text(self.label)}</h3>" if self.side else ""


def _figure_parts(shown: list[Shown], family: views.FigureFamily, ids: FigureIds) -> list[str]:
    """The figures of one family, paired by key when two analyses are compared."""
    results = [family(s.analysis) for s in shown]
    keys: list[str] = []
    for figures in results:
        keys += [key for key in figures if key not in keys]
    parts = []
    for key in keys:
        share_y_range([figures[key] for figures in results if key in figures])
        cells = []
        for figures, side in zip(results, shown, strict=True):
            figure = figures.get(key)
            cell = figure_html(figure, ids) if figure is not None else hint(f"not in {side.label}")
            cells.append((hint(side.label) if side.side else "") + cell)
        parts.append(cells[0] if len(cells) == 1 else pair_html(*cells))
    return parts


def _side_by_side(cells: list[str]) -> str:
    return cells[0] if len(cells) == 1 else pair_html(*cells)


def _summary(shown: list[Shown]) -> Section:
    cards = []
    for side in shown:
        analysis = side.analysis
        problems = analysis.trace.problems if analysis.trace is not None else []
        cards.append(
            side.heading()
            + metric_cards(analysis.metrics, analysis.chip.capacity)
            + warnings_html([*analysis.warnings, *problems])
        )
    section = Section("summary", "Summary", [_side_by_side(cards)])
    if len(shown) == 2:
        a, b = shown
        table = metrics_comparison(a.analysis.metrics, b.analysis.metrics, (a.label, b.label))
        section.parts.append(f"<h3>Metrics side by side</h3>{table}")
    return section


def _findings(shown: list[Shown]) -> list[Section]:
    own_part, vendor_part = Section("findings", "Findings"), Section("vendor", "Vendor findings")
    for side in shown:
        findings = side.analysis.findings
        own = [f for f in findings if f.source == "ubscope"]
        vendor = [f for f in findings if f.source != "ubscope"]
        own_part.parts.append(
            side.heading() + findings_table(own, "No finding: the trace rules found nothing.")
        )
        inputs = ", ".join(f"{r.tool} ({Path(r.path).name})" for r in side.analysis.vendor)
        given = hint(f"Vendor inputs: {inputs}." if inputs else NO_VENDOR_INPUT)
        vendor_part.parts.append(
            side.heading() + given + findings_table(vendor, "No vendor finding.")
        )
    return [own_part, vendor_part]


def _header(shown: list[Shown]) -> str:
    facts: list[tuple[str, str]] = []
    for side in shown:
        trace = side.analysis.trace
        if trace is not None:
            facts += trace_facts(
                side.side, trace.meta, trace.path, trace.event_count, trace.complete
            )
        for report in side.analysis.vendor:
            facts.append(
                (f"{side.side} vendor".strip(), f"{report.tool}: {Path(report.path).name}")
            )
    kernels = " vs ".join(
        s.analysis.trace.kernel if s.analysis.trace is not None else "vendor output" for s in shown
    )
    return header_html(f"ubscope {'comparison' if len(shown) > 1 else 'report'}: {kernels}", facts)


def build_report(analysis: Analysis, compare: Analysis | None = None) -> str:
    """The report page as HTML text (``compare``: a second analysis shown beside the first)."""
    if compare is None:
        shown = [Shown(analysis, "")]
    else:
        shown = [Shown(analysis, "A"), Shown(compare, "B")]
    ids = FigureIds()
    sections = [_summary(shown)]
    for anchor, title, families, explanation in FIGURE_SECTIONS:
        parts = [part for family in families for part in _figure_parts(shown, family, ids)]
        parts = parts or [hint("Nothing of this kind in the trace.")]
        sections.append(Section(anchor, title, [hint(explanation), *parts]))
    sections += _findings(shown)
    title = " vs ".join(s.label for s in shown)
    return render_page(f"ubscope report: {title}", _header(shown), sections)


def write_report(
    analysis: Analysis, path: str | os.PathLike[str], compare: Analysis | None = None
) -> Path:
    """Write the report to ``path`` atomically (a failure leaves any previous
    file intact) and return the path."""
    page = build_report(analysis, compare)
    target = Path(path)
    with atomic_output(target) as handle:
        handle.write(page)
    return target
