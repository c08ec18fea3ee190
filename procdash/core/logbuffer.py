"""A bounded ring of lines per process, addressed by sequence number so readers can resume."""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

DEFAULT_SCROLLBACK = 10_000
# A second bound, on characters: hostile output (thousands of 16 KiB cut pieces) must not hold
# scrollback x 16 KiB per process. Ordinary logs never come near it (10,000 lines of 100 characters
# are 1 M characters).
DEFAULT_MAX_CHARS = 16 * 1024 * 1024


# Marks of batches whose lines all fell off the front are deleted once this many have piled up.
_MARK_COMPACT_AT = 1024


class ArrivalClock:
    """Numbers every line any buffer receives, in arrival order, so buffers can be merged without copies."""

    def __init__(self) -> None:
        self.next = 0

    def take(self, count: int) -> int:
        """Reserve ``count`` consecutive numbers; returns the first."""
        first = self.next
        self.next = first + count
        return first


_now = time.time

# One clock for the whole process: every instance's buffer shares it, so their lines merge in order.
ARRIVALS = ArrivalClock()


class LogBuffer:
    """Keep the newest ``capacity`` lines (and at most ``max_chars`` characters); line N keeps number N.

    Each appended batch also records its arrival number (from a shared ``ArrivalClock``) and wall-clock
    time once, not per line: 24 bytes per batch in three arrays, so a merged view can interleave buffers
    by arrival and a pane can show when every line arrived.
    """

    def __init__(
        self, capacity: int = DEFAULT_SCROLLBACK, max_chars: int = DEFAULT_MAX_CHARS, clock: ArrivalClock = ARRIVALS
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.max_chars = max_chars
        self.clock = clock
        self._mark_seq = array("q")  # first sequence number of each batch
        self._mark_arrival = array("q")  # arrival number of that line
        self._mark_time = array("d")  # time.time() when the batch arrived
        self._mark_lo = 0  # marks before this index describe only dropped lines
        self._ring: list[str] = []
        self._head = 0  # index in _ring of the oldest slot once the ring is full
        self._emptied = 0  # oldest slots (from _head on) emptied to stay within max_chars
        self._chars = 0  # characters held
        self.next_seq = 0  # sequence number the next appended line will get
        self.dropped = 0  # lines that fell off the front to make room

    @property
    def first_seq(self) -> int:
        """Sequence number of the oldest line still held."""
        return self.next_seq - len(self._ring) + self._emptied

    def __len__(self) -> int:
        return len(self._ring) - self._emptied

    def extend(self, lines: Iterable[str]) -> None:
        """Append lines in order, overwriting the oldest once full."""
        batch = lines if isinstance(lines, list) else list(lines)
        if not batch:
            return
        clock = self.clock
        self._mark_seq.append(self.next_seq)
        self._mark_arrival.append(clock.next)
        clock.next += len(batch)  # ArrivalClock.take, inlined: this runs once per read
        self._mark_time.append(_now())
        ring = self._ring
        cap = self.capacity
        self.next_seq += len(batch)
        self._chars += sum(map(len, batch))
        room = cap - len(ring)
        if room > 0:
            ring.extend(batch[:room])
            batch = batch[room:]
        if len(batch) >= cap:
            # Only the newest ``cap`` lines of an oversized batch can survive.
            self.dropped += len(batch) - cap + len(ring) - self._emptied
            self._ring = batch[-cap:]
            self._head = self._emptied = 0
            self._chars = sum(map(len, self._ring))
        elif batch:
            # The ring is full here: overwrite the oldest slots with at most two slice assignments.
            head = self._head
            count = len(batch)
            first = min(count, cap - head)
            self._chars -= sum(map(len, ring[head : head + first])) + sum(map(len, ring[: count - first]))
            ring[head : head + first] = batch[:first]
            if count > first:
                ring[: count - first] = batch[first:]
            reused = min(count, self._emptied)
            self._emptied -= reused
            self.dropped += count - reused
            self._head = (head + count) % cap
        if self._chars > self.max_chars:
            self._shed()
        lo = self._mark_lo + 1
        if lo < len(self._mark_seq) and self._mark_seq[lo] <= self.next_seq - len(self._ring) + self._emptied:
            self._trim_marks()

    def _trim_marks(self) -> None:
        """Forget the marks of batches that are wholly dropped (lazily, in chunks)."""
        first = self.first_seq
        self._mark_lo = max(self._mark_lo, bisect_right(self._mark_seq, first, self._mark_lo) - 1)
        if self._mark_lo >= _MARK_COMPACT_AT:
            del self._mark_seq[: self._mark_lo]
            del self._mark_arrival[: self._mark_lo]
            del self._mark_time[: self._mark_lo]
            self._mark_lo = 0

    def _mark_index(self, seq: int) -> int:
        """Index of the mark of the batch holding line ``seq`` (which must be held)."""
        return bisect_right(self._mark_seq, seq, self._mark_lo) - 1

    def arrival_of(self, seq: int) -> int:
        """The arrival number of a held line."""
        index = self._mark_index(seq)
        return self._mark_arrival[index] + seq - self._mark_seq[index]

    def time_of(self, seq: int) -> float:
        """When a held line arrived (``time.time()``; lines of one read share it)."""
        return self._mark_time[self._mark_index(seq)]

    @property
    def first_arrival(self) -> int:
        """Arrival number of the oldest held line (the clock's next number when empty)."""
        return self.arrival_of(self.first_seq) if len(self) else self.clock.next

    @property
    def end_arrival(self) -> int:
        """One past the arrival number of the newest line (0 before the first)."""
        if not self._mark_seq:
            return 0
        return self._mark_arrival[-1] + self.next_seq - self._mark_seq[-1]

    def runs(self, start: int, stop: int) -> list[tuple[int, int, int]]:
        """(first arrival, first sequence number, count) of each batch piece held with arrivals in [start, stop)."""
        if not len(self):
            return []
        first = self.first_seq
        marks, arrivals = self._mark_seq, self._mark_arrival
        lo = max(self._mark_lo, bisect_right(arrivals, start, self._mark_lo) - 1)
        hi = bisect_left(arrivals, stop, lo)
        out: list[tuple[int, int, int]] = []
        last = len(marks) - 1
        for index in range(lo, hi):
            seq, arrival = marks[index], arrivals[index]
            end = marks[index + 1] if index < last else self.next_seq
            if seq < first:
                arrival += first - seq
                seq = first
            if arrival < start:
                seq += start - arrival
                arrival = start
            end = min(end, seq + stop - arrival)
            if end > seq:
                out.append((arrival, seq, end - seq))
        return out

    def _shed(self) -> None:
        """Drop the oldest lines until the characters held fit the budget (the newest line always stays)."""
        ring = self._ring
        size = len(ring)
        while self._chars > self.max_chars and size - self._emptied > 1:
            index = (self._head + self._emptied) % size
            self._chars -= len(ring[index])
            ring[index] = ""
            self._emptied += 1
            self.dropped += 1

    def append(self, line: str) -> None:
        """Append one line."""
        self.extend([line])

    def get(self, seq: int) -> str:
        """Return the line with this sequence number; IndexError if dropped or not yet written."""
        offset = seq - self.first_seq
        if not 0 <= offset < len(self):
            raise IndexError(seq)
        return self._ring[(self._head + self._emptied + offset) % len(self._ring)]

    def slice(self, start: int, stop: int) -> list[str]:
        """Lines with sequence numbers in [start, stop), clipped to what is held."""
        first = self.first_seq
        start = max(start, first)
        stop = min(stop, self.next_seq)
        if start >= stop:
            return []
        size = len(self._ring)
        begin = (self._head + self._emptied + start - first) % size
        count = stop - start
        end = begin + count
        if end <= size:
            return self._ring[begin:end]
        return self._ring[begin:] + self._ring[: end - size]

    def tail(self, count: int) -> list[str]:
        """The newest ``count`` lines, oldest first."""
        return self.slice(self.next_seq - count, self.next_seq)

    def clear(self) -> None:
        """Forget every held line (not counted as dropped); sequence numbers keep counting."""
        self._ring = []
        self._head = self._emptied = self._chars = 0
        self._mark_lo = len(self._mark_seq)
