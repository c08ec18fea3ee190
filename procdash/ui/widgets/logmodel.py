"""What a log pane shows of a LogBuffer: which lines, the rows each takes, search hits and drawn rows."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from rich.style import Style
from textual.cache import LRUCache
from textual.strip import Strip

from procdash.core.lines import strip_sgr
from procdash.core.logbuffer import LogBuffer
from procdash.ui.widgets.logcolor import ColorCarry
from procdash.ui.widgets.logmerge import MergedLog
from procdash.ui.widgets.logrows import RowIndex
from procdash.ui.widgets.logsearch import Hit, Matches, Needle
from procdash.ui.widgets.logstrip import LineRenderer, Mark, mark, wrap
from procdash.ui.widgets.logtext import cells, clean, plain_lines, row_count, row_counts, wide_candidates, wrap_starts

Place = tuple[int, int]  # (line sequence number, row within that line)
Log = LogBuffer | MergedLog
# A merged log's gaps (lines its sources dropped) are removed once this many may have appeared, or half
# the shown lines: each removal walks every shown line, so batching keeps it O(1) per line.
GAP_BATCH = 512


class LogModel:
    """Everything about a log view except scrolling, kept in step with its buffer at O(new lines).

    Rows here count from the first shown line; the view adds ``header`` (the "lines dropped" notice).
    """

    # A few screens of drawn lines. Each cached Strip carries Textual's own per-strip caches (a handful of
    # container objects), so a bigger cache mostly buys longer garbage-collector passes under a flood.
    LINE_CACHE = 256
    STRIP_CACHE = 256

    def __init__(self) -> None:
        self.buffer: Log | None = None
        self._gaps_at = 0  # the merged log's dropped count when gaps were last removed
        self.rows = RowIndex()
        self.seen = 0  # every line before this sequence number has been taken in
        self.first = 0  # the buffer's first_seq when last looked at
        self.clear_seq = 0  # lines before this are hidden by clear_view
        self.wrap_width: int | None = None  # None: no wrap
        self.max_cells = 0  # widest shown line that is wider than the view (0 when all fit)
        self.measured_for = 0  # view width lines were measured against since the last rebuild
        self.filter_term: str | None = None
        self.matches: Matches | None = None
        self._filter: Needle | None = None
        self._search_version = 0
        self._carry = ColorCarry()
        self._renderer = LineRenderer()
        self._lines: LRUCache[int, tuple[Strip, str]] = LRUCache(self.LINE_CACHE)
        self._strips: LRUCache[tuple[int, int, int, int], list[Strip]] = LRUCache(self.STRIP_CACHE)

    # ----- state -------------------------------------------------------------------------------------

    def reset(self, buffer: Log | None, wrap_width: int | None) -> None:
        """Start over on ``buffer`` with nothing taken in, no filter, search or clear mark."""
        self.buffer = buffer
        self._gaps_at = buffer.dropped if buffer is not None else 0
        self.seen = self.first = buffer.first_seq if buffer is not None else 0
        self.clear_seq = 0
        self.filter_term = self._filter = None
        self.matches = None
        self._search_version += 1
        self._carry.reset()
        self._lines.clear()
        self._strips.clear()
        self.wrap_width = wrap_width
        self.rows = RowIndex(wrap_width is not None)
        self.max_cells = self.measured_for = 0

    @property
    def dropped(self) -> int:
        """Lines that would be shown but fell out of the buffer's scrollback."""
        if self.buffer is None:
            return 0
        return min(self.buffer.dropped, max(0, self.first - self.clear_seq))

    @property
    def header(self) -> int:
        """Rows above the first line: one for the "lines dropped" notice when there is one."""
        return 1 if self.dropped else 0

    @property
    def height(self) -> int:
        """Rows of the whole view, notice included."""
        return self.header + self.rows.rows

    @property
    def width(self) -> int:
        """Columns of the scroll range (0 when every line fits the view)."""
        return self.wrap_width if self.wrap_width is not None else self.max_cells

    def stale(self) -> bool:
        """Whether the buffer changed since the last update."""
        buffer = self.buffer
        return buffer is not None and (buffer.next_seq != self.seen or buffer.first_seq != self.first)

    def update(self, limit: int) -> tuple[int, int]:
        """Take in new lines and forget dropped ones; returns (lines shown, rows removed at the front).

        ``limit`` is the view's text width: lines that surely fit it are not measured.
        """
        buffer = self.buffer
        if buffer is None:
            return 0, 0
        first, end = buffer.first_seq, buffer.next_seq
        removed = 0
        if first != self.first:
            self.first = first
            _lines, removed = self.rows.trim_before(first)
            if self.matches is not None:
                self.matches.trim_before(first)
        start = max(self.seen, first)
        added = self._take(*self._numbered(start, end), limit)
        self.seen = end
        if isinstance(buffer, MergedLog) and buffer.dropped - self._gaps_at > max(GAP_BATCH, len(self.rows) // 2):
            if buffer.may_have_gaps:
                removed += self._remove_gaps(buffer)
            else:
                self._gaps_at = buffer.dropped  # one output source drops only at the front
        return added, removed

    def _numbered(self, start: int, stop: int) -> tuple[Sequence[int], list[str]]:
        """Sequence numbers and lines held in [start, stop): a plain buffer's are consecutive."""
        buffer = self.buffer
        if buffer is None:
            return [], []
        if isinstance(buffer, MergedLog):
            return buffer.numbered(start, stop)
        lines = buffer.slice(start, stop)
        begin = max(start, buffer.first_seq)
        return range(begin, begin + len(lines)), lines

    def _remove_gaps(self, buffer: MergedLog) -> int:
        """Forget shown lines whose source dropped them; returns the rows removed."""
        self._gaps_at = buffer.dropped
        seqs = self.rows.seqs()
        if not seqs:
            return 0
        keep = buffer.held(seqs[0], seqs[-1] + 1)
        if self.matches is not None:
            self.matches.retain(keep)
        return self.rows.retain(keep)

    def rebuild(self, wrap_width: int | None, limit: int) -> None:
        """Recompute the shown lines from the buffer (filter, clear mark or wrap width changed)."""
        current = self.matches.current_hit if self.matches is not None else None
        if self.matches is not None:
            self.matches = Matches(self.matches.term, regex=self.matches.regex)
        self.wrap_width = wrap_width
        self.rows = RowIndex(wrap_width is not None)
        self.max_cells = self.measured_for = 0
        buffer = self.buffer
        if buffer is not None:
            self.first = buffer.first_seq
            start = max(self.first, self.clear_seq)
            self._take(*self._numbered(start, self.seen), limit)
        if self.matches is not None and current is not None and self.matches.hits:
            self.matches.current = self.matches.nearest(current)

    def set_filter(self, term: str | None, *, regex: bool = False) -> None:
        """Remember a filter (call ``rebuild`` next); None or "" shows every line, ``!term`` the others."""
        self.filter_term = term or None
        inverse = bool(term) and term is not None and term.startswith("!") and len(term) > 1
        needle = term[1:] if inverse and term else term
        self._filter = Needle(needle, regex=regex, inverse=inverse) if needle else None

    @property
    def filter_error(self) -> str | None:
        """Why the filter's regular expression does not compile, if it does not."""
        return self._filter.error if self._filter is not None else None

    def set_search(self, term: str | None, *, regex: bool = False) -> int:
        """Find every hit of ``term`` in the shown lines; returns how many."""
        self._search_version += 1
        if not term:
            self.matches = None
            return 0
        self.matches = Matches(term, regex=regex)
        seqs, lines = self.shown()
        self.matches.add(seqs, plain_lines(lines)[0])
        return len(self.matches)

    def forget_styles(self) -> None:
        """Drop drawn rows (the theme changed, and search colours are baked into them)."""
        self._strips.clear()

    def forget_drawn(self) -> None:
        """Drop every cached drawing and colour state, as if no line had been drawn yet."""
        self._strips.clear()
        self._lines.clear()
        self._carry.reset()

    def _take(self, seqs: Sequence[int], lines: list[str], limit: int) -> int:
        """Show the lines (numbered ``seqs``) that pass the filter; returns how many are shown.

        Without a filter or search only lines that might not fit the view are looked at closely: the rest
        take one row each and cannot widen the horizontal scroll range.
        """
        if not lines:
            return 0
        wrap_width = self.wrap_width
        if wrap_width is not None:
            limit = wrap_width
        self.measured_for = max(self.measured_for, limit)
        picked: Sequence[int]
        if self._filter is None and self.matches is None:
            picked = wide_candidates(lines, limit)
            plains, ascii_only = plain_lines([lines[i] for i in picked])
        else:
            plains, ascii_only = plain_lines(lines)
            if self._filter is not None:
                seqs, plains = self._filter.keep(seqs, plains)
                if not seqs:
                    return 0
            if self.matches is not None:
                self.matches.add(seqs, plains)
            picked = range(len(seqs))
        if wrap_width is not None:
            if len(picked) == len(seqs):
                counts = row_counts(plains, wrap_width, ascii_only)
            else:
                counts = [1] * len(seqs)
                for index, plain in zip(picked, plains, strict=True):
                    counts[index] = row_count(plain, wrap_width)
            self.rows.append(seqs, counts)
        else:
            self.rows.append(seqs)
            if plains:
                widest = max(map(len, plains)) if ascii_only else max(map(cells, plains))
                self.max_cells = max(self.max_cells, widest)
        return len(seqs)

    # ----- lines and rows ----------------------------------------------------------------------------

    def shown(self) -> tuple[list[int], list[str]]:
        """Sequence numbers and raw text of every shown line (right after an update)."""
        seqs = self.rows.seqs()
        if not seqs or self.buffer is None:
            return [], []
        held, raws = self._numbered(seqs[0], seqs[-1] + 1)
        if len(raws) == len(seqs):
            return seqs, raws
        if isinstance(held, range):
            return seqs, [raws[seq - held.start] for seq in seqs]
        by_seq = dict(zip(held, raws, strict=True))
        shown = [seq for seq in seqs if seq in by_seq]
        return shown, [by_seq[seq] for seq in shown]

    def place(self, row: int) -> Place | None:
        """The line and row within it at a content row (header excluded), or None past the end."""
        if not 0 <= row < self.rows.rows:
            return None
        index, part = self.rows.locate(row)
        return self.rows.seq(index), part

    def row_of(self, place: Place) -> int | None:
        """The content row of a line (and row within it) if the line is shown."""
        seq, part = place
        rows = self.rows
        index = rows.index_of(seq)
        if index >= len(rows) or rows.seq(index) != seq:
            return None
        return rows.row_of(index) + min(part, rows.height(index) - 1)

    def next_row(self, seq: int) -> int:
        """The content row of the first shown line at or after ``seq`` (rows.rows if none)."""
        index = self.rows.index_of(seq)
        return self.rows.row_of(index) if index < len(self.rows) else self.rows.rows

    def raw(self, seq: int) -> str | None:
        """The stored text of a line, or None once the buffer dropped it."""
        if self.buffer is None:
            return None
        try:
            return self.buffer.get(seq)
        except IndexError:
            return None

    def line(self, seq: int) -> tuple[Strip, str] | None:
        """A line drawn whole (colours, tabs) and its plain text, cached."""
        cached = self._lines.get(seq)
        if cached is None:
            raw = self.raw(seq)
            if raw is None:
                return None
            buffer = self.buffer
            assert buffer is not None
            # A merged line comes with the colours its own source left open.
            prefix = "" if isinstance(buffer, MergedLog) else self._carry.prefix(buffer.slice, buffer.first_seq, seq)
            cached = self._renderer.line(raw, prefix)
            self._lines[seq] = cached
        return cached

    def row_strip(self, row: int, hit_style: Style, current_style: Style) -> Strip | None:
        """The strip of one content row (None past the end), with search hits marked."""
        place = self.place(row)
        if place is None:
            return None
        seq, part = place
        matches = self.matches
        current = matches.current_hit if matches is not None else None
        current_start = current.start if current is not None and current.seq == seq else -1
        key = (seq, self.wrap_width or 0, self._search_version, current_start)
        strips = self._strips.get(key)
        if strips is None:
            drawn = self.line(seq)
            if drawn is None:
                return None
            strip, plain = drawn
            if matches is not None:
                marks: list[Mark] = [
                    (hit.start(), hit.end(), current_style if hit.start() == current_start else hit_style)
                    for hit in matches.pattern.finditer(plain)
                ]
                if marks:
                    strip = mark(strip, plain, marks)
            strips = [strip] if self.wrap_width is None else wrap(strip, plain, self.wrap_width)
            self._strips[key] = strips
        return strips[part] if part < len(strips) else None

    def hit_place(self, hit: Hit) -> tuple[int, int, int] | None:
        """(content row, first column, end column) of a hit, or None if its line is not shown."""
        row = self.row_of((hit.seq, 0))
        raw = self.raw(hit.seq)
        if row is None or raw is None:
            return None
        drawn = self.line(hit.seq)
        assert drawn is not None
        plain = drawn[1]
        line_start = 0
        if self.wrap_width is not None:
            starts = wrap_starts(plain, self.wrap_width)
            part = bisect_right(starts, hit.start) - 1
            row += part
            line_start = starts[part]
        column = cells(plain[line_start : hit.start])
        return row, column, column + cells(plain[hit.start : hit.end])

    def step_target(self, forward: bool, top: int, bottom: int) -> int | None:
        """The hit n (or N) moves to, given the content rows on screen; None when there are no hits.

        From a current hit on screen it is the next (previous) one; otherwise the first hit from the top
        of the screen (the last up to its bottom), so n after scrolling finds what is in front of you.
        """
        matches = self.matches
        if matches is None or not matches.hits:
            return None
        count = len(matches.hits)
        current = matches.current_hit
        if current is not None:
            place = self.hit_place(current)
            if place is not None and top <= place[0] <= bottom:
                return (matches.current + (1 if forward else -1)) % count
        last_row = self.rows.rows - 1
        edge = self.place(min(max(top if forward else bottom, 0), last_row))
        seq = edge[0] if edge is not None else self.seen
        return (matches.first_from(seq) if forward else matches.last_until(seq)) % count

    def plain_text(self, rows: range) -> list[str]:
        """Each line that has a row in ``rows`` (content rows), whole, without escapes, oldest first."""
        out: list[str] = []
        last = -1
        for row in rows:
            place = self.place(row)
            if place is None:
                break
            if place[0] == last:
                continue
            last = place[0]
            raw = self.raw(last)
            if raw is not None:
                out.append(strip_sgr(clean(raw)))
        return out
