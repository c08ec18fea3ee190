"""Log panes: one bordered LogView per process (or the merged log) and the grid that lays them out."""

from __future__ import annotations

import math

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import ScrollableContainer, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from procdash.core.logbuffer import LogBuffer
from procdash.ui.widgets.logview import LogView
from procdash.ui.widgets.partial_row import PartialRow

MERGED = "all"
# Narrower than this and a pane is unreadable: the grid puts fewer panes per row instead.
MIN_PANE_WIDTH = 40
# Lower than this (border included) and the grid scrolls instead of squeezing rows.
MIN_PANE_HEIGHT = 8


class LogPane(Vertical):
    """A titled border around one LogView; ``key`` is the instance name, or "all" for the merged log."""

    class Focused(Message):
        """The pane's log view got the keyboard focus."""

        def __init__(self, pane: LogPane) -> None:
            super().__init__()
            self.pane = pane

    def __init__(self, key: str, buffer: LogBuffer) -> None:
        super().__init__(classes="log-pane")
        self.key = key
        self.view = LogView(buffer)
        self.partial_row = PartialRow()  # the unfinished line under the log (a prompt, a progress bar)
        self.search_term: str | None = None
        self.filter_term: str | None = None
        self.matches = 0
        self.refreshed_at = 0.0  # time.monotonic() of the last refresh_from_buffer by the app
        self.title_key: object = None  # what the title was built from, to skip rebuilding it
        self._title: str | Text = ""
        self._subtitle = ""

    def on_mount(self) -> None:
        """Catch up with lines that arrived before the pane existed; keep the flags in the subtitle."""
        self.view.refresh_from_buffer()
        self.watch(self.view, "follow", self.refresh_flags, init=False)
        self.watch(self.view, "wrap", self.refresh_flags, init=False)

    def refresh_flags(self) -> None:
        """Show the current search, filter, follow and wrap state in the bottom border."""
        self.show_subtitle(self.flags())

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Tell the app which pane the person is in."""
        self.post_message(self.Focused(self))

    def compose(self) -> ComposeResult:
        """The log view fills the pane; the provisional row sits under it when there is one."""
        yield self.view
        yield self.partial_row

    def set_buffer(self, buffer: LogBuffer) -> None:
        """Show another buffer (the instance slot was recreated after a scale down and up)."""
        if self.view.buffer is not buffer:
            self.view.set_buffer(buffer)

    def show_title(self, title: str | Text, subtitle: str) -> None:
        """Update the border texts, touching the widget only when they changed."""
        if title != self._title:
            self._title = title
            self.border_title = title if isinstance(title, Text) else Text(title)
        if subtitle != self._subtitle:
            self._subtitle = subtitle
            self.border_subtitle = Text(subtitle)  # Text, not str: a search term is not markup

    @property
    def title_text(self) -> str | Text:
        """The title shown now."""
        return self._title

    def show_subtitle(self, subtitle: str) -> None:
        """Update only the bottom border text."""
        self.show_title(self._title, subtitle)

    def flags(self) -> str:
        """The pane's modes as a short subtitle: search hits, filter, follow off, wrap."""
        parts = []
        view = self.view
        if self.search_term:
            parts.append(f"/{self.search_term}: {self.matches} match{'es' if self.matches != 1 else ''}")
        if self.filter_term:
            parts.append(f"filter \\{self.filter_term}")
        if not view.follow:
            parts.append("follow off")
        if view.wrap:
            parts.append("wrap")
        return " · ".join(parts)


class EmptyPane(Static):
    """Shown in place of panes when the selected type has no instances."""

    def __init__(self) -> None:
        super().__init__("", classes="empty-pane")


class PaneGrid(ScrollableContainer, can_focus=False):
    """Panes side by side in as many columns as stay readable; rows beyond the height scroll."""

    def __init__(self, *children: Widget, id: str | None = None) -> None:
        super().__init__(*children, id=id)
        self._panes: list[Widget] = []
        self._grid_rows = ""

    def on_resize(self) -> None:
        """The space changed: recompute how many panes fit side by side."""
        self.show_panes(self._panes)

    def show_panes(self, panes: list[Widget]) -> None:
        """Show exactly ``panes`` (others hidden) in a grid sized for the current width and height."""
        self._panes = list(panes)
        shown = set(map(id, panes))
        for child in self.children:
            if child.display != (id(child) in shown):
                child.display = id(child) in shown
        count = max(1, len(panes))
        width = max(1, self.size.width)
        columns = max(1, min(count, width // MIN_PANE_WIDTH))
        rows = math.ceil(count / columns)
        styles = self.styles
        if styles.grid_size_columns != columns:
            styles.grid_size_columns = columns
        if styles.grid_size_rows != rows:
            styles.grid_size_rows = rows
        fits = rows * MIN_PANE_HEIGHT <= max(1, self.size.height)
        grid_rows = "1fr" if fits else str(MIN_PANE_HEIGHT)
        if self._grid_rows != grid_rows:
            self._grid_rows = grid_rows
            styles.grid_rows = grid_rows
