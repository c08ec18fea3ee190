"""Plain-text, case-insensitive search and filter over log lines, kept up to date as lines come and go."""

from __future__ import annotations

import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from itertools import compress, repeat
from operator import contains
from typing import NamedTuple


class Hit(NamedTuple):
    """One match: the line's sequence number and character offsets in its plain text."""

    seq: int
    start: int
    end: int


_NEVER = re.compile(r"(?!)")


class Needle:
    """A search or filter term, any case: plain text, or a regular expression with ``regex``.

    Offsets it reports are those of the original text. ``inverse`` (a filter's ``!term``) keeps the
    lines that do not match. A regular expression that does not compile matches nothing and says why
    in ``error``.
    """

    def __init__(self, term: str, *, regex: bool = False, inverse: bool = False) -> None:
        self.term = term
        self.inverse = inverse
        self.error: str | None = None
        self._lower: str | None = None
        if "\n" in term:
            # A shown line never holds a newline, so a term with one can never match.
            self.pattern = _NEVER
        elif regex:
            try:
                self.pattern = re.compile(term, re.IGNORECASE)
            except re.error as exc:
                self.pattern, self.error = _NEVER, str(exc)
        else:
            self.pattern = re.compile(re.escape(term), re.IGNORECASE)
            self._lower = term.lower() if term.isascii() else None

    def lines(self, plains: Sequence[str]) -> list[int]:
        """Indices of the lines that match (that do not, when inverse)."""
        found = self._matching(plains)
        if not self.inverse:
            return found
        hit = set(found)
        return [index for index in range(len(plains)) if index not in hit]

    def _matching(self, plains: Sequence[str]) -> list[int]:
        """Indices of the lines that contain the term.

        For ASCII text, lowercasing keeps every offset and a plain substring test per line runs in C,
        which beats a case-insensitive regex by several times on a busy log.
        """
        if not plains:
            return []
        blob = "\n".join(plains)
        if self._lower is not None and blob.isascii():
            lowered = blob.lower().split("\n")
            if len(lowered) == len(plains):
                return list(compress(range(len(lowered)), map(contains, lowered, repeat(self._lower))))
        if self._lower is None and self.pattern is not _NEVER:
            # A regular expression could match across the joining newlines: test each line alone.
            search_line = self.pattern.search
            return [index for index, plain in enumerate(plains) if search_line(plain) is not None]
        found: list[int] = []
        search = self.pattern.search
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

    def hits(self, plains: Sequence[str]) -> Iterator[tuple[int, int, int]]:
        """(line index, start, end) of every hit, in order."""
        finditer = self.pattern.finditer
        for index in self.lines(plains):
            for match in finditer(plains[index]):
                if match.end() > match.start():  # an empty match (``x*``) highlights nothing
                    yield index, match.start(), match.end()

    def keep(self, seqs: Sequence[int], plains: Sequence[str]) -> tuple[list[int], list[str]]:
        """The lines (sequence numbers and plain texts) that contain the term."""
        kept = self.lines(plains)
        return [seqs[i] for i in kept], [plains[i] for i in kept]


class Matches:
    """Every hit of one term in the shown lines, oldest first, and which hit is current."""

    def __init__(self, term: str, *, regex: bool = False) -> None:
        self.term = term
        self.regex = regex
        self.needle = Needle(term, regex=regex)
        self.pattern = self.needle.pattern
        self.hits: list[Hit] = []
        self.current = -1  # index into hits, -1 when none is current

    def __len__(self) -> int:
        return len(self.hits)

    def add(self, seqs: Sequence[int], plains: Sequence[str]) -> None:
        """Record the hits in newly shown lines (which come after every line seen so far)."""
        self.hits.extend(Hit(seqs[line], start, end) for line, start, end in self.needle.hits(plains))

    def trim_before(self, seq: int) -> None:
        """Forget hits in lines older than ``seq``, keeping the current hit if it survives."""
        cut = bisect_left(self.hits, (seq,))
        if cut:
            del self.hits[:cut]
            if self.current >= 0:
                self.current = max(self.current - cut, 0) if self.hits else -1

    def retain(self, keep: set[int]) -> None:
        """Keep only the hits in lines whose sequence numbers are in ``keep``."""
        current = self.current_hit
        self.hits = [hit for hit in self.hits if hit.seq in keep]
        if current is not None:
            self.current = self.nearest(current) if self.hits else -1

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

    def nearest(self, hit: Hit) -> int:
        """Index of ``hit`` if it is still there, else of the next hit (or the first)."""
        index = bisect_left(self.hits, hit)
        return index if index < len(self.hits) else 0
