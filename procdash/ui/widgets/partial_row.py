"""The provisional last row of a log pane: what a process is writing right now, before its newline."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

MAX_ROWS = 5  # the merged view lists one row per process with an unfinished line, up to this many


class PartialRow(Static):
    """Shows the unfinished line(s) under the log; hidden when there is none. Replaced, never appended."""

    DEFAULT_CSS = """
    PartialRow {
        height: auto;
        max-height: 5;
        display: none;
        background: $surface;
        color: $foreground;
        padding: 0 0;
    }
    """

    def __init__(self) -> None:
        super().__init__("", classes="partial-row", markup=False)
        self.rows: list[str] = []
        self._cursor = False

    def show_rows(self, rows: list[str], *, cursor: bool = False) -> None:
        """Show these unfinished lines (ANSI colour kept), a cursor after the last when typing into it."""
        rows = rows[-MAX_ROWS:]
        if rows == self.rows and cursor == self._cursor:
            return
        # Only a change in height needs a layout; a new text in the same rows is a repaint.
        layout = len(rows) != len(self.rows) or not self.display
        self.rows = rows
        self._cursor = cursor
        if not rows and not cursor:
            self.display = False
            return
        text = Text("\n").join(Text.from_ansi(row, no_wrap=True, end="") for row in rows) if rows else Text()
        if cursor:
            text.append("█", style="blink")
        else:
            text.append("▏", style="dim")  # marks the row as provisional: the line is not finished
        self.update(text, layout=layout)
        self.display = True
