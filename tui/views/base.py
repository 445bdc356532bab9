"""The base of every tab: it gets the shared state and redraws when shown."""

from __future__ import annotations

from typing import ClassVar

from textual.containers import Vertical
from textual.widget import Widget

from ubscope.tui.state import ProfileState


class View(Vertical, can_focus=True):
    """One tab. ``sync`` redraws from the state when the tab is shown or the
    state changed while it was hidden."""

    title: ClassVar[str] = ""
    short: ClassVar[str] = ""  # label on narrow terminals
    help: ClassVar[str] = ""  # one paragraph for the help screen

    def __init__(self, state: ProfileState) -> None:
        super().__init__(id=f"view-{self.slug()}")
        self.state = state
        self.synced_version = -1
        self.display = False  # the ContentSwitcher shows one view at a time

    @classmethod
    def slug(cls) -> str:
        return cls.title.lower().replace(" ", "-")

    def activate(self) -> None:
        """Called when the tab becomes visible."""
        if self.synced_version != self.state.version:
            self.sync()
            self.synced_version = self.state.version
        self.focus_target().focus()

    def sync(self) -> None:
        """Redraw from the state."""

    def focus_target(self) -> Widget:
        return self

    def state_changed(self) -> None:
        """This view changed the shared state: redraw itself now."""
        self.sync()
        self.synced_version = self.state.version
