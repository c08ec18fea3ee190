"""The log pane: shows one LogBuffer lazily (line API), follows the tail, wraps, searches and filters."""

from __future__ import annotations

from typing import ClassVar, NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import BindingType
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.strip import Strip

from procdash.ui.keys import PANE_BINDINGS
from procdash.ui.widgets.logmerge import MergedLog
from procdash.ui.widgets.logmodel import Log, LogModel, Place
from procdash.ui.widgets.logselect import LineSelection


class Frame(NamedTuple):
    """What every row of one repaint shares, worked out once per repaint."""

    base: Style
    width: int
    height: int
    header: int
    bar: bool
    scroll_x: int
    scroll_y: int
    hit: Style
    current: Style


class LogView(LineSelection, can_focus=True):
    """One process's log: only rows on screen are parsed and drawn, so a busy child costs O(new lines).

    The app calls ``refresh_from_buffer`` from its single flush timer; search, filter, wrap and clear
    are methods and reactives the app's keys call. Scrolling keys (LogScroll) and the wheel work here.
    """

    BINDINGS: ClassVar[list[BindingType]] = PANE_BINDINGS

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "logview--dropped",
        "logview--new-lines",
        "logview--match",
        "logview--current-match",
        "logview--selection",
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
        & > .logview--selection { background: $primary 50%; }
    }
    """

    follow: reactive[bool] = reactive(True, init=False)
    """Keep the newest line in view; scrolling up turns it off, reaching the bottom turns it on."""

    wrap: reactive[bool] = reactive(False, init=False)
    """Soft-wrap long lines instead of scrolling sideways."""

    def __init__(
        self,
        buffer: Log | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.new_lines = 0
        """Lines that arrived while not following (shown as "+N new lines")."""
        self._model = LogModel()
        self._rebuild_pending = False  # lines must be measured again before the next update
        self._frame: Frame | None = None
        self.set_buffer(buffer)

    # ----- public API --------------------------------------------------------------------------------

    @property
    def buffer(self) -> Log | None:
        """The buffer shown; assigning one is ``set_buffer``."""
        return self._model.buffer

    @buffer.setter
    def buffer(self, buffer: Log | None) -> None:
        """Show another buffer, as ``set_buffer`` does."""
        self.set_buffer(buffer)

    @property
    def filter_term(self) -> str | None:
        """The active filter, if any."""
        return self._model.filter_term

    @property
    def search_term(self) -> str | None:
        """The active search, if any."""
        return self._model.matches.term if self._model.matches is not None else None

    @property
    def search_error(self) -> str | None:
        """Why the search or filter regular expression does not compile, if it does not."""
        matches = self._model.matches
        return (matches.needle.error if matches is not None else None) or self._model.filter_error

    @property
    def match_count(self) -> int:
        """Hits of the active search among the shown lines."""
        return len(self._model.matches) if self._model.matches is not None else 0

    @property
    def match_index(self) -> int:
        """Index of the current hit (0-based), or -1."""
        return self._model.matches.current if self._model.matches is not None else -1

    @property
    def line_count(self) -> int:
        """Lines currently shown (after clear and filter)."""
        return len(self._model.rows)

    @property
    def dropped(self) -> int:
        """Lines that would be shown but fell out of the buffer's scrollback."""
        return self._model.dropped

    def set_buffer(self, buffer: Log | None) -> None:
        """Show another buffer (or none), following its tail, with no search, filter or clear mark."""
        self._model.reset(buffer, self._text_width() if self.wrap else None)
        self.new_lines = 0
        self.set_reactive(LogView.follow, True)
        if self.is_mounted:
            self._scroll_quietly(x=0)
            self.refresh_from_buffer(force=True)

    def refresh_from_buffer(self, *, force: bool = False) -> None:
        """Take in lines appended (and forget lines dropped) since the last call; O(new lines)."""
        model = self._model
        if self._rebuild_pending:
            self._rebuild_pending = False
            self._rebuild()
        if not (force or model.stale()):
            return
        anchor = None if self.follow else self._anchor()
        header = model.header
        added, removed = model.update(self._text_width())
        if added and not self.follow and model.height > self._view_height():
            self.new_lines += added
        self._after_change(anchor, moved=force or bool(removed) or header != model.header)

    def set_search(self, term: str | None, *, from_tail: bool | None = None, regex: bool = False) -> int:
        """Highlight ``term`` (plain text, any case); returns the number of hits.

        As in less: from the tail (following) the newest hit is shown first; scrolled up, the first hit
        from the top of the screen on. ``from_tail`` overrides which (a prompt searching as it is typed
        keeps the choice made when it opened).
        """
        following = self.follow if from_tail is None else from_tail
        top = int(self.scroll_y) - self._model.header
        self.refresh_from_buffer()
        count = self._model.set_search(term, regex=regex)
        if count:
            matches = self._model.matches
            assert matches is not None
            place = self._model.place(max(0, top))
            start = matches.first_from(place[0]) if place is not None and not following else count
            self._go_to(start if start < count else count - 1)
        self.refresh()
        return count

    def next_match(self) -> bool:
        """Move to the next hit (after the current one, or below the top of the screen); False if none."""
        return self._step(forward=True)

    def previous_match(self) -> bool:
        """Move to the previous hit (before the current one, or above the screen's bottom); False if none."""
        return self._step(forward=False)

    def set_filter(self, term: str | None, *, regex: bool = False) -> None:
        """Show only lines containing ``term`` (any case; ``!term``: lines without it); None or "" shows all."""
        self.refresh_from_buffer()
        self._model.set_filter(term, regex=regex)
        self.new_lines = 0
        self._rebuild()

    def clear_view(self) -> None:
        """Hide every line received so far (the buffer keeps them)."""
        self.refresh_from_buffer()
        self._model.clear_seq = self._model.seen
        self.new_lines = 0
        self._rebuild()
        self.follow = True

    def all_text(self) -> str:
        """Plain text of every line the pane shows (after clear and filter), oldest first."""
        self.refresh_from_buffer()
        return "\n".join(self._model.plain_text(range(self._model.rows.rows)))

    def selected_text(self) -> str:
        """Plain text of the selected lines (empty without a selection)."""
        return "\n".join(self._model.plain_text(self.selected_rows()))

    def start_selection(self) -> None:
        """v: select from the newest line on screen; following stops so the lines hold still."""
        self.follow = False
        super().start_selection()

    def _content_rows(self) -> int:
        """Rows of the shown lines."""
        return self._model.rows.rows

    def _header_rows(self) -> int:
        """Rows above the first line (the "lines dropped" notice)."""
        return self._model.header

    def visible_text(self) -> str:
        """Plain text (no escapes, tabs kept) of the lines on screen, each whole, oldest first."""
        top = int(self.scroll_y)
        header = self._model.header
        bottom = top + self._view_height() - (1 if self._bar_shown else 0)
        return "\n".join(self._model.plain_text(range(max(top, header) - header, bottom - header)))

    def match_style(self, current: bool = False) -> Style:
        """The style a search hit (or the current hit) is drawn with, on top of the line's colours."""
        name = "logview--current-match" if current else "logview--match"
        return self.get_component_rich_style(name, partial=True)

    # ----- reactives and events ----------------------------------------------------------------------

    def watch_follow(self, follow: bool) -> None:
        """Jump to the tail when following starts; repaint for the "+N new lines" bar either way."""
        if follow:
            self.new_lines = 0
            self._scroll_end()
        self.refresh()

    def set_timestamps(self, on: bool, *, now: bool = True) -> None:
        """Start every line with the time it arrived (a merged or pane log; a bare buffer has no times).

        With ``now`` False (a hidden pane) the lines are measured again only when the view next takes in
        lines, so switching times on in a 200-pane formation costs only what is on screen.
        """
        buffer = self._model.buffer
        if isinstance(buffer, MergedLog) and buffer.stamped != on:
            buffer.stamped = on
            self._model.forget_drawn()
            if now:
                self._rebuild()
            else:
                self._rebuild_pending = True

    @property
    def timestamps(self) -> bool:
        """Whether lines start with their arrival time."""
        buffer = self._model.buffer
        return isinstance(buffer, MergedLog) and buffer.stamped

    def watch_wrap(self, wrap: bool) -> None:
        """Re-measure rows for the new mode, keeping the top line in place."""
        if self.is_mounted:
            self._scroll_quietly(x=0)
        self._rebuild()

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
        """Take in whatever the buffer holds."""
        self.refresh_from_buffer(force=True)

    def on_resize(self, event: events.Resize) -> None:
        """Re-wrap for a new width, or re-measure if lines could now overflow; keep the tail when following."""
        model = self._model
        width = self._text_width()
        if (self.wrap and width != model.wrap_width) or (not self.wrap and width < model.measured_for):
            self._rebuild()
        elif self.follow:
            self._scroll_end()

    def notify_style_update(self) -> None:
        """Search colours are baked into drawn rows: drop them when the theme changes."""
        super().notify_style_update()
        self._model.forget_styles()

    def action_scroll_end(self) -> None:
        """To the newest line, following again."""
        self.follow = True
        self._scroll_end()

    # ----- drawing -----------------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        """Draw the rows Textual asks for, working out what they share once."""
        self._frame = self._make_frame()
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        """Draw row ``y`` of the viewport from cached strips, parsing a line only on a cache miss."""
        frame = self._frame or self._make_frame()
        if frame.bar and y == frame.height - 1:
            return self._bar(f" +{self.new_lines} new lines · End to follow ", "logview--new-lines", frame)
        row = frame.scroll_y + y
        if row < frame.header:
            return self._bar(f"… {self._model.dropped} earlier lines dropped (scrollback)", "logview--dropped", frame)
        strip = self._model.row_strip(row - frame.header, frame.hit, frame.current)
        if strip is None and row == frame.header and self._model.filter_term and not self._model.rows.rows:
            return self._bar(f" no line matches the filter {self._model.filter_term}", "logview--dropped", frame)
        if strip is None:
            return Strip.blank(frame.width, frame.base)
        start = 0 if self.wrap else frame.scroll_x
        line = strip.apply_style(frame.base).crop_extend(start, start + frame.width, frame.base)
        if self.selection is not None:
            line = self.selection_strip(line, row - frame.header, self.get_component_rich_style("logview--selection"))
        return line

    def _make_frame(self) -> Frame:
        """The shared facts for drawing rows right now."""
        scroll_x, scroll_y = self.scroll_offset
        return Frame(
            self.rich_style,
            self._text_width(),
            self._view_height(),
            self._model.header,
            self._bar_shown,
            scroll_x,
            scroll_y,
            self.match_style(),
            self.match_style(current=True),
        )

    def _bar(self, text: str, component: str, frame: Frame) -> Strip:
        """A one-row notice across the view in a component style."""
        style = frame.base + self.get_component_rich_style(component, partial=True)
        return Strip([Segment(text, style)]).crop_extend(0, frame.width, style)

    @property
    def _bar_shown(self) -> bool:
        """Whether the bottom row shows "+N new lines"."""
        return not self.follow and self.new_lines > 0

    # ----- keeping the view in place -----------------------------------------------------------------

    def _rebuild(self) -> None:
        """Recompute the shown lines (filter, clear mark, wrap, width changed), keeping the top line."""
        anchor = None if self.follow else self._anchor()
        width = self._text_width()
        self._model.rebuild(width if self.wrap else None, width)
        self._after_change(anchor, moved=True)

    def _after_change(self, anchor: Place | None, *, moved: bool) -> None:
        """Publish the new size, then keep the tail (following) or the top line (scrolled up) in view."""
        self.virtual_size = Size(self._model.width, self._model.height)
        if not self.is_mounted:
            return
        if self.follow:
            self._scroll_end()
        elif moved:
            self._restore(anchor)
        self.refresh()

    def _anchor(self) -> Place | None:
        """The line (and row within it) at the top of the screen; None when the top shows no line."""
        return self._model.place(int(self.scroll_y) - self._model.header)

    def _restore(self, anchor: Place | None) -> None:
        """Scroll so the anchored line is at the top again (the next line if it went, the top if dropped)."""
        model = self._model
        y = 0
        if anchor is not None:
            row = model.row_of(anchor)
            if row is None:
                row = model.next_row(anchor[0])
                if row == 0:
                    row = -model.header  # the anchor fell off the front: show the notice too
            y = model.header + row
        self._scroll_quietly(y=y)

    def _scroll_end(self) -> None:
        """Show the last row."""
        if self.is_mounted:
            self._scroll_quietly(y=self.max_scroll_y)

    # ----- search ------------------------------------------------------------------------------------

    def _step(self, *, forward: bool) -> bool:
        """Move to the hit after (or before) the current one, or the nearest to the screen if it is away."""
        self.refresh_from_buffer()
        top = int(self.scroll_y) - self._model.header
        target = self._model.step_target(forward, top, top + self._view_height() - 1)
        if target is None:
            return False
        self._go_to(target)
        return True

    def _go_to(self, index: int) -> None:
        """Make hit ``index`` current, stop following and scroll it into view."""
        matches = self._model.matches
        assert matches is not None
        matches.current = index
        self.follow = False
        place = self._model.hit_place(matches.hits[index])
        if place is not None and self.is_mounted:
            content_row, first, end = place
            row = self._model.header + content_row
            height = self._view_height() - 1  # the "+N new lines" bar may cover the last row
            top = int(self.scroll_y)
            if not top <= row < top + height:
                self._scroll_quietly(y=max(0, row - height // 2))
            width = self._text_width()
            if not self.wrap and not self.scroll_x <= first <= end <= self.scroll_x + width:
                self._scroll_quietly(x=max(0, first - width // 4))
        self.refresh()
