"""Compare (``--compare B``): metric deltas, findings new and fixed, and both
occupancy curves of the selected core and space overlaid."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Static

from ubscope.analyzers.regression import flatten_metrics, format_delta, format_value, metric_value
from ubscope.tui.data import OccupancySeries, diff_findings, places
from ubscope.tui.text import literal
from ubscope.tui.views.base import View
from ubscope.tui.views.timeline import PLACE_BINDINGS, PlaceKeys
from ubscope.tui.widgets.plots import OverlayChart

NO_COMPARE = "nothing to compare: open with  ubscope tui A.ubtrace --compare B.ubtrace"


def source_name(analysis: object) -> str:
    trace = getattr(analysis, "trace", None)
    return trace.path.name if trace is not None else "(vendor output only)"


class CompareView(PlaceKeys, View):
    title = "Compare"
    short = "Cmp"
    help = (
        "This trace (A) against the one given with --compare (B, the baseline): every "
        "metric that changed with A - B and the change in percent, findings new in A and "
        "fixed since B (same rule at the same core, space, tag and tensor), and the "
        "occupancy of the selected core and space in both (A one colour, B another, "
        "overlap a third; dotted: capacity). c/C and s/S switch core and space."
    )
    BINDINGS = PLACE_BINDINGS

    def compose(self) -> ComposeResult:
        yield Static(id="compare-header")
        if self.state.compare is not None:
            yield DataTable(cursor_type="row", zebra_stripes=True, id="compare-metrics")
            yield DataTable(cursor_type="row", id="compare-findings")
            yield OverlayChart(id="compare-chart")

    def focus_target(self) -> Widget:
        if self.state.compare is None:
            return self
        return self.query_one("#compare-metrics")

    def sync(self) -> None:
        state, compare = self.state, self.state.compare
        header = self.query_one("#compare-header", Static)
        if compare is None:
            header.update(Text(NO_COMPARE))
            return
        text = Text("A ")
        text.append(source_name(state.analysis), style="bold")
        text.append("  vs  B (baseline) ")
        text.append(source_name(compare), style="bold")
        if state.place is not None:
            text.append(f"  ·  curves: {state.place.label}")
        header.update(text)
        self._metrics(compare.metrics, state.analysis.metrics)
        self._findings()
        self._chart()

    def _metrics(self, baseline: dict, current: dict) -> None:
        """Every metric whose value differs between B and A."""
        table = self.query_one("#compare-metrics", DataTable)
        table.clear(columns=True)
        for label in ("metric", "B", "A", "A - B"):
            table.add_column(label)
        before, now = flatten_metrics(baseline), flatten_metrics(current)
        names = list(now) + [name for name in before if name not in now]
        changed = 0
        for name in names:
            old, new = metric_value(before, name), metric_value(now, name)
            if old == new:
                continue
            changed += 1
            table.add_row(
                literal(name),
                Text(format_value(name, old), justify="right"),
                Text(format_value(name, new), justify="right"),
                Text(format_delta(name, old, new) or "-", justify="right"),
            )
        if not changed:
            table.add_row(literal("no metric changed"), "", "", "")

    def _findings(self) -> None:
        table = self.query_one("#compare-findings", DataTable)
        table.clear(columns=True)
        for label in ("", "sev", "code", "message"):
            table.add_column(label)
        assert self.state.compare is not None
        new, fixed = diff_findings(self.state.compare.findings, self.state.analysis.findings)
        for status, findings in (("new", new), ("fixed", fixed)):
            for finding in findings:
                table.add_row(literal(status), literal(str(finding.severity)),
                              literal(finding.code), literal(" ".join(finding.message.split())))  # fmt: skip
        if not new and not fixed:
            table.add_row(literal("same"), "", "", literal("the same findings in both traces"))

    def _chart(self) -> None:
        state, compare = self.state, self.state.compare
        place = state.place
        chart = self.query_one(OverlayChart)
        if place is None or compare is None or compare.context is None:
            chart.show(None, None, 0)
            return
        other_keys = {other.key for other in places(compare.context)}
        other = state.series(place, compare.context) if place.key in other_keys else None
        current: OccupancySeries = state.series()
        chart.show(current, other, place.capacity)
