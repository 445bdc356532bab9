"""The ubscope Textual application.

``UbscopeApp(analysis=...)`` shows an analysis already made (tests, embedding);
``UbscopeApp(request=...)`` opens a trace and analyses it in a worker thread
while the screen already shows its metadata; ``UbscopeApp(folder=...,
entries=..., request=...)`` starts from a list of traces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.binding import Binding

from ubscope.probe.errors import UbscopeError
from ubscope.probe.text import printable
from ubscope.probe.trace_meta import TraceEntry
from ubscope.tui.loading import TraceRequest
from ubscope.tui.profile import ProfileScreen

if TYPE_CHECKING:  # the analysis package loads with the analysis, after the first paint
    from ubscope.analyzers import Analysis
    from ubscope.tui.screens import PickerScreen  # with a folder, as the help screen is


class UbscopeApp(App[int]):
    CSS_PATH = ["app.tcss", "views.tcss"]
    TITLE = "ubscope"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("q", "quit", "quit"),
        Binding("question_mark", "help", "help", key_display="?"),
    ]

    def __init__(
        self,
        *,
        analysis: Analysis | None = None,
        compare: Analysis | None = None,
        request: TraceRequest | None = None,
        folder: str | None = None,
        entries: list[TraceEntry] | None = None,
    ) -> None:
        super().__init__()
        self.analysis = analysis
        self.compare = compare
        self.request = request
        self.folder = folder
        self.entries = entries
        self.error: UbscopeError | None = None

    def on_mount(self) -> None:
        if self.analysis is not None:
            self.push_screen(
                ProfileScreen(
                    _source_name(self.analysis),
                    _meta(self.analysis),
                    analysis=self.analysis,
                    compare=self.compare,
                )
            )
        elif self.entries is not None:
            from ubscope.tui.screens import PickerScreen

            self.push_screen(PickerScreen(self.folder or ".", self.entries))
        elif self.request is not None:
            try:
                meta = self.request.check()
            except UbscopeError as exc:
                self.error = exc
                self.exit(return_code=exc.exit_code)
                return
            self.open(self.request, meta)

    def open(self, request: TraceRequest, meta: dict[str, Any]) -> None:
        """Show the profile screen for ``request`` at once and analyse in the background."""
        screen = ProfileScreen(
            request.trace.name,
            meta,
            size=request.trace.stat().st_size,
            can_go_back=self.entries is not None,
        )
        self.push_screen(screen)
        # once the metadata is painted: the worker's imports and reading hold the GIL
        self.call_after_refresh(self.analyse, request, screen)

    @work(thread=True, exclusive=True, group="analysis")
    def analyse(self, request: TraceRequest, screen: ProfileScreen) -> None:
        from ubscope.analyzers import reporting_reads

        try:
            with reporting_reads(screen.note_read):
                analysis, baseline = request.analyze()
        except UbscopeError as exc:
            self.call_from_thread(self._failed, exc, screen)
            return
        self.call_from_thread(screen.set_analysis, analysis, baseline)

    def _failed(self, error: UbscopeError, screen: ProfileScreen) -> None:
        if self.entries is not None:
            screen.dismiss()
            self.notify(printable(str(error)), severity="error", timeout=8, markup=False)
            return
        self.error = error
        self.exit(return_code=error.exit_code)

    def on_picker_screen_open(self, event: PickerScreen.Open) -> None:
        entry = event.entry
        if entry.meta is None:
            self.notify(
                printable(f"{entry.path.name}: {entry.problem}"), severity="error", markup=False
            )
            return
        request = (self.request or TraceRequest(entry.path)).with_trace(entry.path)
        try:
            meta = request.check()
        except UbscopeError as exc:
            self.notify(printable(str(exc)), severity="error", timeout=8, markup=False)
            return
        self.open(request, meta)

    def action_help(self) -> None:
        from ubscope.tui.screens import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


def _meta(analysis: Analysis) -> dict[str, Any]:
    return analysis.trace.meta if analysis.trace is not None else {}


def _source_name(analysis: Analysis) -> str:
    return analysis.trace.path.name if analysis.trace is not None else "vendor output"
