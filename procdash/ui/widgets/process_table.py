"""The process table: a DataTable grouped by type that updates only the cells that changed."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from procdash.ui.rows import Column, Row, keys_of


class ProcessTable(DataTable[Text]):
    """One row per type and per instance; the cursor row is the selection every key acts on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, show_cursor=True, id=id)
        self._columns_shown: list[Column] = []
        self._keys: list[str] = []
        self._cells: dict[str, dict[str, Text]] = {}

    @property
    def selected_key(self) -> str | None:
        """The key of the cursor row (e.g. "t:web" or "i:web.1"), or None when the table is empty."""
        if not self._keys or not 0 <= self.cursor_row < len(self._keys):
            return None
        return self._keys[self.cursor_row]

    def select_key(self, key: str) -> bool:
        """Move the cursor to the row with this key; False when there is no such row."""
        if key not in self._keys:
            return False
        self.move_cursor(row=self._keys.index(key), animate=False)
        return True

    def sync(self, columns: list[Column], rows: list[Row]) -> None:
        """Show these columns and rows, rebuilding only when the row set or columns changed."""
        if [c.key for c in columns] != [c.key for c in self._columns_shown] or any(
            a.width != b.width for a, b in zip(columns, self._columns_shown, strict=False)
        ):
            self._rebuild(columns, rows, with_columns=True)
        elif keys_of(rows) != self._keys:
            self._rebuild(columns, rows, with_columns=False)
        else:
            self._update(rows)

    def _update(self, rows: list[Row]) -> None:
        """Same rows as before: replace only the cells whose text or style changed."""
        shown = {c.key for c in self._columns_shown}
        for key, cells in rows:
            old = self._cells[key]
            for column, value in cells.items():
                if column in shown and old.get(column) != value:
                    try:
                        self.update_cell(key, column, value)
                    except RowDoesNotExist:  # pragma: no cover - keys were compared just above
                        continue
                    old[column] = value

    def _rebuild(self, columns: list[Column], rows: list[Row], *, with_columns: bool) -> None:
        """Clear and refill, keeping the cursor on the same row key (or the nearest row)."""
        selected = self.selected_key
        old_row = self.cursor_row
        old_keys = self._keys
        self.clear(columns=with_columns)
        if with_columns:
            for column in columns:
                label = Text(column.label, justify="right") if column.right else column.label
                self.add_column(label, width=column.width, key=column.key)
            self._columns_shown = list(columns)
        keys = [c.key for c in columns]
        for key, cells in rows:
            self.add_row(*(cells[column] for column in keys), key=key)
        self._keys = keys_of(rows)
        self._cells = {key: dict(cells) for key, cells in rows}
        if selected is not None and selected not in self._keys:
            # The selected row went away (scaled down): stay near it, on the row above in the old order.
            earlier = old_keys[: old_keys.index(selected)]
            selected = next((key for key in reversed(earlier) if key in self._keys), None)
        if selected is not None:
            self.move_cursor(row=self._keys.index(selected), animate=False)
        elif self._keys:
            self.move_cursor(row=min(old_row, len(self._keys) - 1), animate=False)
