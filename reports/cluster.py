"""The cluster view of a torch_npu cluster profile on the HTML page: each
rank's peak reserved and allocated memory as bars around the cluster's median,
and the table the terminal prints, every rank listed."""

from __future__ import annotations

import plotly.graph_objects as go

from ubscope.analyzers import Analysis, ClusterView, cluster_view
from ubscope.probe.units import format_bytes
from ubscope.reports.escape import text
from ubscope.reports.page import FigureIds, Section, figure_html, hint
from ubscope.reports.style import CAPACITY_COLOR, new_figure, series_color

_COLUMNS = ("rank", "folder", "device", "peak allocated", "peak reserved", "reserved-allocated")


def _mib(value: float | None) -> str:
    # torch_npu's "MB" columns are MiB; written as the terminal's table and the findings do.
    return "-" if value is None else format_bytes(value * (1 << 20))


def _figure(view: ClusterView) -> go.Figure:
    figure = new_figure(
        "Peak memory per rank (highest peak reserved first)", "rank", "MiB (torch_npu MB)"
    )
    ranks = [rank.rank for rank in view.ranks]
    bars = {
        "peak reserved": [rank.peak_reserved_mb for rank in view.ranks],
        "peak allocated": [rank.peak_allocated_mb for rank in view.ranks],
    }
    for index, (name, values) in enumerate(bars.items()):
        figure.add_trace(go.Bar(x=ranks, y=values, name=name, marker_color=series_color(index)))
    figure.add_hline(
        y=view.median_reserved_mb,
        line={"color": CAPACITY_COLOR, "dash": "dash"},
        annotation_text="median peak reserved",
    )
    figure.update_layout(barmode="group")
    return figure


def _table(view: ClusterView) -> str:
    head = "".join(f"<th>{text(title)}</th>" for title in (*_COLUMNS, "vs median"))
    rows = []
    for rank in view.ranks:
        names = (rank.rank, rank.folder, rank.device)
        sizes = (rank.peak_allocated_mb, rank.peak_reserved_mb, rank.gap_mb)
        rows.append(
            "<tr>"
            + "".join(f"<td>{text(name)}</td>" for name in names)
            + "".join(f'<td class="num">{_mib(size)}</td>' for size in sizes)
            + f'<td class="num">{rank.vs_median_text}</td></tr>'
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def cluster_sections(analyses: list[Analysis], ids: FigureIds) -> list[Section]:
    """A "Cluster" section for each analysis of a cluster profile (none otherwise)."""
    sections = []
    for analysis in analyses:
        view = cluster_view(analysis.vendor)
        if view is None or not view.ranks:
            continue
        summary = hint(
            f"{len(view.ranks)} ranks of {view.path}; median peak reserved "
            f"{_mib(view.median_reserved_mb)}. TNPU004 flags the ranks far from the median, "
            "TNPU005 names the highest."
        )
        sections.append(
            Section("cluster", "Cluster", [summary, figure_html(_figure(view), ids), _table(view)])
        )
    return sections
