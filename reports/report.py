"""The HTML report of one analysis, or of two side by side (``--compare``).

:func:`write_report` is what ``ubscope report`` and ``ubscope demo`` call. The
page is one self-contained file (see :mod:`ubscope.reports.page`), written
atomically.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ubscope.analyzers import (
    CORE_KIND_LABELS,
    Analysis,
    Comparison,
    Finding,
    compare_analyses,
    vendor_tools,
)
from ubscope.probe.outputs import atomic_output
from ubscope.reports import views
from ubscope.reports.cluster import cluster_sections
from ubscope.reports.escape import text
from ubscope.reports.page import FigureIds, Section, figure_html, hint, pair_html, render_page
from ubscope.reports.style import share_y_range
from ubscope.reports.tables import (
    ChartLinks,
    call_sites_html,
    comparison_verdict_html,
    device_fault_html,
    finding_changes_html,
    findings_table,
    header_html,
    metric_cards,
    metric_deltas_html,
    trace_facts,
    truncation_html,
    verdict_html,
    warnings_html,
)

# anchor, title, figure families, what the charts show, why a side has none.
FIGURE_SECTIONS: tuple[tuple[str, str, tuple[views.FigureFamily, ...], str, str], ...] = (
    (
        "occupancy",
        "On-chip occupancy",
        (views.occupancy_figures,),
        "Live bytes per core over modelled time. The dashed red line is the space's capacity; "
        "on UB the dotted line marks where the scratch reserved by built-in APIs begins.",
        "no on-chip allocation recorded",
    ),
    (
        "allocations",
        "Allocation map",
        (views.allocation_maps,),
        "One rectangle per allocation: its address range (y) while it is live (x), coloured by "
        "call-site tag. The red band is past capacity (the red zone); red outlines are blocks "
        "that reach into it, crosses are writes into it, triangles failed allocations.",
        "no on-chip allocation recorded",
    ),
    (
        "fragmentation",
        "Fragmentation",
        (views.fragmentation_figures, views.kv_figures),
        "External fragmentation (1 - largest free block / free bytes) where a fragmentation "
        "finding points or an allocation failed although enough bytes were free, and the "
        "occupancy and empty token slots of KV-cache pages.",
        "nothing to show: no fragmentation finding and no allocation failed for lack of a large "
        "enough block (bump pools and TPipe queues free whole rounds at once), and no KV cache",
    ),
    (
        "traffic",
        "GM traffic",
        (views.traffic_figures,),
        "Bytes moved between GM and the cores per tensor; the dashed line is the minimum "
        "(every input read once, every output written once).",
        "no GM transfer recorded",
    ),
    (
        "roofline",
        "Roofline",
        (views.roofline_figures,),
        "The chip's bandwidth and FP16 compute roofs with the kernel's modelled point.",
        "no trace to place on the roofline",
    ),
)


# Why a streamed analysis (a trace bigger than memory) has no chart in a section.
NOT_STREAMED = {
    "roofline": "the GM byte ranges were too scattered to follow in bounded memory",
}


def _missing(section: str, analysis: Analysis, default: str) -> str:
    """Why ``analysis`` has no chart of ``section``."""
    if analysis.streamed and section in NOT_STREAMED:
        return f"not drawn for a streamed analysis: {NOT_STREAMED[section]}"
    return default


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


def chart_anchor(section: str, key: str) -> str:
    """The element id of the chart (or pair of charts) ``key`` of a section."""
    return f"chart-{section}-{key.replace('/', '-')}"


def _figure_parts(
    shown: list[Shown], family: views.FigureFamily, ids: FigureIds, section: str, missing: str
) -> dict[str, str]:
    """The figures of one family by key, paired when two analyses are compared."""
    results = [family(s.analysis) for s in shown]
    keys: list[str] = []
    for figures in results:
        keys += [key for key in figures if key not in keys]
    parts = {}
    for key in keys:
        share_y_range([figures[key] for figures in results if key in figures])
        cells = []
        for figures, side in zip(results, shown, strict=True):
            figure = figures.get(key)
            cell = (
                figure_html(figure, ids)
                if figure is not None
                else hint(f"{side.label}: {_missing(section, side.analysis, missing)}.")
            )
            cells.append((hint(side.label) if side.side else "") + cell)
        parts[key] = _side_by_side(cells)
    return parts


def _chart_sections(shown: list[Shown]) -> tuple[list[Section], set[str]]:
    """The chart sections, each chart (or pair) in an element named by
    :func:`chart_anchor`, and the names of those elements."""
    ids = FigureIds()
    sections, anchors = [], set()
    for section, title, families, explanation, missing in FIGURE_SECTIONS:
        parts = [hint(explanation)]
        for family in families:
            for key, body in _figure_parts(shown, family, ids, section, missing).items():
                anchors.add(chart_anchor(section, key))
                parts.append(f'<div id="{text(chart_anchor(section, key))}">{body}</div>')
        if len(parts) == 1:
            reasons = dict.fromkeys(_missing(section, s.analysis, missing) for s in shown)
            parts.append(hint(f"No chart: {'; '.join(reasons)}."))
        sections.append(Section(section, title, parts))
    return sections, anchors


def _links(anchors: set[str]) -> ChartLinks:
    """For each finding, the charts of its place that the page holds: the
    occupancy and allocation map of its on-chip space, the fragmentation of a
    fragmentation finding's space, the GM traffic of a GM finding."""

    def links(finding: Finding) -> list[tuple[str, str]]:
        space, kind = finding.location.space, finding.location.core_kind
        wanted = []
        if space and space != "GM":
            kinds = [kind] if kind else CORE_KIND_LABELS
            wanted += [
                (chart_anchor("occupancy", space), f"{space} occupancy"),
                *(
                    (chart_anchor("allocations", f"{k}/{space}"), f"{k} {space} allocation map")
                    for k in kinds
                ),
            ]
            if finding.code.startswith("FRG"):
                wanted.append((chart_anchor("fragmentation", space), f"{space} fragmentation"))
        if space == "GM" or finding.code.startswith("GM"):
            wanted.append((chart_anchor("traffic", "traffic"), "GM traffic"))
        return [(anchor, label) for anchor, label in wanted if anchor in anchors]

    return links


def _side_by_side(cells: list[str]) -> str:
    return cells[0] if len(cells) == 1 else pair_html(*cells)


def _verdict(shown: list[Shown], comparison: Comparison | None) -> Section:
    """Whether the run would fault on the device, whether there is a problem, the
    finding counts, and (comparing) what changed."""
    cells = [
        side.heading()
        + device_fault_html(side.analysis.device_fault)
        + _truncation(side.analysis)
        + verdict_html(side.analysis.findings)
        for side in shown
    ]
    section = Section("verdict", "Verdict", [_side_by_side(cells)])
    if comparison is not None:
        section.parts.append(comparison_verdict_html(comparison))
    return section


def _truncation(analysis: Analysis) -> str:
    trace = analysis.trace
    return truncation_html(trace.problems, trace.event_count) if trace is not None else ""


def _changes(shown: list[Shown], comparison: Comparison, links: ChartLinks) -> Section:
    """A against B: findings new, fixed and unchanged, then the metric deltas."""
    a, b = shown
    assert comparison.findings is not None
    return Section(
        "changes",
        "A against B",
        [
            finding_changes_html(comparison.findings, links),
            "<h3>Metrics</h3>" + metric_deltas_html(comparison, (a.label, b.label)),
        ],
    )


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
    return Section("summary", "Summary", [_side_by_side(cards)])


def _no_vendor_input() -> str:
    options = ", ".join(tool.option for tool in vendor_tools())
    return f"No vendor output was given ({options})."


def _findings(shown: list[Shown], links: ChartLinks) -> tuple[Section, Section]:
    own_part, vendor_part = Section("findings", "Findings"), Section("vendor", "Vendor findings")
    for side in shown:
        findings = side.analysis.findings
        own = [f for f in findings if f.source == "ubscope"]
        vendor = [f for f in findings if f.source != "ubscope"]
        empty = "No finding: the trace rules found nothing."
        own_part.parts.append(
            side.heading() + findings_table(own, empty, links) + call_sites_html(own)
        )
        inputs = ", ".join(f"{r.tool} ({Path(r.path).name})" for r in side.analysis.vendor)
        given = hint(f"Vendor inputs: {inputs}." if inputs else _no_vendor_input())
        vendor_part.parts.append(
            side.heading() + given + findings_table(vendor, "No vendor finding.")
        )
    return own_part, vendor_part


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
            facts.extend((f"{side.side} measured".strip(), line) for line in report.summary)
    kernels = " vs ".join(
        s.analysis.trace.kernel if s.analysis.trace is not None else "vendor output" for s in shown
    )
    return header_html(f"ubscope {'comparison' if len(shown) > 1 else 'report'}: {kernels}", facts)


def build_report(analysis: Analysis, compare: Analysis | None = None) -> str:
    """The report page as HTML text (``compare``: B, the baseline, shown beside
    A, the run under test). It reads top-down: the verdict and finding counts,
    what changed (comparing), the findings with links to their charts, the
    headline metrics, then the charts."""
    if compare is None:
        shown, comparison = [Shown(analysis, "")], None
    else:
        shown = [Shown(analysis, "A"), Shown(compare, "B")]
        comparison = compare_analyses(analysis, compare)
    charts, chart_ids = _chart_sections(shown)
    links = _links(chart_ids)
    own_findings, vendor_findings = _findings(shown, links)
    # Comparing, the changes list every finding of A and B (new, fixed, unchanged).
    first = [own_findings] if comparison is None else [_changes(shown, comparison, links)]
    cluster = cluster_sections([s.analysis for s in shown], FigureIds("cluster-figure"))
    sections = [
        _verdict(shown, comparison),
        *first,
        vendor_findings,
        *cluster,
        _summary(shown),
        *charts,
    ]
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
