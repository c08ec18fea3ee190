"""Stopping the formation: one stop signal per instance, SIGKILL after its timeout, dependents first.

A mixin of Supervisor, kept apart so the supervisor itself stays about desired counts and starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from procdash.core import events as ev
from procdash.core.instance import Instance, State
from procdash.core.options import SupervisorOptions
from procdash.core.process import group_alive, signal_group


class StoppingMixin:
    """stop_all, kill_all and the per-instance stop signal and kill timer (Supervisor provides the rest)."""

    options: SupervisorOptions
    stopping_all: bool
    start_order: list[list[str]]
    slots: dict[str, list[Instance]]
    _exit_waiters: list[asyncio.Future[None]]
    _ending_probes: set[asyncio.Task[None]]

    if TYPE_CHECKING:  # provided by Supervisor and LaunchMixin

        def instances(self) -> list[Instance]: ...
        async def wait_idle(self) -> None: ...
        def stop_timeout(self, inst: Instance) -> float: ...
        def _emit(self, event: ev.Event) -> None: ...
        def _set_state(self, inst: Instance, state: State) -> None: ...
        def _require_loop(self) -> asyncio.AbstractEventLoop: ...
        def _check_idle(self) -> None: ...

    async def stop_all(self) -> None:
        """Stop everything, restart nothing: dependents first, each with its stop signal, SIGKILL after its timeout.

        Types are stopped level by level in reverse start order, each level once the one above it has
        ended; without dependencies there is one level, so everything stops at once.
        """
        self.stopping_all = True
        for inst in self.instances():
            inst.restart_requested = False
            if not inst.alive and inst.state in (State.BACKOFF, State.STARTING, State.WAITING, State.BLOCKED):
                inst.cancel_timers()
                inst.port_wait = False
                self._set_state(inst, State.STOPPED)
        self._check_idle()
        bound = 0.0
        for level in reversed(self.start_order):
            batch = [inst for name in level for inst in self.slots[name] if inst.alive]
            for inst in batch:
                inst.stop_requested = True
                self._terminate(inst)
            if not batch:
                continue
            # The kill timer fires at the timeout; a process stuck in the kernel is not waited for forever.
            grace = max(self.stop_timeout(inst) for inst in batch) + 3.0
            bound += grace
            if len(self.start_order) > 1:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wait_ended(batch), grace)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.wait_idle(), max(bound, 3.0))
        if self._ending_probes:
            # Cancelled exec probes kill and reap their command before the guardian is released.
            await asyncio.wait(set(self._ending_probes), timeout=2.0)

    def kill_all(self) -> None:
        """SIGKILL every process group at once (the second Ctrl-C)."""
        self.stopping_all = True
        for inst in self.instances():
            inst.restart_requested = False
            if inst.alive and inst.pid is not None:
                inst.stop_requested = True
                signal_group(inst.pid, signal.SIGKILL)

    async def _wait_ended(self, batch: Sequence[Instance]) -> None:
        """Return once no instance of ``batch`` has a process any more."""
        while any(inst.alive for inst in batch):
            future: asyncio.Future[None] = self._require_loop().create_future()
            self._exit_waiters.append(future)
            await future

    def _on_exit(self, inst: Instance) -> None:
        """The main process is reaped; background jobs left in its group would hold the output open."""
        if inst.state is State.STOPPING:
            # The group already has its stop signal and a kill timer: a second signal would cut its
            # graceful stop short (apps that treat a second TERM as "force").
            return
        if inst.pid is not None and group_alive(inst.pid):
            signal_group(inst.pid, inst.stop_signal)
            signal_group(inst.pid, signal.SIGCONT)
            inst.timers.append(self._require_loop().call_later(self.stop_timeout(inst), self._kill, inst))

    def _terminate(self, inst: Instance) -> None:
        """Send the stop signal to the instance's group once, and SIGKILL it if it outlives the timeout."""
        if inst.child is None or inst.state is State.STOPPING:
            return
        timeout = self.stop_timeout(inst)
        inst.stop_sent_at = time.monotonic()
        self._set_state(inst, State.STOPPING)
        self._emit(ev.Stopping(inst, signal.Signals(inst.stop_signal).name, timeout))
        signal_group(inst.child.pid, inst.stop_signal)
        signal_group(inst.child.pid, signal.SIGCONT)
        inst.timers.append(self._require_loop().call_later(timeout, self._kill, inst))

    def _kill(self, inst: Instance) -> None:
        """The timeout passed: SIGKILL what is left of the group (the exit line then says so)."""
        if inst.child is not None and signal_group(inst.child.pid, signal.SIGKILL):
            inst.killed = True
