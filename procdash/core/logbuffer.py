"""A bounded ring of lines per process, addressed by sequence number so readers can resume."""

from __future__ import annotations

from collections.abc import Iterable

DEFAULT_SCROLLBACK = 10_000


class LogBuffer:
    """Keep the newest ``capacity`` lines; line N keeps sequence number N forever, older ones count as dropped."""

    def __init__(self, capacity: int = DEFAULT_SCROLLBACK) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._ring: list[str] = []
        self._head = 0  # index in _ring of the oldest line once the ring is full
        self.next_seq = 0  # sequence number the next appended line will get
        self.dropped = 0  # lines that fell off the front to make room

    @property
    def first_seq(self) -> int:
        """Sequence number of the oldest line still held."""
        return self.next_seq - len(self._ring)

    def __len__(self) -> int:
        return len(self._ring)

    def extend(self, lines: Iterable[str]) -> None:
        """Append lines in order, overwriting the oldest once full."""
        batch = lines if isinstance(lines, list) else list(lines)
        ring = self._ring
        cap = self.capacity
        self.next_seq += len(batch)
        room = cap - len(ring)
        if room > 0:
            ring.extend(batch[:room])
            batch = batch[room:]
        if len(batch) >= cap:
            # Only the newest ``cap`` lines of an oversized batch can survive.
            self.dropped += len(batch) - cap + len(ring)
            self._ring = batch[-cap:]
            self._head = 0
            return
        # The ring is full here: overwrite the oldest lines with at most two slice assignments.
        head = self._head
        count = len(batch)
        first = min(count, cap - head)
        ring[head : head + first] = batch[:first]
        if count > first:
            ring[: count - first] = batch[first:]
        self.dropped += count
        self._head = (head + count) % cap

    def append(self, line: str) -> None:
        """Append one line."""
        self.extend([line])

    def get(self, seq: int) -> str:
        """Return the line with this sequence number; IndexError if dropped or not yet written."""
        offset = seq - self.first_seq
        if not 0 <= offset < len(self._ring):
            raise IndexError(seq)
        return self._ring[(self._head + offset) % len(self._ring)]

    def slice(self, start: int, stop: int) -> list[str]:
        """Lines with sequence numbers in [start, stop), clipped to what is held."""
        first = self.first_seq
        start = max(start, first)
        stop = min(stop, self.next_seq)
        if start >= stop:
            return []
        size = len(self._ring)
        begin = (self._head + start - first) % size
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
        self._head = 0
