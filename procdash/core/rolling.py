"""Rolling restarts: a type's instances restarted one at a time, each once the one before is back.

"Back" means running, or ready when the type has a readiness probe; an instance that crashes or stays
unready ends the wait (bounded), so one broken instance never stalls the rest. A second request while a
roll is under way runs once more after it, with the newest reason.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from procdash.core import events as ev
from procdash.core.instance import Instance, State

if TYPE_CHECKING:
    from procdash.core.supervisor import Supervisor

# Instances a change leaves alone: stopped on purpose, not started yet for a reason of their own, or
# never started (autostart = false).
SKIPPED = (State.STOPPED, State.WAITING, State.BLOCKED)
SETTLE_GRACE = 10.0  # seconds beyond the stop timeout and probe budget that one instance may take


def back_up(inst: Instance) -> bool:
    """Whether a restarted instance is back (running and, with a probe, ready) or has ended its attempt."""
    if inst.state is State.RUNNING:
        return True
    return not inst.alive and inst.state not in (State.STARTING, State.STOPPING)


class RollingRestarter:
    """Restarts whole types one instance at a time, saying why in each instance's status and a notice."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._again: dict[str, str] = {}
        self.rolls = 0  # rolling restarts begun, for tests

    def request(self, type_name: str, reason: str) -> None:
        """Restart every instance of ``type_name``, now or right after the roll under way."""
        if type_name not in self.supervisor.slots or self.supervisor.stopping_all:
            return
        task = self._tasks.get(type_name)
        if task is not None and not task.done():
            self._again[type_name] = reason
            return
        self._tasks[type_name] = asyncio.get_running_loop().create_task(self._roll(type_name, reason))

    async def close(self) -> None:
        """Cancel every roll under way (procdash is stopping)."""
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _roll(self, type_name: str, reason: str) -> None:
        """One roll, then another for each request that came while it ran."""
        while True:
            self.rolls += 1
            for inst in list(self.supervisor.slots.get(type_name, [])):
                if self.supervisor.stopping_all:
                    return
                if inst.retiring or inst.state in SKIPPED or inst not in self.supervisor.slots.get(type_name, []):
                    continue
                self.supervisor.announce(f"{inst.name} restarting: {reason}", inst)
                self.supervisor.restart(inst.name, reason=reason)
                await self._settled(inst)
            again = self._again.pop(type_name, None)
            if again is None:
                return
            reason = again

    async def _settled(self, inst: Instance) -> None:
        """Wait until the restarted instance is back or has failed, at most its stop and probe budget."""
        sup = self.supervisor
        opts = sup.type_opts(inst.type_name)
        budget = sup.stop_timeout(inst) + SETTLE_GRACE
        if opts.ready is not None:
            probe = opts.ready
            budget += probe.initial_delay + (probe.interval + probe.timeout) * (probe.retries + 1)
        done = asyncio.Event()

        def check(event: ev.Event) -> None:
            # back_up() is false while the old run is still stopping: only the new run counts.
            mine = isinstance(event, ev.StateChanged | ev.Removed) and event.instance is inst
            if mine and (isinstance(event, ev.Removed) or back_up(inst)):
                done.set()

        unsubscribe = sup.subscribe(check)
        try:
            if not back_up(inst):
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(done.wait(), budget)
        finally:
            unsubscribe()
