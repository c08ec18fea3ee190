"""One slot of the formation (web.2): identity, state, counters and its log buffer."""

from __future__ import annotations

import enum
import signal
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from procdash.core.lines import LineAssembler
from procdash.core.logbuffer import LogBuffer
from procdash.core.termmodes import TerminalModes

if TYPE_CHECKING:
    import asyncio

    from procdash.core.probes import ProbeRunner
    from procdash.core.process import Child
    from procdash.core.watch import ChildWatch


class State(str, enum.Enum):
    """Lifecycle states shown to the user."""

    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    EXITED = "exited"
    CRASHED = "crashed"
    BACKOFF = "backoff"
    FATAL = "fatal"
    WAITING = "waiting"  # for its dependencies (detail says which)
    BLOCKED = "blocked"  # a dependency failed for good, or its port is taken (detail says which)
    UNREADY = "unready"  # running, but its readiness probe keeps failing (detail says how)


LIVE_STATES = frozenset({State.STARTING, State.RUNNING, State.STOPPING, State.UNREADY})


@dataclass(eq=False)
class Instance:
    """A named, numbered instance of a process type; it keeps its name, port and log across restarts."""

    type_name: str
    type_index: int
    number: int
    command: str
    port: int | None
    log: LogBuffer
    assembler: LineAssembler
    stop_signal: int = signal.SIGTERM
    state: State = State.STOPPED
    pid: int | None = None
    restarts: int = 0
    exit_code: int | None = None
    exit_description: str = ""
    started_at: float | None = None  # time.monotonic() of the current run
    started_wall: float | None = None  # time.time() of the current run, for display
    exited_wall: float | None = None  # time.time() of the last exit, for display
    retry_at: float | None = None  # time.monotonic() of the next backoff attempt
    fast_failures: int = 0
    ready: bool | None = None  # None: the type has no readiness probe
    detail: str = ""  # why it waits, is blocked or unready: "waiting for db (ready)"
    partial: str = ""  # the unfinished last line as subscribers last saw it (never in the log buffer)
    waiting: bool = False  # blocked reading its terminal: a prompt, a breakpoint
    modes: TerminalModes = field(default_factory=TerminalModes, repr=False)  # how its keys are encoded
    stop_sent_at: float | None = None  # time.monotonic() when procdash sent the current run its stop signal
    killed: bool = False  # the current run outlived its stop timeout and was SIGKILLed
    reason: str = ""  # why procdash last restarted it on its own ("src/app.py changed")
    reason_run: int = -1  # the ``restarts`` count of the run that restart started
    # What the supervisor intends; private to it.
    child: Child | None = field(default=None, repr=False)
    retiring: bool = False
    stop_requested: bool = False
    restart_requested: bool = False
    watch: ChildWatch | None = field(default=None, repr=False)
    timers: list[asyncio.TimerHandle] = field(default_factory=list, repr=False)
    probe: ProbeRunner | None = field(default=None, repr=False)
    port_wait: bool = False  # blocked by a taken port, re-checked until it is free

    @property
    def name(self) -> str:
        """The PS name, e.g. web.2."""
        return f"{self.type_name}.{self.number}"

    @property
    def alive(self) -> bool:
        """Whether a process of this instance exists (or is being drained)."""
        return self.child is not None

    @property
    def reaped(self) -> bool:
        """Whether the current process has exited while its output is still being drained."""
        return self.watch is not None and self.watch.reaped

    @property
    def uptime(self) -> float | None:
        """Seconds since the current run started, or None when not running."""
        if self.started_at is None or self.state not in LIVE_STATES:
            return None
        return time.monotonic() - self.started_at

    @property
    def retry_in(self) -> float | None:
        """Seconds until the next backoff attempt, or None when not in backoff."""
        if self.retry_at is None or self.state is not State.BACKOFF:
            return None
        return max(0.0, self.retry_at - time.monotonic())

    @property
    def status_text(self) -> str:
        """The state as the table, the headless lines and ``ctl status`` show it: "ready", "waiting for db (ready)"."""
        if self.detail and self.state in (State.WAITING, State.BLOCKED, State.UNREADY):
            return self.detail
        if self.reason and (
            (self.state is State.STOPPING and self.restart_requested)
            or (self.state is State.STARTING and self.restarts == self.reason_run)
        ):
            return f"restarting: {self.reason}"
        if self.state is State.RUNNING and self.ready:
            return "ready"
        return self.state.value

    def cancel_timers(self) -> None:
        """Cancel pending backoff and kill timers."""
        for handle in self.timers:
            handle.cancel()
        self.timers.clear()
