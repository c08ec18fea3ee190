"""The formation ``procdash serve`` shows: one already running for the Procfile, or ``start --headless`` of its own."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from procdash.control.client import NotRunning, find_socket
from procdash.control.listener import ask_info
from procdash.core.errors import ConfigError
from procdash.serve.tabs import die_with_parent

PROCDASH = (sys.executable, "-m", "procdash")
START_TIMEOUT = 30.0  # seconds for our own formation's control socket to answer
POLL = 0.05  # while waiting for it to come up
WATCH_INTERVAL = 2.0  # how often a formation that is not ours is checked for having ended


class FormationEnded(Exception):
    """Our ``start --headless`` ended before its control socket answered; ``status`` is its exit status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"procdash start ended with status {status}")
        self.status = status


def answers(path: Path) -> bool:
    """Whether a procdash answers ``info`` on the socket."""
    try:
        return ask_info(path, timeout=2.0) is not None
    except (OSError, ValueError):
        return False


def running_socket(procfile: Path) -> Path | None:
    """The socket of a procdash already running for this Procfile, or None."""
    try:
        path = find_socket(procfile)
    except NotRunning:
        return None
    return path if answers(path) else None


class Formation:
    """A formation being served: ``wait`` returns when it has ended, with the status serve should exit with."""

    socket: Path
    ours: bool = False

    async def wait(self) -> int:
        """Until the formation has ended."""
        raise NotImplementedError

    def signal(self, signum: int) -> None:
        """Pass on a stop signal (a formation that is not ours is left running)."""

    async def stop(self) -> int:
        """Make sure it has ended (ours) or let it be (not ours); returns the exit status for serve."""
        return 0


class Running(Formation):
    """A procdash someone else started: served as it is, never stopped by serve."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket

    async def wait(self) -> int:
        """Poll the socket (one connection every few seconds costs nothing) until it stops answering."""
        loop = asyncio.get_running_loop()
        while await loop.run_in_executor(None, answers, self.socket):
            await asyncio.sleep(WATCH_INTERVAL)
        return 0


class Owned(Formation):
    """``procdash start --headless`` as serve's child: its output is serve's, and it stops when serve does."""

    ours = True

    def __init__(self, process: asyncio.subprocess.Process, socket: Path, timeout: float) -> None:
        self.process = process
        self.socket = socket
        self.timeout = timeout  # its stop timeout: beyond it (and a margin) the child is killed

    @classmethod
    async def start(cls, start_args: Sequence[str], procfile: Path, timeout: float) -> Owned:
        """Spawn it and wait until its control socket answers; FormationEnded if it gave up first.

        It gets a session of its own, so a Ctrl-C at the terminal reaches only serve, which passes one
        signal on (a second Ctrl-C passes a second one: kill at once, as in headless mode).
        """
        process = await asyncio.create_subprocess_exec(
            *PROCDASH,
            "start",
            "--headless",
            *start_args,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + START_TIMEOUT
        loop = asyncio.get_running_loop()
        while True:
            if process.returncode is not None:
                raise FormationEnded(process.returncode)
            found = await loop.run_in_executor(None, running_socket, procfile)
            if found is not None:
                return cls(process, found, timeout)
            if time.monotonic() > deadline:
                process.kill()
                await process.wait()
                raise ConfigError(f"serve: the formation's control socket did not answer within {START_TIMEOUT:g}s")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(process.wait(), POLL)

    async def wait(self) -> int:
        """Until the child has ended; its exit status is serve's."""
        return await self.process.wait()

    def signal(self, signum: int) -> None:
        """Pass a stop signal on (the first stops gracefully, the second kills, as in headless mode)."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)

    async def stop(self) -> int:
        """Wait for it to finish stopping; past its own timeout plus a margin, kill it (its guardian kills the rest)."""
        try:
            return await asyncio.wait_for(self.process.wait(), self.timeout + 10.0)
        except asyncio.TimeoutError:
            self.signal(signal.SIGKILL)
            return await self.process.wait()
