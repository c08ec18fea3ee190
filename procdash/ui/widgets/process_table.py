"""The process table: a line-API widget grouped by type that re-renders only the rows that changed.

A DataTable re-renders every visible cell whenever any cell changes (its cell cache is keyed by a
global update counter); with uptimes, CPU and sparklines moving every second that alone cost about
7% of a core for 20 processes. Here each row's strip is cached until that row's cells change, each
cell's segments until that cell changes, and a change repaints only the cells whose text changed: an
uptime ticking costs the terminal a few characters, not a whole row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from procdash.ui.rows import Column, Row

HEADER_LINES = 1
EMPTY = Text()  # what a missing cell shows; one object, so its cached segments stay valid


class ProcessTable(ScrollView, can_focus=True):
    """One row per type and per instance under a fixed header; the cursor row is the selection.

    Enter is the app's binding (focus view); a double click posts ``Selected`` for the same effect.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor_to(0)", "First", show=False),
        Binding("end", "cursor_to(-1)", "Last", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "process-table--header",
        "process-table--header-focused",
        "process-table--cursor",
        "process-table--cursor-blurred",
    }
    DEFAULT_CSS = """
    ProcessTable {
        height: auto;
        overflow-x: hidden;
        background: $surface;
        & > .process-table--header { text-style: bold; color: $text-muted; background: $panel; }
        & > .process-table--header-focused { text-style: bold; color: $text; background: $accent 40%; }
        & > .process-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
        & > .process-table--cursor-blurred { background: $block-cursor-blurred-background; }
    }
    """

    class Highlighted(Message):
        """The cursor moved to the row with this key."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    class Selected(Message):
        """A double click on the row with this key."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns: list[Column] = []
        self.row_keys: list[str] = []
        self.cursor = 0
        self._cells: dict[str, dict[str, Text]] = {}
        # (row key, column key) -> the cell's Text, the row style and its styled segments: a row whose
        # uptime changed redraws one cell and reuses the other eleven.
        self._parts: dict[tuple[str, str], tuple[Text, Style, list[Segment]]] = {}
        self._spans: dict[str, tuple[int, int]] = {}  # column key -> (x, width) with its padding
        self._row_width = 0  # cells of a row: every column with its padding
        self._versions: dict[str, int] = {}
        self._strips: dict[tuple[str, int, bool, bool, int], Strip] = {}
        self._header: tuple[tuple[int, bool], Strip] | None = None
        self._styles: dict[str, Style] = {}
        self._rich_style: Style | None = None

    # ----- data --------------------------------------------------------------------------------------

    @property
    def selected_key(self) -> str | None:
        """The key of the cursor row (e.g. "t:web" or "i:web.1"), or None when the table is empty."""
        if not 0 <= self.cursor < len(self.row_keys):
            return None
        return self.row_keys[self.cursor]

    def get_cell(self, key: str, column: str) -> Text:
        """The text of one cell (KeyError for an unknown row or column)."""
        return self._cells[key][column]

    def select_key(self, key: str) -> bool:
        """Move the cursor to the row with this key; False when there is no such row."""
        if key not in self.row_keys:
            return False
        self._move(self.row_keys.index(key))
        return True

    def sync(self, columns: list[Column], rows: list[Row], fallbacks: Mapping[str, str] | None = None) -> None:
        """Show these columns and rows; only rows whose cells changed are drawn again.

        When the selected row goes, the cursor moves to its entry in ``fallbacks`` if that row exists.
        """
        if columns != self.columns:
            self.columns = list(columns)
            self._strips.clear()
            self._parts.clear()
            self._header = None
            self._spans = {}
            x = 0
            for column in self.columns:
                self._spans[column.key] = (x, column.width + 2)
                x += column.width + 2
            self._row_width = x
            self.virtual_size = Size(self._width(), len(rows) + HEADER_LINES)
            self.refresh()
        old_keys = self.row_keys
        selected = self.selected_key
        keys = [key for key, _ in rows]
        changed: list[tuple[int, list[str]]] = []
        top = round(self.scroll_offset.y)
        shown = range(top, top + max(0, self.size.height - HEADER_LINES))
        for index, (key, cells) in enumerate(rows):
            old = self._cells.get(key)
            if old is None or (index not in shown and old != cells):
                # Off screen nothing is repainted now, so the cells are not compared one by one.
                self._cells[key] = dict(cells)
                self._versions[key] = self._versions.get(key, 0) + 1
                changed.append((index, list(cells)))
                continue
            if index not in shown:
                continue
            # Cells from a CellCache are the very objects shown when unchanged: identity settles most.
            moved = [column for column, cell in cells.items() if (was := old.get(column)) is not cell and was != cell]
            if moved or len(old) != len(cells):
                # Unchanged cells keep their Text object, so their cached segments stay valid.
                self._cells[key] = {column: cell if column in moved else old[column] for column, cell in cells.items()}
                self._versions[key] = self._versions.get(key, 0) + 1
                changed.append((index, moved if len(old) == len(cells) else list(cells)))
        if keys != old_keys:
            for key in set(old_keys) - set(keys):
                self._cells.pop(key, None)
                self._versions.pop(key, None)
            self._parts = {part: value for part, value in self._parts.items() if part[0] in self._cells}
            self.row_keys = keys
            self._strips.clear()
            self.virtual_size = Size(self._width(), len(keys) + HEADER_LINES)
            self.refresh()
            if selected is not None and selected not in keys and (fallbacks or {}).get(selected) in keys:
                selected = (fallbacks or {})[selected]
            if selected is not None and selected not in keys:
                # The selected row went away (scaled down): stay near it, on the row above in the old order.
                earlier = old_keys[: old_keys.index(selected)]
                selected = next((key for key in reversed(earlier) if key in keys), None)
            self.cursor = -1
            self._move(keys.index(selected) if selected is not None else 0)
            return
        self.refresh_cells(changed)

    def _width(self) -> int:
        """Width of all columns with their padding."""
        return sum(column.width + 2 for column in self.columns)

    # ----- rendering ---------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """The header on the first line, then the rows scrolled by scroll_y."""
        width = self.size.width
        if y < HEADER_LINES:
            # The header is where the focus shows: highlighted while the table has it.
            header_key = (width, self.has_focus)
            if self._header is None or self._header[0] != header_key:
                labels = {c.key: Text(c.label) for c in self.columns}
                name = "process-table--header-focused" if self.has_focus else "process-table--header"
                style = self.get_component_rich_style(name)
                self._header = (header_key, self._render_row(labels, style, width))
            return self._header[1]
        index = round(self.scroll_offset.y) + y - HEADER_LINES
        base = self._base_style()
        if not 0 <= index < len(self.row_keys):
            return Strip.blank(width, base)
        key = self.row_keys[index]
        is_cursor = index == self.cursor
        cache_key = (key, self._versions.get(key, 0), is_cursor, self.has_focus, width)
        strip = self._strips.get(cache_key)
        if strip is None:
            if len(self._strips) > 4 * max(16, len(self.row_keys)):
                self._strips.clear()
            if is_cursor:
                name = "process-table--cursor" if self.has_focus else "process-table--cursor-blurred"
                style = base + self.get_component_rich_style(name, partial=True)
            else:
                style = base
            strip = self._render_row(self._cells[key], style, width, key)
            self._strips[cache_key] = strip
        return strip

    def _render_row(self, cells: dict[str, Text], style: Style, width: int, key: str | None = None) -> Strip:
        """One line of cells, each cut or padded to its column, one space either side.

        With a row ``key``, each cell's styled segments are cached until that cell's Text changes.
        """
        segments: list[Segment] = []
        parts = self._parts
        for column in self.columns:
            # An empty cell draws as nothing whatever its style: one shared object keeps its segments cached.
            cell = cells.get(column.key) or EMPTY
            cached = parts.get((key, column.key)) if key is not None else None
            if cached is not None and cached[0] is cell and (cached[1] is style or cached[1] == style):
                styled = cached[2]
            else:
                styled = list(Segment.apply_style(self._padded_cell(cell, column), style))
                if key is not None:
                    parts[(key, column.key)] = (cell, style, styled)
            # Each cell's segments are simplified already; joining a cell's padding to the next one's
            # (the same style object) is all a row needs, and cheaper than simplifying the row again.
            if segments and styled and segments[-1].style is styled[0].style:
                segments[-1] = Segment(segments[-1].text + styled[0].text, styled[0].style)
                segments += styled[1:]
            else:
                segments += styled
        return Strip(segments, self._row_width).adjust_cell_length(width, style)

    def _padded_cell(self, cell: Text, column: Column) -> list[Segment]:
        """A cell's segments cut or padded to its column, with one space either side."""
        space = Segment(" ")
        parts, used = self._cell_segments(cell, column.width)
        pad = Segment(" " * (column.width - used + 1))
        if column.right:
            return list(Segment.simplify([pad, *parts, space]))
        return list(Segment.simplify([space, *parts, pad]))

    def _base_style(self) -> Style:
        """The widget's own style, computed once until the styles change (Textual recomputes it per call)."""
        style = self._rich_style
        if style is None:
            style = self._rich_style = self.rich_style
        return style

    def _cell_segments(self, cell: Text, width: int) -> tuple[list[Segment], int]:
        """A cell as segments no wider than ``width``, and the cells they take."""
        if cell.cell_len > width:
            cell = cell.copy()
            cell.truncate(width, overflow="ellipsis")
        if not cell.spans and "\n" not in cell.plain:
            # One style for the whole cell (most of them): no layout pass needed.
            style = cell.style if isinstance(cell.style, Style) else self._style(cell.style)
            return [Segment(cell.plain, style)], cell.cell_len
        console: Console = self.app.console
        return list(cell.render(console, end="")), cell.cell_len

    def _style(self, definition: str) -> Style:
        """A parsed style string, cached (a table uses a handful of them)."""
        style = self._styles.get(definition)
        if style is None:
            style = Style.parse(definition) if definition else Style()
            self._styles[definition] = style
        return style

    # ----- cursor ------------------------------------------------------------------------------------

    def _move(self, index: int) -> None:
        """Put the cursor on row ``index`` (clamped), scroll it into view and announce it."""
        if not self.row_keys:
            self.cursor = 0
            return
        index = max(0, min(index, len(self.row_keys) - 1))
        previous = self.cursor
        self.cursor = index
        for row in {previous, index}:
            if 0 <= row < len(self.row_keys):
                self.refresh_line(row + HEADER_LINES)
        self._scroll_to_cursor()
        if previous != index:
            self.post_message(self.Highlighted(self.row_keys[index]))

    def _scroll_to_cursor(self) -> None:
        """Scroll so the cursor row is below the header and inside the view."""
        body = max(1, self.size.height - HEADER_LINES)
        top = round(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + body:
            self.scroll_to(y=self.cursor - body + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        """Up / down (and j / k)."""
        self._move(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        """Page up / page down."""
        self._move(self.cursor + direction * max(1, self.size.height - HEADER_LINES - 1))

    def action_cursor_to(self, index: int) -> None:
        """Home / end."""
        self._move(index if index >= 0 else len(self.row_keys) - 1)

    def on_click(self, event: events.Click) -> None:
        """A click selects a row, a double click opens it."""
        if event.y < HEADER_LINES:
            return
        index = round(self.scroll_offset.y) + event.y - HEADER_LINES
        if 0 <= index < len(self.row_keys):
            self._move(index)
            if event.chain >= 2:
                self.post_message(self.Selected(self.row_keys[index]))

    def on_focus(self) -> None:
        """The cursor row is drawn brighter and the header highlighted while focused."""
        self._rich_style = None
        self.refresh_line(self.cursor + HEADER_LINES)
        self.refresh_line(0)

    def on_blur(self) -> None:
        """Dimmer cursor and a plain header while another widget has the focus."""
        self._rich_style = None
        self.refresh_line(self.cursor + HEADER_LINES)
        self.refresh_line(0)

    def notify_style_update(self) -> None:
        """The theme changed: every cached row was drawn in the old colours."""
        super().notify_style_update()
        self._strips.clear()
        self._parts.clear()
        self._styles.clear()
        self._rich_style = None
        self._header = None
        self.refresh()

    def on_resize(self) -> None:
        """Keep the cursor in view after a resize."""
        self._strips.clear()
        self._header = None
        self._scroll_to_cursor()

    def refresh_line(self, y: int) -> None:
        """Refresh one line given in table coordinates (header is line 0, row i is line i + 1)."""
        if y < HEADER_LINES:
            self.refresh(Region(0, 0, self.size.width, HEADER_LINES))
            return
        screen_y = y - round(self.scroll_offset.y)
        if HEADER_LINES <= screen_y < self.size.height:
            self.refresh(Region(0, screen_y, self.size.width, 1))

    def refresh_cells(self, changed: list[tuple[int, list[str]]]) -> None:
        """Repaint only these columns of these rows (row index, column keys): the rest is as it was.

        Neighbouring cells of a row go as one span, and a span that moved on consecutive rows (an
        uptime column ticking) as one region: the compositor's cost grows with the regions it is given.
        """
        top = round(self.scroll_offset.y)
        runs: dict[tuple[int, int], list[int]] = {}
        for index, columns in changed:
            screen_y = index + HEADER_LINES - top
            if not HEADER_LINES <= screen_y < self.size.height:
                continue
            for span in self._spans_of(columns):
                runs.setdefault(span, []).append(screen_y)
        for (x, width), lines in runs.items():
            start = end = lines[0]
            for y in lines[1:]:
                if y != end + 1:
                    self.refresh(Region(x, start, width, end - start + 1))
                    start = y
                end = y
            self.refresh(Region(x, start, width, end - start + 1))

    def _spans_of(self, columns: list[str]) -> list[tuple[int, int]]:
        """The (x, width) spans these columns cover, neighbours joined; the whole line when all of them."""
        spans = sorted(self._spans[key] for key in columns if key in self._spans)
        if not spans:
            return []
        if len(spans) == len(self._spans):
            return [(0, self.size.width)]
        joined = [spans[0]]
        for x, width in spans[1:]:
            start, length = joined[-1]
            if x == start + length:
                joined[-1] = (start, length + width)
            else:
                joined.append((x, width))
        return joined
