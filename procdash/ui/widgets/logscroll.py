"""Scrolling for the log pane: whole rows, no animation, and moves the widget makes on its own behalf."""

from __future__ import annotations

from typing import ClassVar

from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.scroll_view import ScrollView


class LogScroll(ScrollView):
    """A ScrollView whose keys move by whole rows at once (reading a log wants the view to keep up).

    ``_scroll_quietly`` marks a move as the widget's own, so a subclass can tell it from the person's.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("down,j", "scroll_down", "Down", show=False),
    ]

    SIDE_STEP = 4  # columns per left/right key press

    _quiet_scroll = 0  # >0 while the widget itself scrolls

    def action_scroll_up(self) -> None:
        """One row up."""
        self._scroll_rows(-1)

    def action_scroll_down(self) -> None:
        """One row down."""
        self._scroll_rows(1)

    def action_page_up(self) -> None:
        """One screen up (keeping one row of context)."""
        self._scroll_rows(-max(1, self._view_height() - 1))

    def action_page_down(self) -> None:
        """One screen down (keeping one row of context)."""
        self._scroll_rows(max(1, self._view_height() - 1))

    def action_scroll_home(self) -> None:
        """To the first row."""
        self.scroll_to(x=0, y=0, animate=False, force=True)

    def action_scroll_left(self) -> None:
        """A few columns left."""
        if not self.allow_horizontal_scroll:
            raise SkipAction()
        self.scroll_to(x=self.scroll_x - self.SIDE_STEP, animate=False)

    def action_scroll_right(self) -> None:
        """A few columns right."""
        if not self.allow_horizontal_scroll:
            raise SkipAction()
        self.scroll_to(x=self.scroll_x + self.SIDE_STEP, animate=False)

    def _scroll_rows(self, rows: int) -> None:
        """Scroll by whole rows, or let the key go to the app when there is nothing to scroll."""
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_to(y=round(self.scroll_y) + rows, animate=False)

    def _scroll_quietly(self, x: float | None = None, y: float | None = None) -> None:
        """Scroll at once, marked as the widget's own move rather than the person's."""
        self._quiet_scroll += 1
        try:
            self.scroll_to(x=x, y=y, animate=False, force=True)
        finally:
            self._quiet_scroll -= 1

    def _text_width(self) -> int:
        """Columns available for text (the vertical scrollbar's gutter is always reserved)."""
        return max(0, self.container_size.width - self.scrollbar_size_vertical)

    def _view_height(self) -> int:
        """Rows visible at once."""
        return max(0, self.container_size.height - self.scrollbar_size_horizontal)
