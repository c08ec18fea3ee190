"""Plain-text, case-insensitive search and filter over log lines, kept up to date as lines come and go."""

from __future__ import annotations

import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from typing import NamedTuple


class Hit(NamedTuple):
    """One match: the line's sequence number and character offsets in its plain text."""

    seq: int
    start: int
    end: int


_NEVER = re.compile(r"(?!)")


def compile_term(term: str) -> re.Pattern[str]:
    """A pattern matching ``term`` literally, ignoring case (offsets stay those of the original text)."""
    if "\n" in term:
        return _NEVER  # a shown line never holds a newline
    return re.compile(re.escape(term), re.IGNORECASE)


def line_hits(pattern: re.Pattern[str], plains: Sequence[str]) -> Iterator[tuple[int, int, int]]:
    """(line index, start, end) of every hit, found in one pass over the joined lines."""
    blob = "\n".join(plains)
    line = 0
    last = 0
    for match in pattern.finditer(blob):
        at = match.start()
        line += blob.count("\n", last, at)
        last = at
        line_start = blob.rfind("\n", 0, at) + 1
        yield line, at - line_start, match.end() - line_start


def matching_lines(pattern: re.Pattern[str], plains: Sequence[str]) -> list[int]:
    """Indices of the lines that contain the pattern, skipping the rest of a line after its first hit."""
    blob = "\n".join(plains)
    found: list[int] = []
    search = pattern.search
    line = 0
    pos = 0
    while (match := search(blob, pos)) is not None:
        at = match.start()
        line += blob.count("\n", pos, at)
        found.append(line)
        pos = blob.find("\n", at) + 1
        if pos == 0:
            break
        line += 1
    return found


def keep_matching(pattern: re.Pattern[str], seqs: Sequence[int], plains: Sequence[str]) -> tuple[list[int], list[str]]:
    """The lines (sequence numbers and plain texts) that contain the pattern."""
    kept = matching_lines(pattern, plains)
    return [seqs[i] for i in kept], [plains[i] for i in kept]


class Matches:
    """Every hit of one term in the shown lines, oldest first, and which hit is current."""

    def __init__(self, term: str) -> None:
        self.term = term
        self.pattern = compile_term(term)
        self.hits: list[Hit] = []
        self.current = -1  # index into hits, -1 when none is current

    def __len__(self) -> int:
        return len(self.hits)

    def add(self, seqs: Sequence[int], plains: Sequence[str]) -> None:
        """Record the hits in newly shown lines (which come after every line seen so far)."""
        self.hits.extend(Hit(seqs[line], start, end) for line, start, end in line_hits(self.pattern, plains))

    def trim_before(self, seq: int) -> None:
        """Forget hits in lines older than ``seq``, keeping the current hit if it survives."""
        cut = bisect_left(self.hits, (seq,))
        if cut:
            del self.hits[:cut]
            if self.current >= 0:
                self.current = max(self.current - cut, 0) if self.hits else -1

    @property
    def current_hit(self) -> Hit | None:
        """The hit n/N last moved to, if any."""
        return self.hits[self.current] if 0 <= self.current < len(self.hits) else None

    def first_from(self, seq: int) -> int:
        """Index of the first hit in line ``seq`` or later (len() when there is none)."""
        return bisect_left(self.hits, (seq,))

    def last_until(self, seq: int) -> int:
        """Index of the last hit in line ``seq`` or earlier (-1 when there is none)."""
        return bisect_right(self.hits, (seq, sys.maxsize)) - 1

    def in_line(self, seq: int) -> list[Hit]:
        """The hits in one line, in order."""
        return self.hits[self.first_from(seq) : self.first_from(seq + 1)]
