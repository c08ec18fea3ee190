"""What an ended process becomes: stopped, removed, restarted now, restarted after a backoff, crashed or fatal.

A mixin of Supervisor; the restart policy is the instance's type's (Procfile.toml), else procdash's.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from procdash.core import events as ev
from procdash.core.instance import Instance, State
from procdash.core.interact import InteractionHub
from procdash.core.options import SupervisorOptions, backoff_delay, count_failure, policy_for, wants_restart
from procdash.core.process import close_child_fds, describe_status, group_alive
from procdash.core.reaper import OrphanReaper
from procdash.core.typeoptions import TypeOptions
from procdash.core.watchdog import Watchdog


class ExitsMixin:
    """The supervisor's handling of a finished child (Supervisor provides the attributes below)."""

    options: SupervisorOptions
    stopping_all: bool
    _watchdog: Watchdog | None
    _reaper: OrphanReaper
    _talk: InteractionHub

    if TYPE_CHECKING:  # provided by Supervisor and LaunchMixin

        def type_opts(self, type_name: str) -> TypeOptions: ...
        def _launch(self, inst: Instance) -> None: ...
        def _remove(self, inst: Instance) -> None: ...
        def _stop_probe(self, inst: Instance) -> None: ...
        def _emit(self, event: ev.Event) -> None: ...
        def _require_loop(self) -> asyncio.AbstractEventLoop: ...
        def _check_idle(self) -> None: ...

    def _finalize(self, inst: Instance, returncode: int) -> None:
        """Output drained and process reaped: record the exit and apply the restart policy."""
        child = inst.child
        if child is None:
            return
        self._talk.forget(inst, f"{inst.name} ended")
        close_child_fds(child)
        self._reaper.scan()
        inst.child = None
        inst.watch = None
        inst.pid = None
        inst.cancel_timers()
        if self._watchdog is not None and not group_alive(child.pid):
            self._watchdog.remove(child.pid)
        code, description = describe_status(returncode)
        self._after_exit(inst, code, description)

    def _after_exit(self, inst: Instance, code: int, description: str) -> None:
        """Decide what an ended process becomes: stopped, removed, restarted, crashed, backoff or fatal."""
        self._stop_probe(inst)
        inst.exit_code = code
        inst.exit_description = description
        inst.exited_wall = time.time()
        requested = inst.stop_requested or self.stopping_all
        now = time.monotonic()
        uptime = now - (inst.started_at or now)
        stopped_after = None if inst.stop_sent_at is None else now - inst.stop_sent_at
        if inst.retiring:
            self._emit(ev.Exited(inst, code, description, True, False, stopped_after, inst.killed))
            self._remove(inst)
        elif inst.restart_requested and not self.stopping_all:
            self._emit(ev.Exited(inst, code, description, True, True, stopped_after, inst.killed))
            inst.restarts += 1
            self._launch(inst)
        elif requested:
            inst.state = State.STOPPED
            self._emit(ev.Exited(inst, code, description, True, False, stopped_after, inst.killed))
            self._emit(ev.StateChanged(inst))
        else:
            self._apply_policy(inst, code, description, uptime)
        self._check_idle()

    def _apply_policy(self, inst: Instance, code: int, description: str, uptime: float) -> None:
        """Unrequested exit: restart with exponential backoff per policy, or give up as fatal."""
        type_opts = self.type_opts(inst.type_name)
        policy = policy_for(
            self.options,
            restart=type_opts.restart,
            max_restarts=type_opts.max_restarts,
            backoff=None if type_opts.backoff is None else (type_opts.backoff.base, type_opts.backoff.cap),
        )
        failed = not type_opts.succeeded(code)
        inst.state = State.CRASHED if failed else State.EXITED
        if not wants_restart(policy, failed=failed):
            self._emit(ev.Exited(inst, code, description, False, False))
            self._emit(ev.StateChanged(inst))
            return
        inst.fast_failures = count_failure(policy, inst.fast_failures, uptime)
        delay = backoff_delay(policy, inst.fast_failures)
        if delay is None:
            inst.state = State.FATAL
            self._emit(ev.Exited(inst, code, description, False, False))
            self._emit(ev.Fatal(inst, inst.fast_failures))
            self._emit(ev.StateChanged(inst))
            return
        inst.state = State.BACKOFF
        inst.retry_at = time.monotonic() + delay
        inst.timers.append(self._require_loop().call_later(delay, self._retry, inst))
        self._emit(ev.Exited(inst, code, description, False, True))
        self._emit(ev.Restarting(inst, delay))
        self._emit(ev.StateChanged(inst))

    def _retry(self, inst: Instance) -> None:
        """Backoff elapsed: start the instance again."""
        if self.stopping_all or inst.alive or inst.state is not State.BACKOFF:
            return
        inst.restarts += 1
        self._launch(inst)
