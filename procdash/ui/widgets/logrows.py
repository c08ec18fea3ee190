"""The lines a log view shows (by sequence number) and where each starts on screen, updated incrementally."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate

_COMPACT_AT = 4096


class RowIndex:
    """Shown lines oldest first; in wrap mode also the running total of rows, so a row is found by bisection.

    Lines only ever join at the end and leave at the front, so both are amortised O(1) per line; the
    front is cut lazily with an offset, and the lists are compacted once the dead prefix grows.
    """

    def __init__(self, wrapped: bool = False) -> None:
        self._seqs: list[int] = []
        self._ends: list[int] | None = [] if wrapped else None  # rows through line i, counted from the start
        self._lo = 0  # index of the first line still shown
        self._base = 0  # rows taken by lines before _lo

    @property
    def wrapped(self) -> bool:
        """Whether lines may take more than one row."""
        return self._ends is not None

    def __len__(self) -> int:
        return len(self._seqs) - self._lo

    @property
    def rows(self) -> int:
        """Screen rows all shown lines take."""
        if self._ends is None:
            return len(self)
        return (self._ends[-1] if self._ends else self._base) - self._base

    def seq(self, index: int) -> int:
        """Sequence number of the shown line at ``index``."""
        return self._seqs[self._lo + index]

    def seqs(self) -> list[int]:
        """Sequence numbers of every shown line, oldest first."""
        return self._seqs[self._lo :]

    def append(self, seqs: Iterable[int], rows: Sequence[int] | None = None) -> None:
        """Add lines at the end; ``rows`` (one count per line) is required in wrap mode."""
        self._seqs.extend(seqs)
        if self._ends is not None:
            assert rows is not None
            total = accumulate(rows, initial=self._ends[-1] if self._ends else self._base)
            next(total)
            self._ends.extend(total)

    def index_of(self, seq: int) -> int:
        """Index of the first shown line whose sequence number is ``seq`` or later (len() if none)."""
        return bisect_left(self._seqs, seq, self._lo) - self._lo

    def row_of(self, index: int) -> int:
        """First row of the shown line at ``index``."""
        if self._ends is None:
            return index
        at = self._lo + index
        return (self._ends[at - 1] if at > self._lo else self._base) - self._base

    def height(self, index: int) -> int:
        """Rows the shown line at ``index`` takes."""
        if self._ends is None:
            return 1
        at = self._lo + index
        return self._ends[at] - (self._ends[at - 1] if at > self._lo else self._base)

    def locate(self, row: int) -> tuple[int, int]:
        """(line index, row within that line) of a row; the row must be below ``rows``."""
        if self._ends is None:
            return row, 0
        target = row + self._base
        at = bisect_right(self._ends, target, self._lo)
        start = self._ends[at - 1] if at > self._lo else self._base
        return at - self._lo, target - start

    def trim_before(self, seq: int) -> tuple[int, int]:
        """Forget lines older than ``seq``; returns (lines, rows) removed."""
        cut = bisect_left(self._seqs, seq, self._lo)
        lines = cut - self._lo
        if lines <= 0:
            return 0, 0
        rows = lines
        if self._ends is not None:
            new_base = self._ends[cut - 1]
            rows = new_base - self._base
            self._base = new_base
        self._lo = cut
        if self._lo >= _COMPACT_AT and self._lo * 2 >= len(self._seqs):
            del self._seqs[: self._lo]
            if self._ends is not None:
                del self._ends[: self._lo]
            self._lo = 0
        return lines, rows

    def retain(self, keep: set[int]) -> int:
        """Keep only the lines whose sequence numbers are in ``keep``; returns the rows removed."""
        seqs = self._seqs[self._lo :]
        before = self.rows
        if self._ends is None:
            self._seqs = [seq for seq in seqs if seq in keep]
        else:
            ends = self._ends[self._lo :]
            heights = [end - start for start, end in zip([self._base, *ends[:-1]], ends, strict=True)]
            kept = [(seq, height) for seq, height in zip(seqs, heights, strict=True) if seq in keep]
            self._seqs = [seq for seq, _height in kept]
            self._ends = list(accumulate(height for _seq, height in kept))
        self._lo = self._base = 0
        return before - self.rows
