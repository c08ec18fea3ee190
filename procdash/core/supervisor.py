"""The supervisor: desired counts reconciled into running instances, restart policy, events, stop_all."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from procdash.core import events as ev
from procdash.core.depends import start_levels
from procdash.core.exits import ExitsMixin
from procdash.core.files import spawn_failure
from procdash.core.formation import check_ports, port_for
from procdash.core.instance import Instance, State
from procdash.core.interact import EndCallback, InteractionHub, RawCallback
from procdash.core.launch import LaunchMixin
from procdash.core.lines import LineAssembler
from procdash.core.logbuffer import LogBuffer
from procdash.core.options import RESTART_POLICIES as RESTART_POLICIES
from procdash.core.options import SupervisorOptions as SupervisorOptions
from procdash.core.process import resize, spawn
from procdash.core.procfile import ProcessType
from procdash.core.project import Project
from procdash.core.reaper import OrphanReaper
from procdash.core.stopping import StoppingMixin
from procdash.core.typeoptions import TypeOptions
from procdash.core.watch import ChildWatch
from procdash.core.watchdog import Watchdog

Subscriber = Callable[[ev.Event], None]


class Supervisor(LaunchMixin, StoppingMixin, ExitsMixin):
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
        type_options: Mapping[str, TypeOptions] | None = None,
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
        self.type_options = dict(type_options or {})
        graph = {name: opts.depends_on for name, opts in self.type_options.items()}
        # Types grouped by dependency depth: started in this order, stopped in the reverse order.
        self.start_order = start_levels([t.name for t in self.types], graph)
        self._has_deps = any(graph.values())
        self._waking = False
        self._wake_again = False
        self._initial = False
        self.stopping_all = False
        self._subscribers: list[Subscriber] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._exit_waiters: list[asyncio.Future[None]] = []  # woken after every exit
        self._ending_probes: set[asyncio.Task[None]] = set()
        # After procdash dies the guardian waits as long as the slowest type may take to stop.
        longest = max([self.options.timeout, *(o.stop_timeout or 0.0 for o in self.type_options.values())])
        self._watchdog = Watchdog(longest) if self.options.watchdog else None
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
            type_options=project.sidefile.types,
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
        return not any(
            inst.alive or inst.port_wait or inst.state in (State.BACKOFF, State.STARTING) for inst in self.instances()
        )

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
        self._initial = True
        try:
            for level in self.start_order:
                for name in level:
                    self._reconcile(name)
        finally:
            self._initial = False
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

    def restart(self, name: str, *, reason: str = "") -> None:
        """Restart an instance now: stop it if running, skip any backoff, clear a fatal state.

        ``reason`` ("src/app.py changed") shows in its status until the new run is up.
        """
        inst = self._get(name)
        if inst.retiring:
            return
        inst.reason = reason
        inst.reason_run = inst.restarts + 1
        inst.fast_failures = 0
        inst.stop_requested = False
        if inst.alive:
            inst.restart_requested = True
            self._terminate(inst)
        else:
            inst.restarts += 1
            self._launch(inst)

    def stop(self, name: str) -> None:
        """Stop an instance and keep it stopped (its slot stays in the formation)."""
        inst = self._get(name)
        inst.stop_requested = True
        inst.restart_requested = False
        if inst.alive:
            self._terminate(inst)
        elif inst.state is not State.STOPPED:
            inst.cancel_timers()
            inst.port_wait = False
            inst.detail = ""
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
        self._launch(inst)

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

    def announce(self, text: str, inst: Instance | None = None) -> None:
        """Tell every subscriber something procdash itself has to say (a Notice)."""
        self._emit(ev.Notice(text, inst))

    def announce_threadsafe(self, text: str) -> None:
        """announce() from another thread (a log writer): it runs on the supervisor's loop."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.announce, text)

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
        if self._has_deps and isinstance(event, ev.StateChanged) and not self._initial:
            self._wake_dependents()

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
            stop_signal=self.type_opts(type_name).stop_signal or signal.SIGTERM,
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
                if not self._initial or self.type_opts(type_name).autostart:
                    self._launch(inst)
            elif inst.retiring:
                inst.retiring = False
                inst.stop_requested = False
                if inst.alive:
                    inst.restart_requested = True
                else:
                    self._launch(inst)
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
            self._stop_probe(inst)
            inst.port_wait = False
            inst.state = State.STOPPED
            self._emit(ev.Removed(inst))

    def _spawn(self, inst: Instance) -> None:
        """Start the instance's process and watch its output and exit."""
        loop = self._require_loop()
        inst.cancel_timers()
        inst.retry_at = None
        inst.restart_requested = False
        inst.detail = ""
        inst.stop_sent_at = None
        inst.killed = False
        self._set_state(inst, State.STARTING)
        opts = self.options
        use_pty = self.uses_pty(inst.type_name)
        env = self.instance_env(inst)
        try:
            child = spawn(
                inst.command,
                env=env,
                cwd=self.instance_cwd(inst),
                use_pty=use_pty,
                size=opts.pty_size,
                stop_signal=inst.stop_signal,
            )
        except OSError as exc:
            message = f"procdash: cannot start {inst.name}: {spawn_failure(exc, self.instance_cwd(inst))}"
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
            tty_assembler=None if use_pty else LineAssembler(max_line=opts.max_line, keep_sgr=opts.color),
            on_read=lambda chunks: self._talk.after_read(inst, chunks),
        )
        inst.watch.start()
        if self._watchdog is not None:
            self._watchdog.add(child.pid)
        if self._start_probe(inst):
            self._emit(ev.Started(inst))  # it stays "starting" until its probe passes
            return
        self._set_state(inst, State.RUNNING)
        self._emit(ev.Started(inst))

    def _publish(self, inst: Instance, lines: list[str]) -> None:
        """Store new lines in the instance's log and tell subscribers."""
        inst.log.extend(lines)
        self._talk.lines_done(inst)
        self._emit(ev.Output(inst, lines))
        if inst.probe is not None:
            inst.probe.feed(lines)

    def _check_idle(self) -> None:
        """Wake wait_idle() callers once nothing runs and nothing will restart (and every exit waiter)."""
        if self._exit_waiters:
            exit_waiters, self._exit_waiters = self._exit_waiters, []
            for future in exit_waiters:
                if not future.done():
                    future.set_result(None)
        if self._idle_waiters and self.is_idle():
            waiters, self._idle_waiters = self._idle_waiters, []
            for future in waiters:
                if not future.done():
                    future.set_result(None)
