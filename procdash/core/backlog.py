"""Events kept for a subscriber that arrives after the formation started (the dashboard, still loading)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from procdash.core import events as ev
from procdash.core.supervisor import Subscriber, Supervisor

# Events kept before output starts being dropped. Lifecycle events (added, started, exited, ...) are
# always kept; a line dropped here is still in its instance's log buffer, which every pane reads.
OUTPUT_LIMIT = 10_000


class Backlog:
    """Records a supervisor's events from before its start until a late subscriber takes them over.

    The formation starts before the dashboard is built, so events fire while Textual is still being
    imported; handing them over in order, then subscribing in the same step, misses none and
    repeats none. Signals that came in the meantime are kept too: the dashboard acts on them once up.
    """

    def __init__(self, supervisor: Supervisor, *, limit: int = OUTPUT_LIMIT) -> None:
        self.supervisor = supervisor
        self.limit = limit
        self.events: list[ev.Event] = []
        self.dropped = 0  # output events dropped past the limit (their lines stay in the log buffers)
        self.signals: list[int] = []  # signals received before the subscriber took over
        self._unsubscribe: Callable[[], None] | None = supervisor.subscribe(self._record)

    def _record(self, event: ev.Event) -> None:
        """Keep one event (output only while under the limit)."""
        if len(self.events) >= self.limit and isinstance(event, ev.Output | ev.Partial):
            self.dropped += 1
            return
        self.events.append(event)

    def hand_over(self, callback: Subscriber) -> Callable[[], None]:
        """On the supervisor's loop: give ``callback`` every recorded event in order, then subscribe it.

        Returns the function that unsubscribes it. The recorder stays subscribed while it replays, so an
        event the replay itself causes is kept and delivered in its turn.
        """
        while self.events:
            batch, self.events = self.events, []
            for event in batch:
                try:
                    callback(event)
                except Exception as exc:  # as in Supervisor._emit: a subscriber bug must not stop the rest
                    context = {"message": "procdash subscriber failed", "exception": exc}
                    asyncio.get_running_loop().call_exception_handler(context)
        self.close()
        return self.supervisor.subscribe(callback)

    def close(self) -> None:
        """Stop recording and forget what was kept."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.events = []
