"""Traffic: GM bytes per tensor and direction, reloads, small transfers, roofline."""

from __future__ import annotations

import math
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Static

from ubscope.probe.units import format_bytes
from ubscope.tui.text import literal, percent
from ubscope.tui.views.base import View
from ubscope.tui.views.overview import roofline_summary, traffic_summary
from ubscope.tui.widgets.plots import RooflinePlot, RooflinePoint


class TrafficView(View):
    title = "Traffic"
    short = "GM"
    help = (
        "GM traffic per tensor and direction, largest first: bytes moved, transfers, "
        "distinct bytes, redundancy (bytes / distinct bytes: 2.0x = every byte loaded "
        "twice) and the share of transfers below the chip's efficient burst size; "
        "workspace tensors stay in L2. The plot is the FP16 roofline (log-log) with the "
        "kernel as ●."
    )

    def compose(self) -> ComposeResult:
        yield Static(id="traffic-summary")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="traffic-table")
        yield RooflinePlot(id="traffic-roofline")

    def focus_target(self) -> Widget:
        return self.query_one("#traffic-table")

    def sync(self) -> None:
        analysis, ctx = self.state.analysis, self.state.ctx
        summary = traffic_summary(analysis.metrics.get("gm", {}))
        summary.append("\n")
        roofline = ctx.roofline if ctx is not None else {}
        summary.append_text(roofline_summary(roofline, streamed=analysis.streamed))
        self.query_one("#traffic-summary", Static).update(summary)
        table = self.query_one("#traffic-table", DataTable)
        table.clear(columns=True)
        for label in ("tensor", "dir", "bytes", "moves", "distinct", "redund.", "small", "ws"):
            table.add_column(label)
        if ctx is not None:
            frame = ctx.traffic.sort_values("bytes", ascending=False)
            for row in frame.to_dict("records"):
                table.add_row(
                    literal(row["tensor"] or "(unnamed)"),
                    literal(row["direction"]),
                    Text(format_bytes(row["bytes"]), justify="right"),
                    Text(f"{row['transfers']:,}", justify="right"),
                    Text(_known(row["distinct_bytes"], format_bytes), justify="right"),
                    Text(_known(row["redundancy"], "{:.2f}x".format), justify="right"),
                    Text(
                        percent(row["small_transfers"] / max(row["transfers"], 1)), justify="right"
                    ),
                    Text("yes" if row["workspace"] else ""),
                )
        if roofline:
            self.query_one(RooflinePlot).show(
                RooflinePoint(
                    float(roofline["intensity"]),
                    float(roofline["achieved_flops_per_s"]),
                    float(roofline["peak_flops"]),
                    float(roofline["bandwidth"]),
                )
            )


def _known(value: float, shown: Callable[[float], str]) -> str:
    """A streamed analysis that gave the byte ranges up has NaN distinct bytes."""
    return "—" if math.isnan(value) else shown(value)
