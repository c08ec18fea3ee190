"""The dashboard's once-a-second job as a plain loop callback on the shared beat, not a Textual timer."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable

from procdash.core.beat import next_beat


class Ticker:
    """Calls ``tick`` on every beat of ``interval`` seconds of the loop's clock, in the caller's context.

    A Textual timer is a task that sleeps and is woken: two loop turns per tick, at its own phase. A
    handle on the beat runs in the turn that the orphan reaper's scan (on the same beat) wakes anyway.
    An error goes to ``on_error`` (the app's handler), as a Textual timer's would.
    """

    def __init__(self, interval: float, tick: Callable[[], None], on_error: Callable[[Exception], None]) -> None:
        self.interval = interval
        self._tick = tick
        self._on_error = on_error
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context: contextvars.Context | None = None
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Begin ticking on the running loop (Textual finds its app through the context captured here)."""
        self._loop = asyncio.get_running_loop()
        self._context = contextvars.copy_context()
        self._schedule()

    def stop(self) -> None:
        """No more ticks."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._loop = None

    def _schedule(self) -> None:
        """The next beat; a beat missed while the loop was busy is skipped, not made up for."""
        if self._loop is not None:
            when = next_beat(self._loop.time(), self.interval)
            self._handle = self._loop.call_at(when, self._fire, context=self._context)

    def _fire(self) -> None:
        """One tick, then the next beat."""
        self._schedule()
        try:
            self._tick()
        except Exception as error:  # the app shows it and ends, as with an error in any of its timers
            self._on_error(error)
