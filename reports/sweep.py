"""The HTML report of a sweep: the Pareto front of peak UB, GM bytes and
modelled time drawn over every configuration, then the failing
configurations and a table of all of them. One self-contained page, written
atomically, like the report of one trace."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import plotly.graph_objects as go

from ubscope.analyzers import (
    GM_BYTES,
    STATUS_OK,
    STATUSES,
    TIME_METRIC,
    SweepRow,
    sweep_front,
)
from ubscope.probe.outputs import atomic_output
from ubscope.probe.units import format_bytes, format_time_ps
from ubscope.reports.escape import plot_text, text
from ubscope.reports.page import FigureIds, Section, figure_html, hint, render_page
from ubscope.reports.style import CAPACITY_COLOR, KIB, PS_PER_US, new_figure
from ubscope.reports.tables import header_html

PEAK_UB = "peak_bytes.UB"
OTHER_COLOR = "#90a4ae"
FRONT_COLOR = "#2e7d32"
# (y metric, its axis title, how a value is shown on it) of the two charts; x is peak UB.
_CHARTS = (
    (GM_BYTES, "GM bytes read + written (KiB)", KIB),
    (TIME_METRIC, "modelled time (µs)", PS_PER_US),
)


def build_sweep_report(rows: Sequence[SweepRow], kernel: str) -> str:
    """The page as HTML text."""
    front = sweep_front(rows)
    ids = FigureIds()
    charts = [figure_html(_front_figure(rows, front, *chart), ids) for chart in _CHARTS]
    explained = hint(
        "Each point is a configuration that ran; green ones are on the Pareto front: no other "
        "clean configuration needs less peak UB, fewer GM bytes and less modelled time at "
        "once. Grey points ran clean but are beaten; red crosses failed."
    )
    sections = [
        Section("front", "Pareto front", [explained, *charts, _table(front, "No clean run.")]),
        Section("failing", "Failing configurations", [_failing(rows)]),
        Section("all", "All configurations", [_table(rows, "No configuration.")]),
    ]
    counts = Counter(row.status for row in rows)
    facts = [
        ("configurations", str(len(rows))),
        ("status", ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]) or "none"),
        ("chips", ", ".join(dict.fromkeys(row.chip for row in rows))),
    ]
    return render_page(
        f"ubscope sweep: {kernel}", header_html(f"ubscope sweep: {kernel}", facts), sections
    )


def write_sweep_report(rows: Sequence[SweepRow], path: str | os.PathLike[str], kernel: str) -> Path:
    """Write the report atomically and return its path."""
    target = Path(path)
    with atomic_output(target) as handle:
        handle.write(build_sweep_report(rows, kernel))
    return target


def _front_figure(
    rows: Sequence[SweepRow], front: list[SweepRow], metric: str, title: str, scale: float
) -> go.Figure:
    figure = new_figure(f"Peak UB against {title.split(' (')[0]}", "peak UB (KiB)", title)
    on_front = {row.key for row in front}
    groups = (
        (
            "beaten",
            [r for r in rows if r.status == STATUS_OK and r.key not in on_front],
            OTHER_COLOR,
        ),
        ("failed", [r for r in rows if r.failed], CAPACITY_COLOR),
        ("Pareto front", front, FRONT_COLOR),
    )
    for name, members, color in groups:
        points = [
            (r, x, y)
            for r in members
            if (x := r.value(PEAK_UB)) is not None and (y := r.value(metric)) is not None
        ]
        figure.add_trace(
            go.Scatter(
                x=[x / KIB for _, x, _ in points],
                y=[y / scale for _, _, y in points],
                mode="lines+markers" if name == "Pareto front" else "markers",
                name=name,
                marker={
                    "color": color,
                    "size": 11 if name == "Pareto front" else 8,
                    "symbol": "x" if name == "failed" else "circle",
                },
                line={"dash": "dot", "width": 1},
                text=[plot_text(f"{row.label} ({row.verdict})") for row, _, _ in points],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    return figure


def _table(rows: Sequence[SweepRow], empty: str) -> str:
    if not rows:
        return hint(empty)
    head = "".join(
        f"<th>{name}</th>" for name in ("configuration", "status", "peak UB", "GM bytes", "time")
    )
    body = "".join(
        f"<tr><td>{text(row.label)}</td><td>{text(row.verdict)}</td>"
        f'<td class="num">{_shown(row.value(PEAK_UB), format_bytes)}</td>'
        f'<td class="num">{_shown(row.value(GM_BYTES), format_bytes)}</td>'
        f'<td class="num">{_shown(row.value(TIME_METRIC), format_time_ps)}</td></tr>'
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _failing(rows: Sequence[SweepRow]) -> str:
    failing = [row for row in rows if row.failed]
    if not failing:
        return hint("Every configuration ran clean.")
    items = "".join(
        f"<li>{text(row.label)}: {text(row.verdict)}"
        + (f" (trace {text(row.trace)})" if row.trace else "")
        + "</li>"
        for row in failing
    )
    return f"<ul>{items}</ul>"


def _shown(value: float | None, show: Callable[[float], str]) -> str:
    return "-" if value is None else text(show(value))
