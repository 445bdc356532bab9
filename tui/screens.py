"""The help screen and the trace picker of ``ubscope tui DIR``."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Static

from ubscope.probe.trace_meta import TraceEntry
from ubscope.probe.units import format_bytes
from ubscope.tui.text import literal
from ubscope.tui.views import views

GLOBAL_KEYS = (
    ("1-8, Tab", "switch view (or click its name)"),
    ("?", "this help"),
    ("q", "quit"),
    ("Backspace", "back to the trace list (ubscope tui DIR)"),
    ("Esc", "leave a filter / close this help"),
)


def help_text() -> Text:
    text = Text()
    text.append("ubscope tui: keys\n\n", style="bold")
    for keys, meaning in GLOBAL_KEYS:
        text.append(f"  {keys:<10} ", style="bold")
        text.append(meaning + "\n")
    for index, view in enumerate(views()):
        text.append(f"\n{index + 1} {view.title}\n", style="bold")
        text.append(view.help + "\n")
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(help_text(), id="help-text")
        yield Footer()

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()


class PickerScreen(Screen):
    """The traces of a folder; Enter opens one."""

    BINDINGS = [Binding("enter", "open", "open", show=True)]

    class Open(Message):
        def __init__(self, entry: TraceEntry) -> None:
            super().__init__()
            self.entry = entry

    def __init__(self, folder: str, entries: list[TraceEntry]) -> None:
        super().__init__()
        self.folder = folder
        self.entries = entries

    def compose(self) -> ComposeResult:
        title = Text("ubscope ", style="bold", no_wrap=True, overflow="ellipsis")
        title.append(f"{len(self.entries)} traces in ")
        title.append_text(literal(self.folder))
        title.append("  (Enter opens, Backspace comes back)")
        yield Static(title, id="picker-title")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="picker-table")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("file", "kernel", "preset", "chip", "size", "problem"):
            table.add_column(label)
        for index, entry in enumerate(self.entries):
            meta = entry.meta or {}
            table.add_row(
                literal(entry.path.name),
                literal(meta.get("kernel", "") if entry.meta else "(unreadable)"),
                literal(meta.get("preset") or ""),
                literal(meta.get("chip", {}).get("name", "")),
                Text(format_bytes(entry.size), justify="right"),
                literal(entry.problem or ""),
                key=str(index),
            )
        table.focus()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(self.Open(self.entries[int(event.row_key.value)]))

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if 0 <= table.cursor_row < len(self.entries):
            self.post_message(self.Open(self.entries[table.cursor_row]))
