"""How often the dashboard's second takes a CPU and memory reading: each second while anything moves."""

from __future__ import annotations

from collections.abc import Hashable

from procdash.core.stats import Snapshot

# Readings in a row that showed nothing new before the sampler slows down, and then one reading in how many seconds.
STILL_AFTER = 5
STILL_EVERY = 2


def still_key(snapshot: Snapshot) -> Hashable:
    """What a reading shows: every instance's CPU to the table's tenth of a percent, its memory, processes and ports."""
    return tuple(
        (name, round(usage.cpu_percent, 1), usage.rss, usage.processes, usage.ports)
        for name, usage in snapshot.instances.items()
    )


class SamplePace:
    """Each second's tick asks ``due()``; each reading and each engine event say whether anything moved.

    Once STILL_AFTER readings in a row read as before (nothing ran, no memory changed, no port opened)
    and no event came between them, a reading is taken every STILL_EVERY seconds, until the first that
    differs, or the first event (a line, a start, an exit, a scale): then it is every second again. An
    idle dashboard spends about a third of its second on the reading, so this is most of what it can
    save; the sparklines keep one slot a second, the slower reading filling each second it spans.
    """

    def __init__(self, still_after: int = STILL_AFTER, still_every: int = STILL_EVERY) -> None:
        self.still_after = still_after
        self.still_every = still_every
        self.still = 0  # readings in a row that read as the one before, with no event between
        self._since = 0  # seconds since the last reading was taken
        self._last: Hashable = None

    def due(self) -> bool:
        """Whether this second's tick takes a reading."""
        self._since += 1
        return self.still < self.still_after or self._since >= self.still_every

    def slots(self) -> int:
        """How many seconds the reading being taken now stands for: 1, or more after seconds without one."""
        slots, self._since = max(1, self._since), 0
        return slots

    def read(self, snapshot: Snapshot) -> None:
        """A reading arrived: one that reads as the last counts towards stillness, any other ends it."""
        key = still_key(snapshot)
        self.still = self.still + 1 if key == self._last else 0
        self._last = key

    def moved(self) -> None:
        """Something happened in the formation (any engine event): readings are taken each second again."""
        self.still = 0
