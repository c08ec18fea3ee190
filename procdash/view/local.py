"""The formation view over a Supervisor in this process: the local dashboard's side of the boundary."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from procdash import editloop
from procdash.core.errors import ConfigError
from procdash.core.input import InputError
from procdash.core.instance import Instance
from procdash.core.procfile import ProcessType
from procdash.core.project import Project
from procdash.core.supervisor import Subscriber, Supervisor
from procdash.headless import Service
from procdash.term.keys import encode_key, encode_paste
from procdash.view.formation import EndCallback, FormationError, OutputCallback, TerminalSession, ViewHooks
from procdash.view.usage import Metrics

KILL_GRACE = 3.0  # seconds beyond the stop timeout that closing waits for killed processes


class EarlyEvents(Protocol):
    """What a formation started before the app recorded meanwhile (``procdash start``'s backlog)."""

    signals: list[int]  # quit signals that came before the app was up

    def hand_over(self, callback: Subscriber) -> Callable[[], None]:
        """Give ``callback`` every recorded event in order, then subscribe it; returns the unsubscriber."""


class LocalSession:
    """A raw session on a local process's terminal: a tap on its output, writes to its pty."""

    def __init__(self, supervisor: Supervisor, name: str, untap: Callable[[], None]) -> None:
        self.supervisor = supervisor
        self.name = name
        self._untap = untap

    def write(self, data: bytes) -> None:
        """Type raw bytes (a refusal ends nothing here: the tap's end callback says when it is over)."""
        try:
            self.supervisor.send_input(self.name, data)
        except (InputError, KeyError) as exc:
            raise FormationError(str(exc)) from None

    def resize(self, columns: int, rows: int) -> None:
        """Follow the connected terminal's size."""
        with contextlib.suppress(KeyError):
            self.supervisor.resize(self.name, columns, rows)

    def close(self) -> None:
        """Stop the tap."""
        self._untap()


class LocalFormation:
    """A Supervisor and the services running beside it (control socket, edit loop), as a FormationView."""

    leaving_stops_formation = True
    where = ""

    def __init__(
        self,
        supervisor: Supervisor,
        project: Project,
        services: Sequence[Service] = (),
        *,
        started: bool = False,
        backlog: EarlyEvents | None = None,
    ) -> None:
        self.supervisor = supervisor
        self.project = project
        self.services = list(services)
        # The caller started the supervisor before the app was built (then ``backlog`` holds what happened since).
        self._already_started = started or backlog is not None
        self._backlog = backlog
        self._started: list[Service] = []
        self._early_signals: list[int] = []
        self._services_stopped = False
        self._closed = False

    # ----- reading -----------------------------------------------------------------------------------

    @property
    def procfile(self) -> Path:
        """The Procfile."""
        return self.project.procfile

    @property
    def root(self) -> Path:
        """The project root."""
        return self.project.root

    @property
    def types(self) -> Sequence[ProcessType]:
        """Process types in Procfile order."""
        return self.supervisor.types

    @property
    def desired(self) -> Mapping[str, int]:
        """Desired counts."""
        return self.supervisor.desired

    @property
    def slots(self) -> Mapping[str, list[Instance]]:
        """Instance slots per type."""
        return self.supervisor.slots

    @property
    def type_index(self) -> Mapping[str, int]:
        """Procfile positions."""
        return self.supervisor.type_index

    @property
    def scrollback(self) -> int:
        """Lines kept per process."""
        return self.supervisor.options.scrollback

    @property
    def stop_timeout(self) -> float:
        """The stop timeout."""
        return self.supervisor.options.timeout

    def instances(self) -> list[Instance]:
        """Every instance."""
        return self.supervisor.instances()

    def find(self, name: str) -> Instance | None:
        """One instance by name."""
        return self.supervisor.find(name)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Supervisor events; the first subscriber of a formation started early gets what it missed first."""
        backlog, self._backlog = self._backlog, None
        if backlog is not None:
            self._early_signals = list(backlog.signals)
            return backlog.hand_over(callback)
        return self.supervisor.subscribe(callback)

    def input_refusal(self, name: str) -> str | None:
        """Ask the supervisor with an empty write, which checks without sending anything."""
        try:
            self.supervisor.send_input(name, b"")
        except InputError as exc:
            return str(exc)
        except KeyError:
            return f"no process called {name}"
        return None

    def watch_usage(self, interval: float, deliver: Callable[[Metrics], None]) -> bool:
        """The processes are ours: the dashboard samples /proc for them itself."""
        return False

    # ----- actions -----------------------------------------------------------------------------------

    def scale(self, type_name: str, count: int) -> None:
        """Scale now; a taken port range or an unknown type is a FormationError."""
        try:
            self.supervisor.scale(type_name, count)
        except ConfigError as exc:
            raise FormationError(str(exc)) from None
        except KeyError:
            raise FormationError(f"no process type {type_name!r}") from None

    def scale_by(self, type_name: str, delta: int) -> None:
        """Relative to the current count."""
        if type_name not in self.supervisor.desired:
            raise FormationError(f"no process type {type_name!r}")
        self.scale(type_name, self.supervisor.desired[type_name] + delta)

    def restart(self, name: str) -> None:
        """Restart (an instance scaled away meanwhile is ignored)."""
        with contextlib.suppress(KeyError):
            self.supervisor.restart(name)

    def stop(self, name: str) -> None:
        """Stop."""
        with contextlib.suppress(KeyError):
            self.supervisor.stop(name)

    def start(self, name: str) -> None:
        """Start again."""
        with contextlib.suppress(KeyError):
            self.supervisor.start_instance(name)

    def send_input(self, name: str, data: bytes) -> None:
        """Raw bytes to the pty."""
        try:
            self.supervisor.send_input(name, data)
        except InputError as exc:
            raise FormationError(str(exc)) from None
        except KeyError:
            raise FormationError(f"{name} is gone") from None

    def send_key(self, name: str, key: str, character: str | None) -> None:
        """One key, encoded with the process's current cursor-key mode."""
        inst = self.supervisor.find(name)
        if inst is None:
            raise FormationError(f"{name} is gone")
        data = encode_key(key, character, app_cursor=inst.modes.app_cursor)
        if data:
            self.send_input(name, data)

    def send_paste(self, name: str, text: str) -> None:
        """A paste, bracketed when the process asked for it."""
        inst = self.supervisor.find(name)
        if inst is None:
            raise FormationError(f"{name} is gone")
        self.send_input(name, encode_paste(text, bracketed=inst.modes.bracketed_paste))

    def resize(self, name: str, columns: int, rows: int) -> None:
        """Size one pty."""
        with contextlib.suppress(KeyError):
            self.supervisor.resize(name, columns, rows)

    def set_default_size(self, columns: int, rows: int) -> None:
        """Size of ptys started from now on."""
        self.supervisor.options.pty_size = (columns, rows)

    async def connect(
        self, name: str, columns: int, rows: int, context: int, on_output: OutputCallback, on_end: EndCallback
    ) -> TerminalSession:
        """Tap the process's raw output (after its recent lines) and write to its pty."""
        inst = self.supervisor.find(name)
        if inst is None:
            raise FormationError(f"{name} is gone")
        refusal = self.input_refusal(name)
        if refusal is not None:
            raise FormationError(refusal)
        from procdash.control.talk import context_bytes  # the control modules load only where they serve

        on_output(context_bytes(inst, context))
        try:
            untap = self.supervisor.tap_output(name, on_output, on_end)
        except InputError as exc:
            raise FormationError(str(exc)) from None
        # Two sizes in a row make a full-screen program redraw even when the size did not change.
        self.supervisor.resize(name, columns, max(1, rows - 1))
        self.supervisor.resize(name, columns, rows)
        return LocalSession(self.supervisor, name, untap)

    async def save_formation(self) -> str:
        """Through the run's edit loop, as ``ctl scale --save`` does."""
        loop = editloop.find(self.services)
        if loop is None:
            raise FormationError("saving the formation is not available in this dashboard")
        try:
            return loop.save()
        except ConfigError as exc:
            raise FormationError(str(exc)) from None

    async def reload(self) -> str:
        """Through the run's edit loop; its summary (or the file:line error) also arrives as a notice."""
        loop = editloop.find(self.services)
        if loop is None:
            raise FormationError("reload is not available in this dashboard")
        return loop.reload().summary()  # an error too: its notice is what the person sees

    # ----- lifecycle ---------------------------------------------------------------------------------

    async def open(self, hooks: ViewHooks) -> list[str]:
        """Start the formation on this loop (unless the caller already did), then the services."""
        # A control server exists only once its module was imported (not with --no-control): without
        # it, the half megabyte of control modules stays out of the dashboard.
        control = sys.modules.get("procdash.control.server")
        if not self._already_started:
            self.supervisor.start()
        if self._early_signals:
            # SIGTERM, SIGHUP or ctrl+c came while the UI was loading: quit once the app is up.
            asyncio.get_running_loop().call_soon(hooks.quit_requested)
        warnings = []
        for service in self.services:
            if control is not None and isinstance(service, control.ControlServer):
                service.usage = service.usage or hooks.usage
                service.on_quit = hooks.quit_requested
            try:
                await service.start(self.supervisor)
            except Exception as exc:  # a broken service must not take the formation down
                warnings.append(f"{type(service).__name__}: {exc}")
                continue
            self._started.append(service)
        return warnings

    async def stop_formation(self) -> None:
        """Stop every process gracefully, then the services."""
        try:
            await self.supervisor.stop_all()
        finally:
            await self._stop_services()
            self.supervisor.close()

    def kill_now(self) -> None:
        """SIGKILL every group."""
        self.supervisor.kill_all()

    async def close(self) -> None:
        """Backstop: whatever way the app ends, no process outlives it."""
        if self._closed:
            return
        self._closed = True
        if not self.supervisor.is_idle():
            self.supervisor.kill_all()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.supervisor.wait_idle(), self.supervisor.options.timeout + KILL_GRACE)
        await self._stop_services()
        self.supervisor.close()

    def backstop(self) -> None:
        """After the app's loop is gone (it crashed): signals are all that is left to stop the processes."""
        if not self.supervisor.is_idle():
            self.supervisor.kill_all()
        self.supervisor.close()

    async def _stop_services(self) -> None:
        """Stop every started service once, newest first."""
        if self._services_stopped:
            return
        self._services_stopped = True
        for service in reversed(self._started):
            with contextlib.suppress(Exception):
                await service.stop()
