"""A bounded ring of lines per process, addressed by sequence number so readers can resume."""

from __future__ import annotations

from collections.abc import Iterable

DEFAULT_SCROLLBACK = 10_000
# A second bound, on characters: hostile output (thousands of 16 KiB cut pieces) must not hold
# scrollback x 16 KiB per process. Ordinary logs never come near it (10,000 lines of 100 characters
# are 1 M characters).
DEFAULT_MAX_CHARS = 16 * 1024 * 1024


class LogBuffer:
    """Keep the newest ``capacity`` lines (and at most ``max_chars`` characters); line N keeps number N."""

    def __init__(self, capacity: int = DEFAULT_SCROLLBACK, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.max_chars = max_chars
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
