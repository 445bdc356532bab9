"""The line of view names with their number keys; the current one highlighted."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget


class ViewBar(Widget):
    """``1 Overview  2 Findings …``; short names when the terminal is narrow."""

    COMPONENT_CLASSES = {"view-bar--active", "view-bar--key", "view-bar--dim"}

    class Chosen(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, titles: list[tuple[str, str]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.titles = titles  # (full, short)
        self.active = 0
        self.dimmed: set[int] = set()
        self._spans: list[tuple[int, int]] = []

    def set_active(self, index: int) -> None:
        self.active = index
        self.refresh()

    def render(self) -> Text:
        full = [f" {i + 1} {title} " for i, (title, _) in enumerate(self.titles)]
        if sum(map(len, full)) > self.size.width:
            full = [f" {i + 1} {short} " for i, (_, short) in enumerate(self.titles)]
        style = self.get_component_rich_style
        active, key, dim = style("view-bar--active"), style("view-bar--key"), style("view-bar--dim")
        text = Text(no_wrap=True, overflow="crop")
        self._spans = []
        for index, label in enumerate(full):
            start = len(text)
            if index == self.active:
                text.append(label, active)
            else:
                text.append(label[:3], key)
                text.append(label[3:], dim if index in self.dimmed else "")
            self._spans.append((start, len(text)))
        return text

    def on_click(self, event: events.Click) -> None:
        for index, (start, end) in enumerate(self._spans):
            if start <= event.x < end:
                self.post_message(self.Chosen(index))
