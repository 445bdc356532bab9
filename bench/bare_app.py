"""The bare Textual app bench_startup.py measures the TUI's first paint against:
one line of text and a footer. Imported by the benchmark's child, run as a script
for the in-terminal measurement."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Static


class Bare(App):
    def compose(self) -> ComposeResult:
        yield Static("kernel: bench_tiled  chip: Ascend910B2", id="pending-summary")
        yield Footer()


if __name__ == "__main__":
    Bare().run()
