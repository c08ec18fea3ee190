"""The log pane widget in a real (headless) Textual app: follow, scrollback, colours, search, filter, wrap."""

from __future__ import annotations

import asyncio
import functools
import re
import unicodedata
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.segment import Segment
from textual import events
from textual.app import App, ComposeResult

from procdash.core.lines import LineAssembler
from procdash.core.logbuffer import LogBuffer
from procdash.ui.widgets.logcolor import ColorCarry, apply_sgr, escape_for
from procdash.ui.widgets.logrows import RowIndex
from procdash.ui.widgets.logsearch import Needle
from procdash.ui.widgets.logstrip import LineRenderer, wrap
from procdash.ui.widgets.logtext import cells, plain_line, plain_lines, row_count, wide_candidates
from procdash.ui.widgets.logview import LogView

WIDTH, HEIGHT = 80, 24
TEXT_WIDTH = WIDTH - 2  # the vertical scrollbar's gutter is always reserved


class LogApp(App[None]):
    """Nothing but one LogView filling the screen."""

    def __init__(self, buffer: LogBuffer | None) -> None:
        super().__init__()
        self.buffer = buffer

    def compose(self) -> ComposeResult:
        """The widget under test."""
        yield LogView(self.buffer)


@asynccontextmanager
async def shown(buffer: LogBuffer | None) -> AsyncIterator[LogView]:
    """Run the app at 80x24 and hand over the mounted, laid-out view."""
    app = LogApp(buffer)
    async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
        await pilot.pause()
        yield app.query_one(LogView)


def in_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test body in a fresh event loop (the suite has no async plugin)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        """The synchronous test pytest sees."""
        asyncio.run(test(*args, **kwargs))

    return run


def numbered(count: int, start: int = 0, prefix: str = "line") -> list[str]:
    """Distinct lines 'line 0', 'line 1', ..."""
    return [f"{prefix} {i}" for i in range(start, start + count)]


def screen(view: LogView) -> list[str]:
    """The text of every row on screen, trailing blanks removed."""
    return [view.render_line(y).text.rstrip() for y in range(view.scrollable_content_region.height)]


def shows(view: LogView, text: str) -> bool:
    """Whether some row on screen contains ``text``."""
    return any(text in row for row in screen(view))


def segments(view: LogView, y: int) -> list[Segment]:
    """The non-blank segments of one screen row."""
    return [seg for seg in view.render_line(y) if seg.text.strip()]


# ----- follow -----------------------------------------------------------------------------------------


@in_loop
async def test_follows_the_tail_by_default_and_shows_new_lines() -> None:
    buffer = LogBuffer(1000)
    buffer.extend(numbered(100))
    async with shown(buffer) as view:
        assert view.follow is True
        assert screen(view)[-1] == "line 99"
        buffer.extend(numbered(5, start=100))
        view.refresh_from_buffer()
        assert screen(view)[-1] == "line 104"
        assert view.new_lines == 0


@in_loop
async def test_scrolling_up_stops_following_and_counts_new_lines() -> None:
    buffer = LogBuffer(1000)
    buffer.extend(numbered(100))
    async with shown(buffer) as view:
        view.action_scroll_up()
        assert view.follow is False
        before = screen(view)
        buffer.extend(numbered(7, start=100))
        view.refresh_from_buffer()
        rows = screen(view)
        assert view.new_lines == 7
        assert rows[:-1] == before[:-1], "the view stays put while scrolled up"
        assert "+7 new lines" in rows[-1]
        view.action_scroll_end()
        assert view.follow is True
        assert view.new_lines == 0
        assert screen(view)[-1] == "line 106"


@in_loop
async def test_keys_scroll_and_reaching_the_bottom_follows_again() -> None:
    buffer = LogBuffer(1000)
    buffer.extend(numbered(200))
    app = LogApp(buffer)
    async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
        view = app.query_one(LogView)
        view.focus()
        await pilot.pause()
        bottom = view.scroll_y
        await pilot.press("k", "up")
        assert view.scroll_y == bottom - 2
        assert view.follow is False
        await pilot.press("pageup")
        assert view.scroll_y == bottom - 2 - (HEIGHT - 1)
        await pilot.press("home")
        assert view.scroll_y == 0
        assert screen(view)[0] == "line 0"
        await pilot.press("pagedown", "j", "down")
        assert view.scroll_y == HEIGHT - 1 + 2
        assert view.follow is False
        view.scroll_to(y=bottom - 1, animate=False)
        await pilot.press("down")
        assert view.follow is True, "reaching the bottom turns following back on"
        await pilot.press("home")
        await pilot.press("end")
        assert view.follow is True
        assert screen(view)[-1] == "line 199"


@in_loop
async def test_mouse_wheel_scrolls_and_stops_following() -> None:
    buffer = LogBuffer(1000)
    buffer.extend(numbered(200))
    app = LogApp(buffer)
    async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
        view = app.query_one(LogView)
        await pilot.pause()
        bottom = view.scroll_y
        view.post_message(events.MouseScrollUp(view, 5, 5, 0, -1, 0, False, False, False))
        await pilot.pause()
        assert view.scroll_y < bottom
        assert view.follow is False


@in_loop
async def test_setting_follow_jumps_to_the_tail() -> None:
    buffer = LogBuffer(1000)
    buffer.extend(numbered(200))
    app = LogApp(buffer)
    async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
        view = app.query_one(LogView)
        await pilot.pause()
        view.follow = False
        view.scroll_to(y=0, animate=False)
        buffer.extend(numbered(3, start=200))
        view.refresh_from_buffer()
        assert screen(view)[0] == "line 0"
        view.follow = True
        await pilot.pause()
        assert screen(view)[-1] == "line 202"


@in_loop
async def test_following_survives_a_horizontal_scrollbar_appearing() -> None:
    buffer = LogBuffer(1000)
    buffer.extend(numbered(100))
    app = LogApp(buffer)
    async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
        view = app.query_one(LogView)
        await pilot.pause()
        buffer.extend(["wide " + "x" * 200, "last"])
        view.refresh_from_buffer()
        await pilot.pause()
        await pilot.pause()
        assert view.show_horizontal_scrollbar
        assert view.follow is True
        assert screen(view)[-1] == "last"


@in_loop
async def test_following_a_full_buffer_stays_on_the_newest_line() -> None:
    buffer = LogBuffer(30)
    async with shown(buffer) as view:
        for batch in range(10):
            buffer.extend(numbered(25, start=batch * 25))
            view.refresh_from_buffer()
            assert screen(view)[-1] == f"line {batch * 25 + 24}"
        assert view.follow is True


@in_loop
async def test_turning_follow_off_at_the_bottom_holds_the_view() -> None:
    buffer = LogBuffer(1000)
    buffer.extend(numbered(100))
    async with shown(buffer) as view:
        view.follow = False
        before = screen(view)
        buffer.extend(numbered(3, start=100))
        view.refresh_from_buffer()
        assert screen(view)[:-1] == before[:-1]
        assert view.new_lines == 3 and "+3 new lines" in screen(view)[-1]


@in_loop
async def test_new_lines_that_fit_on_screen_are_not_announced() -> None:
    buffer = LogBuffer(1000)
    buffer.extend(numbered(3))
    async with shown(buffer) as view:
        view.follow = False
        buffer.extend(numbered(2, start=3))
        view.refresh_from_buffer()
        assert view.new_lines == 0
        assert screen(view)[:5] == numbered(5)


@in_loop
async def test_left_and_right_scroll_long_lines_sideways() -> None:
    buffer = LogBuffer()
    buffer.extend(["0123456789" * 12, "short"])
    app = LogApp(buffer)
    async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
        view = app.query_one(LogView)
        view.focus()
        await pilot.pause()
        await pilot.press("right", "right")
        assert view.scroll_x == 8
        assert screen(view)[0].startswith("8901234567")
        await pilot.press("left")
        assert screen(view)[0].startswith("4567")


# ----- scrollback ---------------------------------------------------------------------------------------


@in_loop
async def test_dropped_lines_are_announced_on_the_first_row() -> None:
    buffer = LogBuffer(50)
    buffer.extend(numbered(80))
    async with shown(buffer) as view:
        view.action_scroll_home()
        rows = screen(view)
        assert rows[0] == "… 30 earlier lines dropped (scrollback)"
        assert rows[1] == "line 30"
        dim = segments(view, 0)[0].style
        assert dim is not None and dim.italic


@in_loop
async def test_scroll_position_holds_while_lines_fall_off_the_front() -> None:
    buffer = LogBuffer(100)
    buffer.extend(numbered(100))
    async with shown(buffer) as view:
        view.scroll_to(y=40, animate=False)
        assert view.follow is False
        top = screen(view)[0]
        buffer.extend(numbered(10, start=100))  # lines 0..9 fall out of the buffer
        view.refresh_from_buffer()
        assert screen(view)[0] == top
        assert view.new_lines == 10
        buffer.extend(numbered(30, start=110))
        view.refresh_from_buffer()
        assert screen(view)[0] == top


@in_loop
async def test_top_line_dropped_keeps_the_view_at_the_top() -> None:
    buffer = LogBuffer(100)
    buffer.extend(numbered(100))
    async with shown(buffer) as view:
        view.action_scroll_home()
        buffer.extend(numbered(5, start=100))
        view.refresh_from_buffer()
        rows = screen(view)
        assert rows[0] == "… 5 earlier lines dropped (scrollback)"
        assert rows[1] == "line 5"


# ----- colours and text -----------------------------------------------------------------------------------


@in_loop
async def test_colours_survive_and_escapes_do_not() -> None:
    buffer = LogBuffer()
    buffer.extend(["\x1b[31mred\x1b[0m plain \x1b[1;38;5;208morange\x1b[0m \x1b[38;2;1;2;3mrgb\x1b[0m"])
    async with shown(buffer) as view:
        row = screen(view)[0]
        assert row == "red plain orange rgb"
        by_text = {seg.text.strip(): seg.style for seg in segments(view, 0)}
        assert by_text["red"] is not None and by_text["red"].color is not None
        assert by_text["red"].color.number == 1
        assert by_text["plain"] is not None and by_text["plain"].color != by_text["red"].color
        orange = by_text["orange"]
        assert orange is not None and orange.bold and orange.color is not None and orange.color.number == 208
        rgb = by_text["rgb"]
        assert rgb is not None and rgb.color is not None and rgb.color.triplet is not None
        assert tuple(rgb.color.triplet) == (1, 2, 3)


@in_loop
async def test_colour_left_open_carries_to_following_lines() -> None:
    buffer = LogBuffer()
    buffer.extend(["\x1b[32mstart", "middle", "end\x1b[0m", "after"])
    async with shown(buffer) as view:
        numbers = []
        for y in range(4):
            style = segments(view, y)[0].style
            numbers.append(style.color.number if style is not None and style.color is not None else None)
        assert numbers[:3] == [2, 2, 2], "green stays on until the reset, as on a terminal"
        assert numbers[3] != 2


@in_loop
async def test_only_sgr_reaches_the_screen_even_from_an_unsanitized_buffer() -> None:
    buffer = LogBuffer()
    buffer.extend(["a\x1b[2Jb\rc\x07d\u202ee\u2028f", "\x1b]0;title\x07g"])
    async with shown(buffer) as view:
        for y in range(2):
            text = "".join(seg.text for seg in view.render_line(y))
            assert not any(ch in text for ch in "\x1b\r\x07\u202e\u2028")
        assert screen(view)[0] == "ab\u240dc\u2407d\ufffde\ufffdf", "controls become visible pictures"
        assert screen(view)[1] == "g"


@in_loop
async def test_tabs_expand_and_wide_characters_keep_the_layout() -> None:
    buffer = LogBuffer()
    buffer.extend(["a\tb", "日本\tx", "\x1b[33mab\x1b[0m\tc", "漢" * 60])
    async with shown(buffer) as view:
        rows = screen(view)
        assert rows[0] == "a       b"
        assert rows[1] == "日本    x"
        assert rows[2] == "ab      c"
        for y in range(4):
            assert view.render_line(y).cell_length == TEXT_WIDTH
        view.scroll_to(x=1, animate=False)  # the cut falls inside a wide character
        assert view.render_line(3).cell_length == TEXT_WIDTH


@in_loop
async def test_lines_from_the_real_assembler_render_like_a_terminal() -> None:
    assembler = LineAssembler()
    buffer = LogBuffer()
    buffer.extend(assembler.feed(b"progress 10%\rprogress 100%\r\n\x1b[1mbold\x1b[0m\r\n"))
    async with shown(buffer) as view:
        assert screen(view)[:2] == ["progress 100%", "bold"]


# ----- search -------------------------------------------------------------------------------------------


@in_loop
async def test_search_counts_hits_and_n_and_shift_n_move_between_them() -> None:
    lines = numbered(300)
    lines[10] = "an Error here and ERROR there"
    lines[150] = "\x1b[31merr\x1b[0mor in colour"
    lines[290] = "last error"
    buffer = LogBuffer()
    buffer.extend(lines)
    async with shown(buffer) as view:
        assert view.set_search("error") == 4
        assert view.follow is False, "jumping to a hit stops following"
        assert view.match_index == 3, "from the tail, the newest hit first (as less)"
        assert shows(view, "last error")
        assert view.next_match() and view.match_index == 0, "n wraps around"
        assert shows(view, "an Error here")
        assert view.next_match() and view.match_index == 1
        assert view.next_match() and view.match_index == 2
        assert shows(view, "error in colour")
        assert view.next_match() and view.match_index == 3
        assert view.next_match() and view.match_index == 0
        assert view.previous_match() and view.match_index == 3, "N wraps around backwards"
        assert view.previous_match() and view.match_index == 2


@in_loop
async def test_search_highlights_every_hit_and_the_current_one_differently() -> None:
    buffer = LogBuffer()
    buffer.extend(["foo bar foo", "nothing", "foo"])
    async with shown(buffer) as view:
        assert view.set_search("FOO") == 3
        hit = view.match_style()
        current = view.match_style(current=True)
        assert hit.bgcolor is not None and current.bgcolor is not None and hit != current
        row = list(view.render_line(0))
        foos = [seg for seg in row if seg.text == "foo"]
        assert len(foos) == 2
        assert all(foo.style is not None and foo.style.bgcolor == hit.bgcolor for foo in foos)
        newest = [seg for seg in view.render_line(2) if seg.text == "foo"]
        assert newest[0].style is not None and newest[0].style.bgcolor == current.bgcolor, "newest hit first"
        view.next_match()
        row = list(view.render_line(0))
        foos = [seg for seg in row if seg.text == "foo"]
        assert foos[0].style is not None and foos[0].style.bgcolor == current.bgcolor
        view.next_match()
        row = list(view.render_line(0))
        foos = [seg for seg in row if seg.text == "foo"]
        assert foos[1].style is not None and foos[1].style.bgcolor == current.bgcolor


@in_loop
async def test_search_with_no_hits_and_clearing_it() -> None:
    buffer = LogBuffer()
    buffer.extend(numbered(10))
    async with shown(buffer) as view:
        assert view.set_search("absent") == 0
        assert view.next_match() is False
        assert view.previous_match() is False
        assert view.set_search("line 3") == 1
        assert view.set_search(None) == 0
        assert view.next_match() is False


@in_loop
async def test_search_keeps_up_with_new_and_dropped_lines() -> None:
    buffer = LogBuffer(20)
    buffer.extend(["hit 0", *numbered(9)])
    async with shown(buffer) as view:
        assert view.set_search("hit") == 1
        buffer.extend(["hit 1", "hit 2"])
        view.refresh_from_buffer()
        assert view.match_count == 3
        buffer.extend(numbered(15))  # "hit 0" falls out
        view.refresh_from_buffer()
        assert view.match_count == 2


@in_loop
async def test_next_match_from_a_scrolled_position_starts_at_the_screen() -> None:
    lines = numbered(300)
    for i in (20, 120, 220):
        lines[i] = f"needle {i}"
    buffer = LogBuffer()
    buffer.extend(lines)
    async with shown(buffer) as view:
        view.set_search("needle")
        view.scroll_to(y=100, animate=False)
        assert view.next_match()
        assert view.match_index == 1
        assert shows(view, "needle 120")


# ----- filter and clear --------------------------------------------------------------------------------


@in_loop
async def test_filter_shows_only_matching_lines_as_they_arrive() -> None:
    buffer = LogBuffer()
    buffer.extend(["GET /a", "POST /b", "get /c", "\x1b[32mGE\x1b[0mT /d"])
    async with shown(buffer) as view:
        view.set_filter("get")
        assert screen(view)[:4] == ["GET /a", "get /c", "GET /d", ""]
        assert view.line_count == 3
        buffer.extend(["PUT /e", "GET /f"])
        view.refresh_from_buffer()
        assert screen(view)[:4] == ["GET /a", "get /c", "GET /d", "GET /f"]
        view.set_filter(None)
        assert view.line_count == 6
        assert screen(view)[:6] == ["GET /a", "POST /b", "get /c", "GET /d", "PUT /e", "GET /f"]


@in_loop
async def test_filter_and_search_together_count_only_shown_lines() -> None:
    buffer = LogBuffer()
    buffer.extend(["error db", "info db", "error net", "info net"])
    async with shown(buffer) as view:
        view.set_filter("error")
        assert view.set_search("db") == 1


@in_loop
async def test_clear_view_hides_old_lines_but_not_new_ones() -> None:
    buffer = LogBuffer()
    buffer.extend(numbered(50))
    async with shown(buffer) as view:
        buffer.extend(["not yet taken in"])
        view.clear_view()
        assert view.line_count == 0
        assert screen(view)[0] == ""
        assert len(buffer) == 51, "the buffer itself is untouched"
        buffer.extend(["fresh"])
        view.refresh_from_buffer()
        assert screen(view)[0] == "fresh"
        view.set_buffer(buffer)
        assert view.line_count == 52, "switching sources resets the clear mark"


@in_loop
async def test_set_buffer_switches_source_and_resets_search_and_filter() -> None:
    first, second = LogBuffer(), LogBuffer()
    first.extend(numbered(30, prefix="first"))
    second.extend(numbered(5, prefix="second"))
    async with shown(first) as view:
        view.set_filter("first 1")
        view.set_search("first")
        view.set_buffer(second)
        assert view.filter_term is None and view.search_term is None
        assert screen(view)[:5] == numbered(5, prefix="second")
        view.set_buffer(None)
        assert screen(view)[0] == ""
        assert view.visible_text() == ""


# ----- wrap -----------------------------------------------------------------------------------------------


@in_loop
async def test_wrap_splits_long_lines_into_rows() -> None:
    buffer = LogBuffer()
    long = "".join(chr(ord("a") + i % 26) for i in range(200))
    buffer.extend(["short", long, "漢" * 50, "end"])
    async with shown(buffer) as view:
        assert view.virtual_size.width == 200, "without wrap the longest line sets the scroll range"
        view.wrap = True
        rows = screen(view)
        assert rows[0] == "short"
        assert rows[1:4] == [long[:TEXT_WIDTH], long[TEXT_WIDTH : 2 * TEXT_WIDTH], long[2 * TEXT_WIDTH :]]
        assert rows[4] == "漢" * (TEXT_WIDTH // 2)
        assert rows[5] == "漢" * (50 - TEXT_WIDTH // 2)
        assert rows[6] == "end"
        assert view.virtual_size.height == 7
        buffer.extend(["x" * (TEXT_WIDTH + 1)])
        view.refresh_from_buffer()
        assert view.virtual_size.height == 9, "rows of new lines are counted incrementally"
        view.wrap = False
        assert view.virtual_size.height == 5


@in_loop
async def test_wrap_follows_a_resize() -> None:
    buffer = LogBuffer()
    buffer.extend(["y" * 150])
    app = LogApp(buffer)
    async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
        view = app.query_one(LogView)
        view.wrap = True
        await pilot.pause()
        assert view.virtual_size.height == 2
        await pilot.resize_terminal(42, 20)
        await pilot.pause()
        assert view.virtual_size.height == 4  # 150 cells at 40 columns


@in_loop
async def test_scroll_position_holds_in_wrap_mode_while_lines_drop() -> None:
    buffer = LogBuffer(100)
    buffer.extend([f"{i:03d} " + "w" * 100 for i in range(100)])
    async with shown(buffer) as view:
        view.wrap = True
        view.scroll_to(y=81, animate=False)  # the second row of line 40
        top = screen(view)[0]
        buffer.extend([f"{i:03d} " + "w" * 100 for i in range(100, 110)])
        view.refresh_from_buffer()
        assert screen(view)[0] == top


# ----- visible text ---------------------------------------------------------------------------------------


@in_loop
async def test_visible_text_is_the_plain_lines_on_screen() -> None:
    buffer = LogBuffer()
    buffer.extend([f"\x1b[3{i % 8}mcoloured {i}\x1b[0m\tend" for i in range(100)])
    async with shown(buffer) as view:
        text = view.visible_text().split("\n")
        assert len(text) == HEIGHT
        assert text[0] == f"coloured {100 - HEIGHT}\tend"
        assert text[-1] == "coloured 99\tend"
        assert "\x1b" not in view.visible_text()


@pytest.mark.parametrize("capacity", [1, 3])
@in_loop
async def test_tiny_buffers_stay_consistent(capacity: int) -> None:
    buffer = LogBuffer(capacity)
    async with shown(buffer) as view:
        for batch in range(5):
            buffer.extend(numbered(4, start=batch * 4))
            view.refresh_from_buffer()
            assert view.line_count == capacity
            assert screen(view)[1 : capacity + 1] == numbered(capacity, start=batch * 4 + 4 - capacity)


# ----- helpers, checked against simple models ----------------------------------------------------------------

PIECES = [
    "a",
    "Z",
    " ",
    "42",
    "\t",
    "日",
    "漢字",
    "é",
    "e\u0301",
    "🙂",
    "\x1b[31m",
    "\x1b[0m",
    "\x1b[1;38;5;208m",
    "\x1b[39m",
    "\x1b[2J",
    "\x1b]0;title\x07",
    "\x1b",
    "\r",
    "\x07",
    "\x00",
    "\x7f",
    "\x9b",
    "\u202e",
    "\u2028",
    "\u00a0",
    "\u200d",
    "\ufe0f",
]
raw_lines = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(raw_lines, min_size=1, max_size=12))
def test_batch_plain_text_equals_line_by_line(lines: list[str]) -> None:
    plains, ascii_only = plain_lines(lines)
    assert plains == [plain_line(line) for line in lines]
    if ascii_only:
        assert all(p.isascii() for p in plains)
    for plain in plains:
        assert not [c for c in plain if unicodedata.category(c) == "Cc" or c in "\u2028\u202e"], "no controls survive"


@settings(max_examples=150, deadline=None)
@given(raw_lines, st.integers(min_value=2, max_value=30))
@example("aaa\x1b[31m\x1be\u0301", 2)  # a combining mark left at the very end, after a colour change
def test_rendered_line_matches_its_plain_text_and_wraps_cleanly(raw: str, width: int) -> None:
    strip, plain = LineRenderer().line(raw)
    assert plain == plain_line(raw)
    assert strip.text == plain
    assert strip.cell_length == cells(plain)
    rows = wrap(strip, plain, width)
    assert len(rows) == row_count(plain, width)
    assert "".join(row.text for row in rows) == plain
    assert all(row.cell_length <= width for row in rows)


@settings(max_examples=100, deadline=None)
@given(st.lists(raw_lines, max_size=12), st.integers(min_value=0, max_value=40))
def test_lines_left_out_of_measuring_surely_fit(lines: list[str], limit: int) -> None:
    picked = set(wide_candidates(lines, limit))
    for index, line in enumerate(lines):
        if index not in picked:
            assert cells(plain_line(line)) <= limit


@settings(max_examples=150, deadline=None)
@given(st.lists(raw_lines, max_size=12), st.sampled_from(["a", "A", "z4", "日", "É", " ", "ab\n"]))
def test_needle_finds_what_a_case_insensitive_regex_finds(lines: list[str], term: str) -> None:
    plains = [plain_line(line) for line in lines]
    needle = Needle(term)
    pattern = re.compile(re.escape(term), re.IGNORECASE)
    expected = [(i, m.start(), m.end()) for i, p in enumerate(plains) for m in pattern.finditer(p)]
    assert list(needle.hits(plains)) == expected
    assert needle.lines(plains) == sorted({i for i, _, _ in expected})


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.lists(st.integers(min_value=1, max_value=4), max_size=6))))
def test_row_index_agrees_with_a_plain_list(steps: list[tuple[bool, list[int]]]) -> None:
    index = RowIndex(wrapped=True)
    model: list[tuple[int, int]] = []  # (seq, rows)
    next_seq = 0
    for trim, heights in steps:
        if trim and model:
            cut = model[len(model) // 2][0]
            removed = [h for s, h in model if s < cut]
            assert index.trim_before(cut) == (len(removed), sum(removed))
            model = [(s, h) for s, h in model if s >= cut]
        seqs = list(range(next_seq, next_seq + 2 * len(heights), 2))  # gaps, as a filter leaves them
        next_seq += 2 * len(heights)
        index.append(seqs, heights)
        model += list(zip(seqs, heights, strict=True))
        assert len(index) == len(model)
        assert index.rows == sum(h for _, h in model)
        row = 0
        for position, (seq, height) in enumerate(model):
            assert index.seq(position) == seq
            assert index.index_of(seq) == position
            assert index.row_of(position) == row
            assert index.height(position) == height
            assert index.locate(row + height - 1) == (position, height - 1)
            row += height


def test_colour_state_follows_attribute_off_codes() -> None:
    carry = ColorCarry()
    lines = ["\x1b[1m\x1b[31mX\x1b[39m", "still bold", "\x1b[22mplain", "after"]
    prefixes = [carry.prefix(lambda a, b: lines[a:b], 0, seq) for seq in range(4)]
    assert prefixes == ["", "\x1b[1m", "\x1b[1m", ""]
    state: dict[str, str] = {}
    apply_sgr(state, "38;2;1;2;3")
    apply_sgr(state, "4")
    assert escape_for(state) == "\x1b[38;2;1;2;3;4m"
    apply_sgr(state, "0")
    assert escape_for(state) == ""
