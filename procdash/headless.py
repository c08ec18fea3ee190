"""Headless mode: Foreman-style prefixed logs on stdout, signals handled, exit when the formation is done."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import sys
import time
from collections.abc import Callable, Collection, Sequence
from typing import BinaryIO, Protocol

from procdash.core import events as ev
from procdash.core.instance import State
from procdash.core.supervisor import Supervisor
from procdash.core.wording import describe_exit, describe_stopping, describe_waiting

# Foreman's palette: one colour per type, in Procfile order.
PALETTE = ("36", "33", "32", "35", "31", "34", "96", "93", "92", "95", "91", "94")
RESET = "\x1b[0m"
SYSTEM = "system"


class Service(Protocol):
    """Something that runs beside the formation (control socket, stats reporter) in either mode."""

    async def start(self, supervisor: Supervisor) -> None:
        """Begin serving; called once the supervisor has started."""

    async def stop(self) -> None:
        """Stop serving and release resources; called after every process has stopped."""


class Printer:
    """Formats supervisor events as prefixed lines and writes each batch with one write."""

    def __init__(
        self,
        out: BinaryIO,
        *,
        names: list[str],
        color: bool,
        timestamps: bool = True,
        prefix: bool = True,
        on_broken_pipe: Callable[[], None] | None = None,
        quiet: Collection[str] = (),
    ) -> None:
        self.out = out
        self.quiet = frozenset(quiet)  # types whose output is hidden (honcho's -q); their system lines stay
        self._fd = _fileno(out)
        if self._fd is not None:
            out.flush()  # anything buffered before goes first; from here on, writes bypass the buffer
        self.color = color
        self.timestamps = timestamps
        self.prefix = prefix
        self.on_broken_pipe = on_broken_pipe
        self.broken = False
        self.width = max([len(SYSTEM), *map(len, names)])
        self._colors: dict[int, str] = {}

    def __call__(self, event: ev.Event) -> None:
        """Print what an event means to a person reading the log."""
        if isinstance(event, ev.Output):
            inst = event.instance
            if inst.type_name in self.quiet:
                return
            self.write(self._format(inst.name, event.lines, self._color_for(inst.type_index)))
        elif isinstance(event, ev.Started):
            port = f", port {event.instance.port}" if event.instance.port is not None else ""
            self.system(f"{event.instance.name} started (pid {event.instance.pid}{port})")
        elif isinstance(event, ev.Exited):
            self.system(describe_exit(event))
        elif isinstance(event, ev.Stopping):
            self.system(describe_stopping(event))
        elif isinstance(event, ev.Restarting):
            inst = event.instance
            self.system(f"{inst.name} restarting in {event.delay:g}s (failure {inst.fast_failures} in a row)")
        elif isinstance(event, ev.Fatal):
            self.system(f"{event.instance.name} failed {event.failures} times in a row: giving up")
        elif isinstance(event, ev.Scaled):
            self.system(f"{event.type_name} scaled to {event.count}")
        elif isinstance(event, ev.Added):
            self.width = max(self.width, len(event.instance.name))
        elif isinstance(event, ev.Notice):
            self.system(event.text)
        elif isinstance(event, ev.Waiting) and event.waiting:
            self.system(describe_waiting(event.instance.name, event.prompt))

    def system(self, text: str) -> None:
        """Print a line from procdash itself."""
        self.write(self._format(SYSTEM, [text], "1" if self.color else ""))

    def write(self, text: str) -> None:
        """Write one batch; a closed stdout (``| head``) stops the formation instead of crashing."""
        if self.broken:
            return
        try:
            data = text.encode("utf-8", "replace")
            if self._fd is None:
                self.out.write(data)
                self.out.flush()
            else:
                write_all(self._fd, data)
        except OSError:
            # EPIPE after ``| head``, EIO once the terminal was closed: either way nobody can read us.
            self.broken = True
            if self.on_broken_pipe is not None:
                self.on_broken_pipe()

    def _color_for(self, index: int) -> str:
        """The SGR code for a type, or "" without colour."""
        return PALETTE[index % len(PALETTE)] if self.color else ""

    def _format(self, name: str, lines: list[str], sgr: str) -> str:
        """Prefix every line with time and name; reset colour after lines that set their own."""
        if not self.prefix:
            head = ""
        else:
            stamp = time.strftime("%H:%M:%S ") if self.timestamps else ""
            head = f"{stamp}{name:<{self.width}} | "
            if sgr:
                head = f"\x1b[{sgr}m{head}{RESET}"
        if self.color and any("\x1b" in line for line in lines):
            lines = [line + RESET if "\x1b" in line else line for line in lines]
        return head + ("\n" + head).join(lines) + "\n"


def _fileno(out: BinaryIO) -> int | None:
    """The file descriptor behind ``out``, or None for an in-memory stream."""
    try:
        return out.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return None


def write_all(fd: int, data: bytes) -> None:
    """Write every byte to ``fd``, resuming after partial writes.

    A caught signal (SIGTERM, SIGINT) that lands during a partial write to a slow reader makes Python's
    BufferedWriter drop the rest of the buffer; looping over os.write keeps every byte.
    """
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:  # someone else made the terminal non-blocking: wait until it drains
            select.select([], [fd], [])
            continue
        view = view[written:]


async def run_headless(
    supervisor: Supervisor,
    *,
    color: bool,
    timestamps: bool,
    prefix: bool,
    exit_on_failure: bool,
    out: BinaryIO | None = None,
    services: Callable[[], Sequence[Service]] = tuple,
    quiet: Collection[str] = (),
) -> int:
    """Run the formation until it is done or procdash is told to stop; returns the exit status.

    ``services`` builds what runs beside the formation; it is called once the formation has started.
    """
    loop = asyncio.get_running_loop()
    names = [f"{t.name}.{max(1, supervisor.desired[t.name])}" for t in supervisor.types]
    stop_task: asyncio.Task[None] | None = None
    signalled: list[int] = []
    first_failure: list[int] = []

    def begin_stop() -> None:
        nonlocal stop_task
        if stop_task is None:
            stop_task = loop.create_task(supervisor.stop_all())

    printer = Printer(
        out or sys.stdout.buffer,
        names=names,
        color=color,
        timestamps=timestamps,
        prefix=prefix,
        on_broken_pipe=begin_stop,
        quiet=quiet,
    )

    def on_event(event: ev.Event) -> None:
        printer(event)
        # A code listed in the type's success_exit_codes leaves the instance "exited", not "crashed".
        failed = isinstance(event, ev.Exited) and event.instance.state is not State.EXITED and event.code != 0
        if isinstance(event, ev.Exited) and failed and not event.requested and not event.will_restart:
            if not first_failure:
                first_failure.append(event.code)
            if exit_on_failure and stop_task is None:
                printer.system(f"{event.instance.name} failed: stopping all processes (--exit-on-failure)")
                begin_stop()

    def on_signal(signum: int) -> None:
        signalled.append(signum)
        name = signal.Signals(signum).name
        if len(signalled) == 1:
            printer.system(f"{name} received: stopping all processes (again to kill at once)")
            begin_stop()
        else:
            printer.system(f"{name} received again: killing all processes")
            supervisor.kill_all()

    supervisor.subscribe(on_event)
    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for signum in handled:
        loop.add_signal_handler(signum, on_signal, signum)
    started: list[Service] = []
    try:
        supervisor.start()
        for service in services():
            await service.start(supervisor)
            started.append(service)
        if supervisor.is_idle() and not supervisor.instances():
            printer.system("nothing to run: every process type has a count of 0")
        elif supervisor.is_idle() and all(inst.started_at is None for inst in supervisor.instances()):
            printer.system("nothing started: every process type has a count of 0, autostart = false or waits")
        await supervisor.wait_idle()
        if stop_task is not None:
            await stop_task
    finally:
        if not supervisor.is_idle():
            await supervisor.stop_all()
        for service in reversed(started):
            await service.stop()
        supervisor.close()
        for signum in handled:
            loop.remove_signal_handler(signum)
    if first_failure:
        return first_failure[0]
    if signalled:
        return 128 + signalled[0]
    return 0


def stdout_is_terminal() -> bool:
    """Whether procdash's stdout is a terminal (colour and the dashboard depend on it)."""
    try:
        return os.isatty(sys.stdout.fileno())
    except (OSError, ValueError):
        return False
