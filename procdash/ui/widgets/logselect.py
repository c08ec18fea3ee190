"""Keyboard selection of a range of lines in a log pane (v, then j/k or arrows, then y), for copying."""

from __future__ import annotations

from rich.style import Style
from textual.strip import Strip

from procdash.ui.widgets.logscroll import LogScroll


class LineSelection(LogScroll):
    """A LogScroll whose rows can be selected from an anchor to a cursor; the LogView draws and copies them.

    Rows are content rows (the "lines dropped" notice excluded). While selecting, up/down move the
    cursor end instead of scrolling, and the view scrolls to keep it in sight.
    """

    selection: tuple[int, int] | None = None  # (anchor row, cursor row)

    def start_selection(self) -> None:
        """Select the line at the bottom of the screen (the newest shown); moving extends from it."""
        rows = self._content_rows()
        if rows <= 0:
            return
        top = max(0, int(self.scroll_y) - self._header_rows())
        row = min(rows - 1, top + max(0, self._view_height() - 1))
        self.selection = (row, row)
        self.refresh()

    def cancel_selection(self) -> bool:
        """Drop the selection; False when there was none."""
        if self.selection is None:
            return False
        self.selection = None
        self.refresh()
        return True

    def selected_rows(self) -> range:
        """The content rows selected, first to last (empty without a selection)."""
        if self.selection is None:
            return range(0)
        anchor, cursor = self.selection
        return range(min(anchor, cursor), max(anchor, cursor) + 1)

    def action_scroll_up(self) -> None:
        """Up: extend the selection upwards while selecting, else scroll."""
        if self.selection is not None:
            self._move_cursor(-1)
        else:
            super().action_scroll_up()

    def action_scroll_down(self) -> None:
        """Down: extend the selection downwards while selecting, else scroll."""
        if self.selection is not None:
            self._move_cursor(1)
        else:
            super().action_scroll_down()

    def _move_cursor(self, delta: int) -> None:
        """Move the selection's cursor end by ``delta`` rows and keep it on screen."""
        assert self.selection is not None
        anchor, cursor = self.selection
        cursor = max(0, min(self._content_rows() - 1, cursor + delta))
        self.selection = (anchor, cursor)
        screen_row = cursor + self._header_rows()
        top = int(self.scroll_y)
        height = max(1, self._view_height())
        if screen_row < top:
            self._scroll_quietly(y=screen_row)
        elif screen_row >= top + height:
            self._scroll_quietly(y=screen_row - height + 1)
        self.refresh()

    def selection_strip(self, strip: Strip, row: int, style: Style) -> Strip:
        """The row's strip, drawn selected when ``row`` (a content row) is in the selection."""
        if self.selection is not None and row in self.selected_rows():
            return strip.apply_style(style)
        return strip

    def _content_rows(self) -> int:
        """Rows of shown lines (the LogView knows)."""
        raise NotImplementedError

    def _header_rows(self) -> int:
        """Rows above the first line (the LogView knows)."""
        raise NotImplementedError
