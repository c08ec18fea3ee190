"""Periodic ``usage`` events for subscribers that ask for them: one sample shared by every client.

The dashboard (and ``--stats``) already sample CPU and memory; the server then forwards their latest
reading. A headless procdash without ``--stats`` samples on its own, in a thread, only while at least
one subscriber wants usage, so an unwatched formation costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from procdash.control.views import UsageSnapshot, UsageSource
from procdash.core.instance import Instance

if TYPE_CHECKING:
    from procdash.core.stats import StatsSampler


class UsagePublisher:
    """Sends a usage reading to the interested connections every ``interval`` seconds (the smallest asked for)."""

    def __init__(
        self,
        source: Callable[[], UsageSource | None],
        instances: Callable[[], Iterable[Instance]],
        publish: Callable[[UsageSnapshot], None],
    ) -> None:
        self._source = source
        self._instances = instances
        self._publish = publish
        self._intervals: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._sampler: StatsSampler | None = None

    def want(self, key: int, interval: float) -> None:
        """A subscriber (by id) wants usage every ``interval`` seconds."""
        self._intervals[key] = interval
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def drop(self, key: int) -> None:
        """That subscriber is gone; sampling stops with the last one."""
        self._intervals.pop(key, None)

    async def stop(self) -> None:
        """Stop publishing."""
        self._intervals.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        """Sample (or read the shared sample) and publish, while anyone wants it."""
        loop = asyncio.get_running_loop()
        while self._intervals:
            await asyncio.sleep(min(self._intervals.values()))
            if not self._intervals:
                break
            reading = await self._read(loop)
            if reading is not None:
                self._publish(reading)
        self._sampler = None

    async def _read(self, loop: asyncio.AbstractEventLoop) -> UsageSnapshot | None:
        """The dashboard's or reporter's latest reading when there is one, else a sample of our own."""
        source = self._source()
        if source is not None:
            try:
                return source()
            except Exception:
                return None
        # Loaded only once someone watches: an unwatched headless procdash never carries the sampler.
        from procdash.core.stats import StatsSampler, live_roots

        if self._sampler is None:
            self._sampler = StatsSampler()
        roots = live_roots(self._instances())
        sampler = self._sampler
        try:
            snapshot = await loop.run_in_executor(None, lambda: sampler.sample(roots))
        except Exception:
            return None
        return snapshot.instances
