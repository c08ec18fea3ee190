"""Stored log lines to Strips: SGR colours parsed straight into segments, search marks and wrap cuts."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from procdash.ui.widgets.logcolor import SGR, apply_sgr, escape_for
from procdash.ui.widgets.logtext import cells, clean, expand_tabs, wrap_starts

Mark = tuple[int, int, Style]  # (start, end) character offsets in the plain text, and the style on top


class LineRenderer:
    """Turns raw lines into Strips, with one cached rich Style per distinct colour state it meets.

    Parsing goes straight from escapes to segments (no rich Text in between), because this is the
    cost paid for every new line that scrolls into view while following a busy process.
    """

    MAX_STYLES = 4096

    def __init__(self) -> None:
        self._styles: dict[str, Style | None] = {"": None}

    def style(self, escape: str) -> Style | None:
        """The rich style an SGR escape (from the default state) stands for; None for the default."""
        try:
            return self._styles[escape]
        except KeyError:
            pass
        spans = Text.from_ansi(escape + "x").spans
        style = spans[0].style if spans and isinstance(spans[0].style, Style) else None
        if len(self._styles) >= self.MAX_STYLES:
            self._styles = {"": None}
        self._styles[escape] = style
        return style

    def line(self, raw: str, prefix: str = "") -> tuple[Strip, str]:
        """One whole line as a strip (colours kept, tabs expanded) and its plain text.

        ``prefix`` is the escape still open from earlier lines; the plain text equals ``plain_line(raw)``.
        """
        text = clean(raw)
        if "\x1b" not in text and not prefix:
            plain = expand_tabs(text)
            return Strip([Segment(plain)] if plain else [], cells(plain)), plain
        state: dict[str, str] = {}
        for match in SGR.finditer(prefix):
            apply_sgr(state, match.group(1))
        style = self.style(escape_for(state))
        segments: list[Segment] = []
        pieces: list[str] = []
        column = 0
        for index, part in enumerate(SGR.split(text)):
            if index % 2:
                apply_sgr(state, part)
                style = self.style(escape_for(state))
            elif part:
                if "\t" in part:
                    part = expand_tabs(part, column)
                column += cells(part)
                segments.append(Segment(part, style))
                pieces.append(part)
        return Strip(segments, column), "".join(pieces)


def mark(strip: Strip, plain: str, marks: Sequence[Mark]) -> Strip:
    """The strip with each (non-overlapping, ordered) marked span restyled on top of its own colours."""
    total = strip.cell_length
    styles: dict[int, Style] = {}
    cuts: set[int] = set()
    done = 0
    column = 0
    for start, end, style in marks:
        column += cells(plain[done:start])
        width = cells(plain[start:end])
        if width:
            styles[column] = style
            cuts.update((column, column + width))
        column += width
        done = end
    ordered = sorted(cut for cut in cuts if 0 < cut < total)
    ordered.append(total)
    out: list[Strip] = []
    position = 0
    for piece, cut in zip(strip.divide(ordered), ordered, strict=True):
        on_top = styles.get(position)
        if on_top is not None:
            piece = Strip(Segment.apply_style(piece, post_style=on_top), piece.cell_length)
        out.append(piece)
        position = cut
    return Strip.join(out)


def wrap(strip: Strip, plain: str, width: int) -> list[Strip]:
    """The strip cut into rows of at most ``width`` cells where ``wrap_starts`` says rows begin."""
    starts = wrap_starts(plain, width)
    if len(starts) == 1:
        return [strip]
    cuts: list[int] = []
    column = 0
    for before, start in pairwise(starts):
        column += cells(plain[before:start])
        cuts.append(column)
    cuts.append(strip.cell_length)
    rows = list(strip.divide(cuts))
    # A zero-width segment at the very end (a combining mark after a colour change) falls past the
    # last cut and is dropped by divide(); it belongs to the last row.
    lost = len(strip.text) - sum(len(row.text) for row in rows)
    if lost > 0:
        tail: list[Segment] = []
        for segment in reversed(list(strip)):
            if lost <= 0:
                break
            text = segment.text[-lost:]
            tail.insert(0, Segment(text, segment.style, segment.control))
            lost -= len(text)
        rows[-1] = Strip([*rows[-1], *tail], rows[-1].cell_length)
    return rows
