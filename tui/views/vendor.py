"""Vendor: what the vendor tools (msSanitizer, the advisors, msprof op,
torch_npu, ...) reported, with the marks correlation left when a trace finding
confirms a vendor one."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Static

from ubscope.analyzers import Hanging, vendor_tools
from ubscope.tui.text import literal
from ubscope.tui.views.base import View
from ubscope.tui.widgets.findings_panel import FindingsPanel


def no_vendor_text() -> str:
    """What the view says with no vendor input: the option of every registered tool."""
    options = ", ".join(f"{tool.option} {tool.metavar}" for tool in vendor_tools())
    return f"no vendor output loaded: pass {options} to ubscope tui"


class VendorView(View):
    title = "Vendor"
    short = "Vnd"
    help = (
        "Findings read from the Huawei tools' own output, one line per input file above "
        "them (with what it measured, for msprof op and torch_npu). ✓ marks a finding that correlation matched with the trace (the detail pane "
        "says by what). Same keys as Findings: / filter, s sort, Enter jump."
    )

    def compose(self) -> ComposeResult:
        yield Static(id="vendor-summary")
        yield FindingsPanel(
            [f for f in self.state.analysis.findings if f.source != "ubscope"],
            empty_text=(
                "no findings in the vendor output loaded"
                if self.state.analysis.vendor
                else no_vendor_text()
            ),
            id="vendor-panel",
        )

    def focus_target(self) -> Widget:
        return self.query_one("#vendor-panel").query_one("#finding-table")

    def sync(self) -> None:
        reports = self.state.analysis.vendor
        if not reports:
            self.query_one("#vendor-summary", Static).update(Text(no_vendor_text()))
            return
        lines: list[RenderableType] = []
        for report in reports:
            header = Text()
            header.append(str(report.tool), style="bold")
            header.append(f"  {len(report.findings)} findings  ")
            header.append_text(literal(report.path))
            lines.append(header)
            # indented under the report, as the text output's (a line that wraps stays under it)
            lines.extend(Hanging(Text(" "), literal(line, style="dim")) for line in report.summary)
            lines.extend(Hanging(Text(" ⚠"), literal(warning)) for warning in report.warnings)
        self.query_one("#vendor-summary", Static).update(Group(*lines))
