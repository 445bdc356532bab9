"""Compare (``--compare B``): metric deltas, findings new and fixed, and both
occupancy curves of the selected core and space overlaid."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Static

from ubscope.analyzers import (
    A_MEANING,
    B_MEANING,
    DELTA_MEANING,
    Analysis,
    Comparison,
    OccupancySeries,
    compare_analyses,
    places,
)
from ubscope.tui.text import literal
from ubscope.tui.views.base import View
from ubscope.tui.views.timeline import PLACE_BINDINGS, PlaceKeys
from ubscope.tui.widgets.plots import OverlayChart

NO_COMPARE = "nothing to compare: open with  ubscope tui A.ubtrace --compare B.ubtrace"


def source_name(analysis: Analysis) -> str:
    trace = analysis.trace
    return trace.path.name if trace is not None else "(vendor output only)"


class CompareView(PlaceKeys, View):
    title = "Compare"
    short = "Cmp"
    help = (
        f"{A_MEANING} (this trace) against {B_MEANING} (the one given with --compare): "
        f"every metric that changed, with {DELTA_MEANING} and the change relative to B, "
        "findings new in A, fixed since B and unchanged (same rule at the same core, "
        "space, tag and tensor), and the occupancy of the selected core and space in both "
        "(A one colour, B another, overlap a third; dotted: capacity). c/C and s/S switch "
        "core and space."
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
        text = Text(f"{A_MEANING} ")
        text.append(source_name(state.analysis), style="bold")
        text.append(f"  ·  {B_MEANING} ")
        text.append(source_name(compare), style="bold")
        text.append(f"  ·  {DELTA_MEANING}")
        if state.place is not None:
            text.append(f"  ·  curves: {state.place.label}")
        header.update(text)
        comparison = compare_analyses(state.analysis, compare)
        self._metrics(comparison)
        self._findings(comparison)
        self._chart()

    def _metrics(self, comparison: Comparison) -> None:
        """Every metric whose value differs between A and B."""
        table = self.query_one("#compare-metrics", DataTable)
        table.clear(columns=True)
        for label in ("metric", "A", "B", "delta"):
            table.add_column(label)
        for delta in comparison.changed:
            a, b, change = delta.texts()
            table.add_row(
                literal(delta.metric),
                *(Text(cell or "-", justify="right") for cell in (a, b, change)),
            )
        if not comparison.changed:
            table.add_row(literal("no metric changed"), "", "", "")

    def _findings(self, comparison: Comparison) -> None:
        table = self.query_one("#compare-findings", DataTable)
        table.clear(columns=True)
        for label in ("", "sev", "code", "message"):
            table.add_column(label)
        changes = comparison.findings
        assert changes is not None
        for status, findings in (("new", changes.new), ("fixed", changes.fixed)):
            for finding in findings:
                table.add_row(
                    literal(status),
                    literal(str(finding.severity)),
                    literal(finding.code),
                    literal(" ".join(finding.message.split())),
                )
        if changes.unchanged or not (changes.new or changes.fixed):
            count = len(changes.unchanged)
            message = f"{count} in both A and B (listed in Findings)" if count else "none in A or B"
            table.add_row(literal("unchanged"), "", "", literal(message))

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
