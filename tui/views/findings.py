"""Findings: every finding (trace rules and vendor tools), sortable and filterable."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widget import Widget

from ubscope.tui.views.base import View
from ubscope.tui.widgets.findings_panel import FindingsPanel


class FindingsView(View):
    title = "Findings"
    short = "Fnd"
    help = (
        "Every finding, errors first. ↑↓ browse: the pane below shows the rule's "
        "explanation, the evidence and the fix. Enter jumps the Timeline, Memory map and "
        "Events views to the finding's events (◆ marks them in Events). / filters (every "
        "word must match), s cycles the sort column, r reverses it, g groups the findings "
        "under their call sites (file:line), the worst first."
    )

    def compose(self) -> ComposeResult:
        yield FindingsPanel(
            self.state.analysis.findings,
            empty_text="no findings: nothing the rules flag in this trace",
            id="findings-panel",
        )

    def focus_target(self) -> Widget:
        return self.query_one("#findings-panel").query_one("#finding-table")
