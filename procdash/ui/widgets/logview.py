"""The log pane: shows one LogBuffer lazily (line API), follows the tail, wraps, searches and filters."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from procdash.core.lines import strip_sgr
from procdash.core.logbuffer import LogBuffer
from procdash.ui.widgets.logcolor import ColorCarry
from procdash.ui.widgets.logrows import RowIndex
from procdash.ui.widgets.logsearch import Hit, Matches, compile_term, keep_matching
from procdash.ui.widgets.logtext import (
    clean,
    plain_line,
    plain_lines,
    row_count,
    row_counts,
    to_text,
    wide_candidates,
    wrap_starts,
)

Anchor = tuple[int, int]  # (seq, row within the line) of the top row on screen


class LogView(ScrollView, can_focus=True):
    """One process's log: only rows on screen are parsed and drawn, so a busy child costs O(new lines).

    The app calls ``refresh_from_buffer`` from its single flush timer; everything else (search, filter,
    wrap, clear) is a method or reactive the app's keys call.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "logview--dropped",
        "logview--new-lines",
        "logview--match",
        "logview--current-match",
    }

    DEFAULT_CSS = """
    LogView {
        background: $surface;
        color: $foreground;
        scrollbar-gutter: stable;
        & > .logview--dropped { color: $text-muted; text-style: italic; }
        & > .logview--new-lines { background: $accent; color: $text; text-style: bold; }
        & > .logview--match { background: $warning-muted; }
        & > .logview--current-match { background: $warning; color: $background; text-style: bold; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("down,j", "scroll_down", "Down", show=False),
    ]

    follow: reactive[bool] = reactive(True, init=False)
    """Keep the newest line in view; scrolling up turns it off, reaching the bottom turns it on."""

    wrap: reactive[bool] = reactive(False, init=False)
    """Soft-wrap long lines instead of scrolling sideways."""

    TEXT_CACHE = 2048
    STRIP_CACHE = 2048
    SIDE_STEP = 4  # columns per left/right key press

    def __init__(
        self,
        buffer: LogBuffer | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.buffer: LogBuffer | None = None
        self.new_lines = 0
        """Lines that arrived while not following (shown as "+N new lines")."""
        self._rows = RowIndex()
        self._seen = 0  # every line before this sequence number has been taken in
        self._first = 0  # the buffer's first_seq when last looked at
        self._clear_seq = 0  # lines before this are hidden by clear_view
        self._max_cells = 0  # widest shown line that is wider than the view (0 when all fit)
        self._measured_for = 0  # view width lines were measured against since the last rebuild
        self._wrap_width = 0  # width the row index was measured for (wrap mode)
        self._filter_term: str | None = None
        self._filter: re.Pattern[str] | None = None
        self._matches: Matches | None = None
        self._search_version = 0
        self._carry = ColorCarry()
        self._texts: LRUCache[int, Text] = LRUCache(self.TEXT_CACHE)
        self._strips: LRUCache[tuple[int, int, int, int], list[Strip]] = LRUCache(self.STRIP_CACHE)
        self._quiet_scroll = 0  # >0 while the widget itself scrolls: such moves never change follow
        self._frame_style: Style | None = None  # the widget's style while one frame is drawn
        self.set_buffer(buffer)

    # ----- public API --------------------------------------------------------------------------------

    @property
    def filter_term(self) -> str | None:
        """The active filter, if any."""
        return self._filter_term

    @property
    def search_term(self) -> str | None:
        """The active search, if any."""
        return self._matches.term if self._matches is not None else None

    @property
    def match_count(self) -> int:
        """Hits of the active search among the shown lines."""
        return len(self._matches) if self._matches is not None else 0

    @property
    def match_index(self) -> int:
        """Index of the current hit (0-based), or -1."""
        return self._matches.current if self._matches is not None else -1

    @property
    def line_count(self) -> int:
        """Lines currently shown (after clear and filter)."""
        return len(self._rows)

    @property
    def dropped(self) -> int:
        """Lines that would be shown but fell out of the buffer's scrollback."""
        buffer = self.buffer
        if buffer is None:
            return 0
        return min(buffer.dropped, max(0, self._first - self._clear_seq))

    def set_buffer(self, buffer: LogBuffer | None) -> None:
        """Show another buffer (or none), following its tail, with no search, filter or clear mark."""
        self.buffer = buffer
        self._seen = self._first = buffer.first_seq if buffer is not None else 0
        self._clear_seq = 0
        self._filter_term = self._filter = None
        self._matches = None
        self._search_version += 1
        self._carry.reset()
        self._texts.clear()
        self._strips.clear()
        self._rows = RowIndex(self.wrap)
        self._max_cells = self._measured_for = 0
        self._wrap_width = self._content_width() if self.is_mounted else 0
        self.new_lines = 0
        self.set_reactive(LogView.follow, True)
        if self.is_mounted:
            self.scroll_to(x=0, animate=False, force=True)
        self.refresh_from_buffer(force=True)

    def refresh_from_buffer(self, *, force: bool = False) -> None:
        """Take in lines appended (and forget lines dropped) since the last call; O(new lines)."""
        buffer = self.buffer
        if buffer is None:
            if force:
                self._after_change(None, moved=True)
            return
        first, end = buffer.first_seq, buffer.next_seq
        if end == self._seen and first == self._first and not force:
            return
        anchor = None if self.follow else self._anchor()
        had_header = self._header
        moved = False
        if first != self._first:
            self._first = first
            moved = self._forget_before(first) > 0
        start = max(self._seen, first)
        added = self._take(start, buffer.slice(start, end))
        self._seen = end
        if added and not self.follow:
            self.new_lines += added
        self._after_change(anchor, moved=moved or had_header != self._header)

    def set_search(self, term: str | None) -> int:
        """Highlight ``term`` (plain text, any case); returns the number of hits and jumps to the first."""
        self.refresh_from_buffer()
        self._search_version += 1
        if not term:
            self._matches = None
            self.refresh()
            return 0
        self._matches = Matches(term)
        seqs, lines = self._shown()
        self._matches.add(seqs, plain_lines(lines)[0])
        if self._matches.hits:
            self._go_to(0)
        self.refresh()
        return len(self._matches)

    def next_match(self) -> bool:
        """Move to the next hit (after the current one, or below the top of the screen); False if none."""
        return self._step(forward=True)

    def previous_match(self) -> bool:
        """Move to the previous hit; False if none."""
        return self._step(forward=False)

    def set_filter(self, term: str | None) -> None:
        """Show only lines containing ``term`` (plain text, any case); None or "" shows every line."""
        self.refresh_from_buffer()
        self._filter_term = term or None
        self._filter = compile_term(term) if term else None
        self.new_lines = 0
        self._reshow()

    def clear_view(self) -> None:
        """Hide every line received so far (the buffer keeps them)."""
        self.refresh_from_buffer()
        self._clear_seq = self._seen
        self.new_lines = 0
        self._reshow()
        self.follow = True

    def visible_text(self) -> str:
        """Plain text (no escapes, tabs kept) of the lines on screen, each whole, oldest first."""
        buffer = self.buffer
        if buffer is None:
            return ""
        top = int(self.scroll_y)
        height = self._view_height() - (1 if self._indicator_shown else 0)
        header = self._header
        out: list[str] = []
        last = -1
        for row in range(max(top, header), top + height):
            if row - header >= self._rows.rows:
                break
            index, _ = self._rows.locate(row - header)
            if index == last:
                continue
            last = index
            try:
                raw = buffer.get(self._rows.seq(index))
            except IndexError:
                continue
            out.append(strip_sgr(clean(raw)))
        return "\n".join(out)

    # ----- reactives ---------------------------------------------------------------------------------

    def watch_follow(self, follow: bool) -> None:
        """Jump to the tail when following starts; repaint for the "+N new lines" bar either way."""
        if follow:
            self.new_lines = 0
            self._scroll_end()
        self.refresh()

    def watch_wrap(self, wrap: bool) -> None:
        """Re-measure rows for the new mode, keeping the top line in place."""
        if self.is_mounted:
            self._scroll_quietly(x=0)
        self._reshow()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Scrolling away from the bottom stops following; reaching it (by the person) resumes it."""
        super().watch_scroll_y(old_value, new_value)
        if self._quiet_scroll or not self.size:
            return
        at_end = round(new_value) >= self.max_scroll_y
        if at_end != self.follow:
            self.follow = at_end

    def watch_show_horizontal_scrollbar(self, shown: bool) -> None:
        """The viewport just got a row shorter or taller: stay on the last line when following."""
        if self.follow:
            self.call_after_refresh(self._scroll_end)

    def on_mount(self) -> None:
        """Take in whatever the buffer already holds."""
        self.refresh_from_buffer(force=True)

    def on_resize(self, event: events.Resize) -> None:
        """Re-wrap for a new width; keep the tail in view when following."""
        width = self._content_width()
        if (self.wrap and width != self._wrap_width) or (not self.wrap and width < self._measured_for):
            self._reshow()
        elif self.follow:
            self._scroll_end()

    def notify_style_update(self) -> None:
        """Highlight colours are baked into cached rows: drop them when the theme changes."""
        super().notify_style_update()
        self._strips.clear()

    # ----- keys --------------------------------------------------------------------------------------

    def action_scroll_up(self) -> None:
        """One row up (turns following off)."""
        self._scroll_rows(-1)

    def action_scroll_down(self) -> None:
        """One row down."""
        self._scroll_rows(1)

    def action_page_up(self) -> None:
        """One screen up."""
        self._scroll_rows(-max(1, self._view_height() - 1))

    def action_page_down(self) -> None:
        """One screen down."""
        self._scroll_rows(max(1, self._view_height() - 1))

    def action_scroll_home(self) -> None:
        """To the oldest line."""
        self.scroll_to(x=0, y=0, animate=False, force=True)

    def action_scroll_end(self) -> None:
        """To the newest line, following again."""
        self.follow = True
        self._scroll_end()

    def action_scroll_left(self) -> None:
        """A few columns left."""
        if self.wrap or not self.allow_horizontal_scroll:
            raise SkipAction()
        self.scroll_to(x=self.scroll_x - self.SIDE_STEP, animate=False)

    def action_scroll_right(self) -> None:
        """A few columns right."""
        if self.wrap or not self.allow_horizontal_scroll:
            raise SkipAction()
        self.scroll_to(x=self.scroll_x + self.SIDE_STEP, animate=False)

    def _scroll_rows(self, rows: int) -> None:
        """Scroll by whole rows without animation (log reading wants the view to keep up with the keys)."""
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_to(y=round(self.scroll_y) + rows, animate=False)

    # ----- rendering ---------------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        """Draw the rows Textual asks for, working out the widget's own style once for all of them."""
        self._frame_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None

    def render_line(self, y: int) -> Strip:
        """Draw row ``y`` of the viewport from cached strips, parsing the line only on a cache miss."""
        width = self._content_width()
        base = self._frame_style or self.rich_style
        if self._indicator_shown and y == self._view_height() - 1:
            return self._bar(f" +{self.new_lines} new lines · End to follow ", "logview--new-lines", width)
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        header = self._header
        if row < header:
            text = f"… {self.dropped} earlier lines dropped (scrollback)"
            return self._bar(text, "logview--dropped", width)
        row -= header
        if row >= self._rows.rows:
            return Strip.blank(width, base)
        index, part = self._rows.locate(row)
        strips = self._line_strips(self._rows.seq(index))
        if strips is None or part >= len(strips):
            return Strip.blank(width, base)
        strip = strips[part].apply_style(base)
        if self.wrap:
            return strip.crop_extend(0, width, base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _bar(self, text: str, component: str, width: int) -> Strip:
        """A one-row notice across the view in a component style."""
        style = (self._frame_style or self.rich_style) + self.get_component_rich_style(component, partial=True)
        return Strip([Segment(text, style)]).crop_extend(0, width, style)

    def _line_strips(self, seq: int) -> list[Strip] | None:
        """The rows of one line as strips (one unless wrapped), cached by line, width and search state."""
        matches = self._matches
        current = matches.current_hit if matches is not None else None
        current_start = current.start if current is not None and current.seq == seq else -1
        key = (seq, self._wrap_width if self.wrap else 0, self._search_version, current_start)
        strips = self._strips.get(key)
        if strips is not None:
            return strips
        text = self._text(seq)
        if text is None:
            return None
        if matches is not None:
            text = self._highlight(text, matches, current_start)
        if self.wrap:
            parts: Sequence[Text] = list(text.divide(wrap_starts(text.plain, self._wrap_width)[1:]))
        else:
            parts = [text]
        console = self.app.console
        strips = [Strip(part.render(console)) for part in parts]
        self._strips[key] = strips
        return strips

    def _highlight(self, text: Text, matches: Matches, current_start: int) -> Text:
        """A copy of ``text`` with every hit marked, the current one differently."""
        hits = list(matches.pattern.finditer(text.plain))
        if not hits:
            return text
        text = text.copy()
        style = self.get_component_rich_style("logview--match", partial=True)
        current = self.get_component_rich_style("logview--current-match", partial=True)
        for hit in hits:
            text.stylize(current if hit.start() == current_start else style, hit.start(), hit.end())
        return text

    def _text(self, seq: int) -> Text | None:
        """The parsed (coloured, tab-expanded) line ``seq``, or None if the buffer no longer holds it."""
        text = self._texts.get(seq)
        if text is None:
            assert self.buffer is not None
            try:
                raw = self.buffer.get(seq)
            except IndexError:
                return None
            text = to_text(raw, self._carry.prefix(self.buffer.slice, self.buffer.first_seq, seq))
            self._texts[seq] = text
        return text

    # ----- bookkeeping -------------------------------------------------------------------------------

    @property
    def _header(self) -> int:
        """Rows above the first line: one for the "lines dropped" notice when there is one."""
        return 1 if self.dropped else 0

    @property
    def _indicator_shown(self) -> bool:
        """Whether the bottom row shows "+N new lines"."""
        return not self.follow and self.new_lines > 0

    def _content_width(self) -> int:
        """Columns available for text (the vertical scrollbar's gutter is always reserved)."""
        return max(0, self.container_size.width - self.scrollbar_size_vertical)

    def _view_height(self) -> int:
        """Rows visible at once."""
        return max(0, self.container_size.height - self.scrollbar_size_horizontal)

    def _take(self, start: int, lines: list[str]) -> int:
        """Show lines ``start``, ``start + 1``, ... that pass the filter; returns how many are shown.

        Without a filter or search only lines that might not fit the view are looked at closely: the rest
        take one row each and cannot widen the horizontal scroll range.
        """
        if not lines:
            return 0
        seqs: Sequence[int] = range(start, start + len(lines))
        limit = self._wrap_width if self.wrap else self._content_width()
        self._measured_for = max(self._measured_for, limit)
        if self._filter is None and self._matches is None:
            picked = wide_candidates(lines, limit)
            plains, ascii_only = plain_lines([lines[i] for i in picked])
        else:
            plains, ascii_only = plain_lines(lines)
            if self._filter is not None:
                seqs, plains = keep_matching(self._filter, seqs, plains)
                if not seqs:
                    return 0
            if self._matches is not None:
                self._matches.add(seqs, plains)
            picked = list(range(len(seqs)))
        if self.wrap:
            if len(picked) == len(seqs):
                rows = row_counts(plains, self._wrap_width, ascii_only)
            else:
                rows = [1] * len(seqs)
                for index, plain in zip(picked, plains, strict=True):
                    rows[index] = row_count(plain, self._wrap_width)
            self._rows.append(seqs, rows)
        else:
            self._rows.append(seqs)
            if plains:
                widest = max(map(len, plains)) if ascii_only else max(map(cell_len, plains))
                self._max_cells = max(self._max_cells, widest)
        return len(seqs)

    def _forget_before(self, seq: int) -> int:
        """Drop lines that left the buffer; returns how many rows that removed."""
        _lines, rows = self._rows.trim_before(seq)
        if self._matches is not None:
            self._matches.trim_before(seq)
        return rows

    def _shown(self) -> tuple[list[int], list[str]]:
        """Sequence numbers and raw text of every shown line (call right after refresh_from_buffer)."""
        seqs = self._rows.seqs()
        if not seqs or self.buffer is None:
            return [], []
        raws = self.buffer.slice(seqs[0], seqs[-1] + 1)
        if len(raws) == len(seqs):
            return seqs, raws
        return seqs, [raws[seq - seqs[0]] for seq in seqs]

    def _reshow(self) -> None:
        """Rebuild the shown lines from the buffer (filter, clear mark, wrap width changed)."""
        anchor = None if self.follow else self._anchor()
        current = self._matches.current_hit if self._matches is not None else None
        if self._matches is not None:
            self._matches = Matches(self._matches.term)
        self._rows = RowIndex(self.wrap)
        self._max_cells = self._measured_for = 0
        self._wrap_width = self._content_width()
        buffer = self.buffer
        if buffer is not None:
            start = max(buffer.first_seq, self._clear_seq)
            self._take(start, buffer.slice(start, self._seen))
        if self._matches is not None and current is not None:
            hits = self._matches.hits
            index = min(self._matches.first_from(current.seq), len(hits) - 1)
            while index + 1 < len(hits) and hits[index].seq == current.seq and hits[index].start < current.start:
                index += 1
            self._matches.current = index
        self._after_change(anchor, moved=True)

    def _after_change(self, anchor: Anchor | None, *, moved: bool) -> None:
        """Publish the new size, then keep the tail (following) or the top line (scrolled up) in view."""
        width = self._wrap_width if self.wrap else self._max_cells
        self.virtual_size = Size(width, self._header + self._rows.rows)
        if not self.is_mounted:
            return
        if self.follow:
            self._scroll_end()
        elif moved:
            self._restore(anchor)
        self.refresh()

    def _anchor(self) -> Anchor | None:
        """The line (and row within it) at the top of the screen; None when the top shows no line."""
        row = int(self.scroll_y) - self._header
        if row < 0 or row >= self._rows.rows:
            return None
        index, part = self._rows.locate(row)
        return self._rows.seq(index), part

    def _restore(self, anchor: Anchor | None) -> None:
        """Scroll so the anchored line is at the top again (or the top, if it is gone)."""
        rows = self._rows
        y = 0
        if anchor is not None:
            seq, part = anchor
            index = rows.index_of(seq)
            if index >= len(rows):
                y = self._header + rows.rows
            elif rows.seq(index) == seq:
                y = self._header + rows.row_of(index) + min(part, rows.height(index) - 1)
            elif index > 0:
                y = self._header + rows.row_of(index)
        self._scroll_quietly(y=y)

    def _scroll_end(self) -> None:
        """Show the last row."""
        if self.is_mounted:
            self._scroll_quietly(y=self.max_scroll_y)

    def _scroll_quietly(self, x: float | None = None, y: float | None = None) -> None:
        """Scroll without the move counting as the person's (so it never toggles ``follow``)."""
        self._quiet_scroll += 1
        try:
            self.scroll_to(x=x, y=y, animate=False, force=True)
        finally:
            self._quiet_scroll -= 1

    # ----- search ------------------------------------------------------------------------------------

    def _step(self, *, forward: bool) -> bool:
        """Move to the hit after (or before) the current one, or the nearest to the screen if it is away."""
        self.refresh_from_buffer()
        matches = self._matches
        if matches is None or not matches.hits:
            return False
        count = len(matches.hits)
        current = matches.current_hit
        if current is not None and self._hit_on_screen(current):
            target = matches.current + (1 if forward else -1)
        else:
            top, bottom = self._screen_seqs()
            target = matches.first_from(top) if forward else matches.last_until(bottom)
        self._go_to(target % count)
        return True

    def _screen_seqs(self) -> tuple[int, int]:
        """Sequence numbers of the first and last line on screen (or the tail when nothing is shown)."""
        rows = self._rows
        if not rows.rows:
            return self._seen, self._seen
        top = min(max(0, int(self.scroll_y) - self._header), rows.rows - 1)
        bottom = min(max(0, int(self.scroll_y) + self._view_height() - 1 - self._header), rows.rows - 1)
        return rows.seq(rows.locate(top)[0]), rows.seq(rows.locate(bottom)[0])

    def _hit_row(self, hit: Hit) -> tuple[int, int, int] | None:
        """(row, first column, last column) of a hit in the virtual view, or None if it is not shown."""
        rows = self._rows
        index = rows.index_of(hit.seq)
        if index >= len(rows) or rows.seq(index) != hit.seq or self.buffer is None:
            return None
        try:
            plain = plain_line(self.buffer.get(hit.seq))
        except IndexError:
            return None
        row = self._header + rows.row_of(index)
        line_start = 0
        if self.wrap:
            starts = wrap_starts(plain, self._wrap_width)
            part = bisect_right(starts, hit.start) - 1
            row += part
            line_start = starts[part]
        column = cell_len(plain[line_start : hit.start])
        return row, column, column + cell_len(plain[hit.start : hit.end])

    def _hit_on_screen(self, hit: Hit) -> bool:
        """Whether the hit's row is inside the viewport."""
        place = self._hit_row(hit)
        if place is None:
            return False
        top = int(self.scroll_y)
        return top <= place[0] < top + self._view_height()

    def _go_to(self, index: int) -> None:
        """Make hit ``index`` current, stop following and scroll it into view."""
        matches = self._matches
        assert matches is not None
        matches.current = index
        self.follow = False
        place = self._hit_row(matches.hits[index])
        if place is not None and self.is_mounted:
            row, first, last = place
            height = self._view_height() - 1  # the "+N new lines" bar may cover the last row
            top = int(self.scroll_y)
            if not top <= row < top + height:
                self._scroll_quietly(y=max(0, row - height // 2))
            width = self._content_width()
            if not self.wrap and not (self.scroll_x <= first and last <= self.scroll_x + width):
                self._scroll_quietly(x=max(0, first - width // 4))
        self.refresh()

    # Styles used by tests and the app to check what the highlight looks like.
    def match_style(self, current: bool = False) -> Style:
        """The rich style a (current) hit is drawn with."""
        name = "logview--current-match" if current else "logview--match"
        return self.get_component_rich_style(name, partial=True)
