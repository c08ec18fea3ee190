"""The supervisor: desired counts reconciled into running instances, restart policy, events, stop_all."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from procdash.core import events as ev
from procdash.core.env import child_env
from procdash.core.files import spawn_failure
from procdash.core.formation import check_ports, port_for
from procdash.core.instance import Instance, State
from procdash.core.interact import EndCallback, InteractionHub, RawCallback
from procdash.core.lines import LineAssembler
from procdash.core.logbuffer import LogBuffer
from procdash.core.options import RESTART_POLICIES as RESTART_POLICIES
from procdash.core.options import SupervisorOptions as SupervisorOptions
from procdash.core.options import backoff_delay, count_failure, wants_restart
from procdash.core.process import close_child_fds, describe_status, group_alive, resize, signal_group, spawn
from procdash.core.procfile import ProcessType
from procdash.core.project import Project
from procdash.core.reaper import OrphanReaper
from procdash.core.watch import ChildWatch
from procdash.core.watchdog import Watchdog

Subscriber = Callable[[ev.Event], None]


class Supervisor:
    """Keeps the formation as desired: starts, stops, restarts and reports every instance."""

    def __init__(
        self,
        types: Sequence[ProcessType],
        counts: Mapping[str, int],
        *,
        root: Path,
        dotenv: Mapping[str, str],
        base_port: int,
        options: SupervisorOptions | None = None,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        self.types = list(types)
        self.options = options or SupervisorOptions()
        if self.options.restart not in RESTART_POLICIES:
            raise ValueError(f"unknown restart policy {self.options.restart!r}")
        self.root = root
        self.dotenv = dict(dotenv)
        self.base_port = base_port
        self.base_env = dict(os.environ if base_env is None else base_env)
        self.type_index = {t.name: i for i, t in enumerate(self.types)}
        self.desired = {t.name: int(counts.get(t.name, 0)) for t in self.types}
        self.slots: dict[str, list[Instance]] = {t.name: [] for t in self.types}
        self.stopping_all = False
        self._subscribers: list[Subscriber] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._watchdog = Watchdog(self.options.timeout) if self.options.watchdog else None
        self._talk = InteractionHub(self._emit, self.instances)
        self._reaper = OrphanReaper()

    @classmethod
    def from_project(cls, project: Project, options: SupervisorOptions | None = None) -> Supervisor:
        """A supervisor for a loaded project: its types, counts, root, .env values and base port."""
        return cls(
            project.types,
            project.counts,
            root=project.root,
            dotenv=project.dotenv,
            base_port=project.base_port,
            options=options,
        )

    # ----- observation -------------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` with every event from now on; returns a function that unsubscribes."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def instances(self) -> list[Instance]:
        """Every instance slot in Procfile order, then by number."""
        return [inst for t in self.types for inst in self.slots[t.name]]

    def find(self, name: str) -> Instance | None:
        """The instance called ``name`` (e.g. web.2), or None."""
        type_name, _, _ = name.rpartition(".")
        for inst in self.slots.get(type_name, []):
            if inst.name == name:
                return inst
        return None

    def is_idle(self) -> bool:
        """True when nothing runs and nothing is waiting to be restarted."""
        return not any(inst.alive or inst.state in (State.BACKOFF, State.STARTING) for inst in self.instances())

    async def wait_idle(self) -> None:
        """Return once the formation is idle (every process ended and none will restart)."""
        if self.is_idle():
            return
        future: asyncio.Future[None] = self._require_loop().create_future()
        self._idle_waiters.append(future)
        await future

    # ----- control -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the formation on the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._talk.start(self._loop)
        self._reaper.start(self._loop)
        for t in self.types:
            self._reconcile(t.name)
        self._check_idle()

    def scale(self, type_name: str, count: int) -> int:
        """Set the desired count of a type (never below 0) and reconcile; returns the new count."""
        if type_name not in self.desired:
            raise KeyError(type_name)
        count = max(0, count)
        check_ports(self.base_port, [t.name for t in self.types], {type_name: count})
        if count == self.desired[type_name]:
            return count
        self.desired[type_name] = count
        self._emit(ev.Scaled(type_name, count))
        self._reconcile(type_name)
        self._check_idle()
        return count

    def restart(self, name: str) -> None:
        """Restart an instance now: stop it if running, skip any backoff, clear a fatal state."""
        inst = self._get(name)
        if inst.retiring:
            return
        inst.fast_failures = 0
        inst.stop_requested = False
        if inst.alive:
            inst.restart_requested = True
            self._terminate(inst)
        else:
            inst.restarts += 1
            self._spawn(inst)

    def stop(self, name: str) -> None:
        """Stop an instance and keep it stopped (its slot stays in the formation)."""
        inst = self._get(name)
        inst.stop_requested = True
        inst.restart_requested = False
        if inst.alive:
            self._terminate(inst)
        elif inst.state is not State.STOPPED:
            inst.cancel_timers()
            self._set_state(inst, State.STOPPED)
            self._check_idle()

    def start_instance(self, name: str) -> None:
        """Start a stopped, exited, crashed or fatal instance again."""
        inst = self._get(name)
        if inst.alive or inst.retiring:
            return
        inst.stop_requested = False
        inst.fast_failures = 0
        if inst.started_at is not None:
            inst.restarts += 1
        self._spawn(inst)

    async def stop_all(self) -> None:
        """Stop everything: SIGTERM every group, SIGKILL after the timeout, reap all, restart nothing."""
        self.stopping_all = True
        for inst in self.instances():
            inst.restart_requested = False
            if inst.alive:
                inst.stop_requested = True
                self._terminate(inst)
            elif inst.state in (State.BACKOFF, State.STARTING):
                inst.cancel_timers()
                self._set_state(inst, State.STOPPED)
        self._check_idle()
        # The kill timer fires at the timeout; a process stuck in the kernel is not waited for forever.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.wait_idle(), self.options.timeout + 3.0)

    def kill_all(self) -> None:
        """SIGKILL every process group at once (the second Ctrl-C)."""
        self.stopping_all = True
        for inst in self.instances():
            inst.restart_requested = False
            if inst.alive and inst.pid is not None:
                inst.stop_requested = True
                signal_group(inst.pid, signal.SIGKILL)

    def resize(self, name: str, columns: int, rows: int) -> None:
        """Give one instance's pty a new window size (the child gets SIGWINCH)."""
        inst = self._get(name)
        if inst.child is not None:
            resize(inst.child, (columns, rows))

    def send_input(self, name: str, data: bytes) -> None:
        """Write bytes to an instance's terminal as if typed there; InputError when it cannot take them."""
        self._talk.send(self._get(name), data)

    def tap_output(self, name: str, on_data: RawCallback, on_end: EndCallback) -> Callable[[], None]:
        """Receive an instance's raw terminal output until it ends; returns the function that stops it."""
        return self._talk.tap(self._get(name), on_data, on_end)

    def close(self) -> None:
        """Reap adopted orphans and release the watchdog once everything has been stopped."""
        self._talk.close()
        self._reaper.stop()
        if self._watchdog is not None:
            self._watchdog.close()

    # ----- internals ---------------------------------------------------------------------------------

    def _get(self, name: str) -> Instance:
        """Find an instance or raise KeyError naming it."""
        inst = self.find(name)
        if inst is None:
            raise KeyError(name)
        return inst

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        """The loop the supervisor runs on, or the running one if start() was not called yet."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def _emit(self, event: ev.Event) -> None:
        """Deliver an event to every subscriber; one failing subscriber never stops the others."""
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception as exc:  # a subscriber bug must not take the formation down
                if self._loop is not None:
                    self._loop.call_exception_handler({"message": "procdash subscriber failed", "exception": exc})

    def _set_state(self, inst: Instance, state: State) -> None:
        """Change an instance's state and tell subscribers."""
        inst.state = state
        self._emit(ev.StateChanged(inst))

    def _new_instance(self, type_name: str, number: int) -> Instance:
        """Create the slot for instance ``number`` of a type, with its Foreman port."""
        index = self.type_index[type_name]
        opts = self.options
        return Instance(
            type_name=type_name,
            type_index=index,
            number=number,
            command=self.types[index].command,
            port=port_for(self.base_port, index, number),
            log=LogBuffer(opts.scrollback),
            assembler=LineAssembler(max_line=opts.max_line, keep_sgr=opts.color),
        )

    def _reconcile(self, type_name: str) -> None:
        """Bring a type's slots to its desired count: start missing numbers, retire the newest."""
        if self.stopping_all:
            return
        want = self.desired[type_name]
        slots = self.slots[type_name]
        by_number = {inst.number: inst for inst in slots}
        for number in range(1, want + 1):
            inst = by_number.get(number)
            if inst is None:
                inst = self._new_instance(type_name, number)
                slots.append(inst)
                self._emit(ev.Added(inst))
                self._spawn(inst)
            elif inst.retiring:
                inst.retiring = False
                inst.stop_requested = False
                if inst.alive:
                    inst.restart_requested = True
                else:
                    self._spawn(inst)
        for inst in sorted(slots, key=lambda i: -i.number):
            if inst.number <= want or inst.retiring:
                continue
            inst.retiring = True
            inst.restart_requested = False
            inst.stop_requested = True
            if inst.alive:
                self._terminate(inst)
            else:
                inst.cancel_timers()
                self._remove(inst)
        slots.sort(key=lambda i: i.number)

    def _remove(self, inst: Instance) -> None:
        """Drop a retired slot."""
        slots = self.slots[inst.type_name]
        if inst in slots:
            slots.remove(inst)
            inst.state = State.STOPPED
            self._emit(ev.Removed(inst))

    def _spawn(self, inst: Instance) -> None:
        """Start the instance's process and watch its output and exit."""
        loop = self._require_loop()
        inst.cancel_timers()
        inst.retry_at = None
        inst.restart_requested = False
        inst.stop_sent_at = None
        inst.killed = False
        self._set_state(inst, State.STARTING)
        opts = self.options
        env = child_env(
            self.base_env, self.dotenv, port=inst.port, ps=inst.name, pipes=not opts.use_pty, color=opts.color
        )
        try:
            child = spawn(
                inst.command,
                env=env,
                cwd=self.root,
                use_pty=opts.use_pty,
                size=opts.pty_size,
                stop_signal=inst.stop_signal,
            )
        except OSError as exc:
            message = f"procdash: cannot start {inst.name}: {spawn_failure(exc, self.root)}"
            inst.log.append(message)
            self._emit(ev.Output(inst, [message]))
            inst.started_at = time.monotonic()
            self._after_exit(inst, 127, "spawn failed")
            return
        inst.child = child
        inst.pid = child.pid
        inst.started_at = time.monotonic()
        inst.started_wall = time.time()
        inst.watch = ChildWatch(
            loop,
            child,
            inst.assembler,
            on_lines=lambda lines: self._publish(inst, lines),
            on_exit=lambda: self._on_exit(inst),
            on_done=lambda returncode: self._finalize(inst, returncode),
            drain_grace=opts.drain_grace,
            tty_assembler=None if opts.use_pty else LineAssembler(max_line=opts.max_line, keep_sgr=opts.color),
            on_read=lambda chunks: self._talk.after_read(inst, chunks),
        )
        inst.watch.start()
        if self._watchdog is not None:
            self._watchdog.add(child.pid)
        self._set_state(inst, State.RUNNING)
        self._emit(ev.Started(inst))

    def _publish(self, inst: Instance, lines: list[str]) -> None:
        """Store new lines in the instance's log and tell subscribers."""
        inst.log.extend(lines)
        self._talk.lines_done(inst)
        self._emit(ev.Output(inst, lines))

    def _on_exit(self, inst: Instance) -> None:
        """The main process is reaped; background jobs left in its group would hold the output open."""
        if inst.state is State.STOPPING:
            # The group already has its stop signal and a kill timer: a second signal would cut its
            # graceful stop short (apps that treat a second TERM as "force").
            return
        if inst.pid is not None and group_alive(inst.pid):
            signal_group(inst.pid, inst.stop_signal)
            signal_group(inst.pid, signal.SIGCONT)
            inst.timers.append(self._require_loop().call_later(self.options.timeout, self._kill, inst))

    def _terminate(self, inst: Instance) -> None:
        """Send the stop signal to the instance's group once, and SIGKILL it if it outlives the timeout."""
        if inst.child is None or inst.state is State.STOPPING:
            return
        timeout = self.options.timeout
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
            self._spawn(inst)
        elif requested:
            inst.state = State.STOPPED
            self._emit(ev.Exited(inst, code, description, True, False, stopped_after, inst.killed))
            self._emit(ev.StateChanged(inst))
        else:
            self._apply_policy(inst, code, description, uptime)
        self._check_idle()

    def _apply_policy(self, inst: Instance, code: int, description: str, uptime: float) -> None:
        """Unrequested exit: restart with exponential backoff per policy, or give up as fatal."""
        failed = code != 0
        inst.state = State.CRASHED if failed else State.EXITED
        if not wants_restart(self.options, failed=failed):
            self._emit(ev.Exited(inst, code, description, False, False))
            self._emit(ev.StateChanged(inst))
            return
        inst.fast_failures = count_failure(self.options, inst.fast_failures, uptime)
        delay = backoff_delay(self.options, inst.fast_failures)
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
        self._spawn(inst)

    def _check_idle(self) -> None:
        """Wake wait_idle() callers once nothing runs and nothing will restart."""
        if self._idle_waiters and self.is_idle():
            waiters, self._idle_waiters = self._idle_waiters, []
            for future in waiters:
                if not future.done():
                    future.set_result(None)
