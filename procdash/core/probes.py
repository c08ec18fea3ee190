"""Readiness probes for one running instance: TCP connect, HTTP GET, a log line, or a command exiting 0.

A probe waits ``initial_delay``, then tries every ``interval`` (each try bounded by ``timeout``) until
one succeeds. After ``retries`` failures in a row it reports the instance unready with the last reason,
and keeps trying: a slow start turns ready on its own, a broken one stays visibly unready.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from procdash.core.typeoptions import Probe

HOSTS = ("127.0.0.1", "::1")


class ProbeRunner:
    """Runs one instance's probe on the event loop and reports ``on_ready`` once, ``on_unready`` on failure."""

    def __init__(
        self,
        probe: Probe,
        *,
        port: int | None,
        env: Mapping[str, str],
        cwd: Path,
        on_ready: Callable[[], None],
        on_unready: Callable[[str], None],
        guard: Callable[[int, bool], None] | None = None,
    ) -> None:
        self.probe = probe
        self.port = probe.port if probe.port is not None else port
        self.env = dict(env)
        self.cwd = cwd
        self.on_ready = on_ready
        self.on_unready = on_unready
        # exec probes: told (group, True) when one starts and (group, False) once it is reaped, so the
        # guardian that outlives procdash can kill a probe left running.
        self.guard = guard
        self.ready = False
        self.failures = 0
        self.last_reason = ""
        self._pattern = re.compile(probe.pattern) if probe.kind == "log" else None
        self._task: asyncio.Task[None] | None = None
        self._started_at = time.monotonic()

    def start(self) -> None:
        """Begin probing (a log probe only arms its deadline; lines arrive through ``feed``)."""
        self._started_at = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def cancel(self) -> asyncio.Task[None] | None:
        """Stop probing (the process ended or is being stopped); returns the task still winding down."""
        task, self._task = self._task, None
        if task is None or task.done():
            return None
        task.cancel()
        return task

    def feed(self, lines: list[str]) -> None:
        """Log probe: look for the pattern in new output lines."""
        if self._pattern is None or self.ready:
            return
        if any(self._pattern.search(line) for line in lines):
            self._succeed()

    async def _run(self) -> None:
        """The probe loop; returns once ready or cancelled."""
        probe = self.probe
        await asyncio.sleep(probe.initial_delay)
        if self._pattern is not None:
            # A log probe has nothing to try: it turns unready when no line matched in retries x interval.
            await asyncio.sleep(probe.interval * probe.retries)
            if not self.ready:
                waited = time.monotonic() - self._started_at
                self._fail(f"no matching line after {waited:.0f}s", force=True)
            return
        while not self.ready:
            began = time.monotonic()
            reason = await self.attempt()
            if reason is None:
                self._succeed()
                return
            self._fail(reason)
            await asyncio.sleep(max(0.0, probe.interval - (time.monotonic() - began)))

    async def attempt(self) -> str | None:
        """One try: None on success, else a short reason ("connection refused", "503", "exit 1")."""
        try:
            return await asyncio.wait_for(self._try(), self.probe.timeout)
        except asyncio.TimeoutError:
            return f"no answer within {self.probe.timeout:g}s"

    async def _try(self) -> str | None:
        """Dispatch on the probe's kind."""
        kind = self.probe.kind
        if kind == "exec":
            return await self._exec()
        if self.port is None:
            return "no port to probe"
        if kind == "tcp":
            return await self._connect_only()
        return await self._http()

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | str:
        """A connection to the port on 127.0.0.1 or ::1, or why neither accepted."""
        reason = "connection refused"
        for host in HOSTS:
            try:
                return await asyncio.open_connection(host, self.port)
            except OSError as exc:
                reason = (exc.strerror or str(exc)).lower()
        return reason

    async def _connect_only(self) -> str | None:
        """TCP: the port accepts a connection."""
        opened = await self._open()
        if isinstance(opened, str):
            return opened
        _close(opened[1])
        return None

    async def _http(self) -> str | None:
        """HTTP: GET the path; 2xx and 3xx are ready."""
        opened = await self._open()
        if isinstance(opened, str):
            return opened
        reader, writer = opened
        try:
            request = f"GET {self.probe.path} HTTP/1.0\r\nHost: 127.0.0.1:{self.port}\r\nConnection: close\r\n\r\n"
            writer.write(request.encode("latin-1", "replace"))
            await writer.drain()
            status = await reader.readline()
        except OSError as exc:
            return (exc.strerror or str(exc)).lower()
        finally:
            _close(writer)
        parts = status.split()
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            return "not an HTTP answer"
        code = int(parts[1])
        return None if 200 <= code < 400 else str(code)

    async def _exec(self) -> str | None:
        """exec: the command exits 0 (run in its own group, killed with it on timeout or cancel)."""
        process = await asyncio.create_subprocess_shell(
            self.probe.command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
        )
        if self.guard is not None:
            self.guard(process.pid, True)
        try:
            code = await process.wait()
        except BaseException:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(BaseException):
                await asyncio.shield(process.wait())
            raise
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)  # what the command left running in its group
            if self.guard is not None:
                self.guard(process.pid, False)
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return None if code == 0 else f"exit {code}"

    def _succeed(self) -> None:
        """Ready: report once and stop."""
        if self.ready:
            return
        self.ready = True
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        self._task = None
        self.on_ready()

    def _fail(self, reason: str, *, force: bool = False) -> None:
        """Count a failure; report unready once the retries are used up (again when the reason changes)."""
        self.failures += 1
        changed = reason != self.last_reason
        self.last_reason = reason
        if force or self.failures == self.probe.retries or (self.failures > self.probe.retries and changed):
            self.on_unready(reason)


def _close(writer: asyncio.StreamWriter) -> None:
    """Close a probe connection without waiting for the peer."""
    with contextlib.suppress(OSError):
        writer.close()
