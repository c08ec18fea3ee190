"""Several LogBuffers read as one log in arrival order, without copying a line: what the merged view shows.

Lines are numbered by their arrival number (one clock shared by every buffer), so a merged line keeps its
number while others come and go. A source that drops its oldest lines leaves gaps inside the merged range;
the log view notices through ``gaps`` and removes them in batches.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from procdash.core.logbuffer import LogBuffer
from procdash.ui.widgets.logcolor import ColorCarry


@dataclass(eq=False)
class Source:
    """One buffer of the merged log and the text put before each of its lines (a coloured name)."""

    buffer: LogBuffer
    head: str = ""
    # A minor source (procdash's lifecycle lines beside one process's output) shows no line older than
    # the oldest output line still held once output was dropped: the output then drops lines only at
    # the front, never in between.
    minor: bool = False
    carry: ColorCarry = field(default_factory=ColorCarry)


class MergedLog:
    """A read-only log over several buffers; the LogView reads it like a LogBuffer with sparse numbers."""

    sparse = True

    def __init__(self, sources: Sequence[Source] = ()) -> None:
        self.sources: list[Source] = list(sources)
        self.version = 0  # bumped when the set of sources changes: the view starts over
        self.stamped = False  # every line starts with the time it arrived (the view toggles it)

    def set_sources(self, sources: Sequence[Source]) -> None:
        """Merge these buffers from now on (same buffers in the same order: nothing changes)."""
        if [(s.buffer, s.head) for s in sources] != [(s.buffer, s.head) for s in self.sources]:
            self.sources = list(sources)
            self.version += 1

    @property
    def first_seq(self) -> int:
        """The oldest arrival number shown: of the major sources when one holds lines, else of any."""
        held = [s.buffer.first_arrival for s in self.sources if len(s.buffer)]
        first = min(held) if held else self.next_seq
        major = [s.buffer for s in self.sources if not s.minor and len(s.buffer)]
        if major and any(buffer.dropped for buffer in major):
            # Output is gone before this point: lifecycle lines about that time go with it.
            return max(first, min(buffer.first_arrival for buffer in major))
        return first

    @property
    def next_seq(self) -> int:
        """One past the newest arrival number of any source."""
        return max((s.buffer.end_arrival for s in self.sources), default=0)

    @property
    def dropped(self) -> int:
        """Lines the sources dropped from their fronts."""
        return sum(s.buffer.dropped for s in self.sources)

    def __len__(self) -> int:
        return sum(len(s.buffer) for s in self.sources)

    def numbered(self, start: int, stop: int) -> tuple[list[int], list[str]]:
        """Arrival numbers and lines (with their heads) of every held line in [start, stop).

        Colours left open by earlier lines are not added here (their plain text is the same); ``get``,
        which drawing uses, adds them.
        """
        start = max(start, self.first_seq)
        runs: list[tuple[int, int, int, int]] = []
        for index, source in enumerate(self.sources):
            runs.extend((arrival, index, seq, count) for arrival, seq, count in source.buffer.runs(start, stop))
        runs.sort()
        seqs: list[int] = []
        lines: list[str] = []
        for arrival, index, seq, count in runs:
            seqs.extend(range(arrival, arrival + count))
            buffer = self.sources[index].buffer
            head = self.sources[index].head
            if self.stamped:
                head = stamp(buffer, seq) + head
            raws = buffer.slice(seq, seq + count)
            lines.extend([head + raw for raw in raws] if head else raws)
        return seqs, lines

    def tail(self, count: int) -> list[str]:
        """The newest ``count`` lines, oldest first (reads everything held: for tests and copying)."""
        return self.numbered(self.first_seq, self.next_seq)[1][-count:] if count > 0 else []

    def held(self, start: int, stop: int) -> set[int]:
        """Arrival numbers of every held line in [start, stop), without reading the lines (C-speed)."""
        start = max(start, self.first_seq)
        kept: set[int] = set()
        for source in self.sources:
            for arrival, _seq, count in source.buffer.runs(start, stop):
                kept.update(range(arrival, arrival + count))
        return kept

    @property
    def may_have_gaps(self) -> bool:
        """Whether lines can go from inside the shown range: only with two or more output sources."""
        return sum(1 for s in self.sources if not s.minor and len(s.buffer)) > 1

    def get(self, seq: int) -> str:
        """The line with this arrival number; IndexError if no source holds it."""
        for source in self.sources:
            for _arrival, local, _count in source.buffer.runs(seq, seq + 1):
                buffer = source.buffer
                prefix = source.carry.prefix(buffer.slice, buffer.first_seq, local)
                when = stamp(buffer, local) if self.stamped else ""
                return f"{when}{source.head}{prefix}{buffer.get(local)}"
        raise IndexError(seq)

    def time_of(self, seq: int) -> float | None:
        """When the line with this arrival number arrived, or None if no source holds it."""
        for source in self.sources:
            for _arrival, local, _count in source.buffer.runs(seq, seq + 1):
                return source.buffer.time_of(local)
        return None


def stamp(buffer: LogBuffer, seq: int) -> str:
    """The dim ``21:02:11`` a line starts with when timestamps are on: when its batch arrived."""
    return f"\x1b[2m{time.strftime('%H:%M:%S', time.localtime(buffer.time_of(seq)))}\x1b[22m "
