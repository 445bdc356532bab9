"""The screen of one profile: header, view bar, the views and the footer.

It appears as soon as the trace's metadata is read; the views are mounted
when the analysis (run in a worker thread) arrives, so a large trace shows its
kernel, chip and parameters at once and the rest when it is ready.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, LoadingIndicator, Static

from ubscope.probe.units import format_bytes, format_count
from ubscope.tui.run_summary import run_summary
from ubscope.tui.text import literal
from ubscope.tui.views import TABS, views
from ubscope.tui.widgets.view_bar import ViewBar

# The views, their state and the findings panel import the analysis package:
# here only for types, imported with the analysis (the first paint waits for none).
if TYPE_CHECKING:
    from ubscope.analyzers import Analysis
    from ubscope.tui.state import ProfileState
    from ubscope.tui.views.base import View
    from ubscope.tui.widgets.findings_panel import FindingsPanel

VENDOR_INDEX = [title for title, _ in TABS].index("Vendor")
COMPARE_INDEX = [title for title, _ in TABS].index("Compare")


class ProfileScreen(Screen):
    BINDINGS = [
        *(
            Binding(str(i + 1), f"show_view({i})", title, show=False)
            for i, (title, _) in enumerate(TABS)
        ),
        Binding("tab", "cycle_view(1)", "next view", show=False),
        Binding("shift+tab", "cycle_view(-1)", "previous view", show=False),
        Binding("backspace", "back", "traces"),
    ]

    def __init__(
        self,
        source: str,
        meta: dict[str, Any],
        *,
        size: int = 0,
        can_go_back: bool = False,
        analysis: Analysis | None = None,
        compare: Analysis | None = None,
    ) -> None:
        super().__init__()
        self._arrived = (analysis, compare) if analysis is not None else None
        self._composed = False
        self.ready = False  # the views are mounted
        self.source = source
        self.meta = meta
        self.trace_size = size
        self.can_go_back = can_go_back
        self.state: ProfileState | None = None
        self.current = 0
        # (events read, events in the trace) as the analysis' worker last said
        self._read: tuple[int, int] | None = None

    def _header(self, analysis: Analysis | None) -> Text:
        """The source; once the analysis says so, that the run would fault on the device."""
        header = Text("ubscope ", style="bold")
        header.append_text(literal(self.source))
        if analysis is not None and analysis.device_fault is not None:
            header.append("  ⚠ would fault on the device", style="bold red")
        return header

    def compose(self) -> ComposeResult:
        yield Static(self._header(None), id="profile-header")
        yield ViewBar(list(TABS), id="view-bar")
        with ContentSwitcher(id="views", initial="pending"):
            with Vertical(id="pending"):
                pending = run_summary(self.meta)
                pending.append(f"\n\nanalysing the trace ({format_bytes(self.trace_size)})…")
                yield Static(pending, id="pending-summary")
                yield Static("", id="pending-read")
                yield LoadingIndicator()
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self.can_go_back
        return True

    # -- analysis arrives ------------------------------------------------------
    def on_mount(self) -> None:
        self._composed = True
        self._read_timer = self.set_interval(0.25, self._show_read)
        if self._arrived is not None:
            self.set_analysis(*self._arrived)

    def note_read(self, done: int, total: int) -> None:
        """How far the analysis has read the trace; called on the analysis'
        worker thread after every batch, shown on the screen's next tick."""
        self._read = (done, total)

    def _show_read(self) -> None:
        if self._read is None:
            return
        done, total = self._read
        share = f" ({done / total:.0%})" if total else ""
        self.query_one("#pending-read", Static).update(
            f"read {format_count(done)} of {format_count(total)} events{share}"
        )

    def set_analysis(self, analysis: Analysis, compare: Analysis | None = None) -> None:
        """Mount the views on the finished analysis and show the Overview (once
        the screen itself is mounted)."""
        self._arrived = (analysis, compare)
        if not self._composed or self.state is not None:
            return
        from ubscope.tui.state import ProfileState

        self.state = ProfileState(analysis, compare)
        self.query_one("#profile-header", Static).update(self._header(analysis))
        self.call_later(self._install_views, analysis, compare)

    async def _install_views(self, analysis: Analysis, compare: Analysis | None) -> None:
        assert self.state is not None
        await self.query_one(ContentSwitcher).mount_all(
            [view_class(self.state) for view_class in views()]
        )
        bar = self.query_one(ViewBar)
        if not analysis.vendor:
            bar.dimmed.add(VENDOR_INDEX)
        if compare is None:
            bar.dimmed.add(COMPARE_INDEX)
        self._read_timer.stop()
        await self.query_one("#pending").remove()
        self.ready = True
        self.action_show_view(self.current)

    @property
    def views(self) -> list[View]:
        from ubscope.tui.views.base import View

        return list(self.query_one(ContentSwitcher).query_children(View))

    # -- switching -------------------------------------------------------------
    def action_show_view(self, index: int) -> None:
        if not self.ready:
            self.notify("still analysing the trace…", timeout=2)
            return
        view = self.views[index]
        self.current = index
        self.query_one(ContentSwitcher).current = view.id
        self.query_one(ViewBar).set_active(index)
        view.activate()

    def action_cycle_view(self, direction: int) -> None:
        self.action_show_view((self.current + direction) % len(TABS))

    def action_back(self) -> None:
        self.dismiss()

    @on(ViewBar.Chosen)
    def _bar_clicked(self, event: ViewBar.Chosen) -> None:
        self.action_show_view(event.index)

    def on_findings_panel_chosen(self, event: FindingsPanel.Chosen) -> None:
        assert self.state is not None
        if self.state.choose_finding(event.finding):
            count = len(self.state.finding_events)
            place = self.state.place.label if self.state.place else "-"
            self.notify(
                f"{event.finding.code}: {count:,} events on {place}; 3 timeline, 4 memory map, "
                "6 events (n: next ◆)",
                timeout=4,
                markup=False,
            )
        else:
            self.notify(f"{event.finding.code} names no trace events", timeout=3, markup=False)
