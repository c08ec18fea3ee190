"""Helpers for serve tests: the real web application on a loopback port, in this process."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psutil
from aiohttp import web

from procdash.serve.address import Address, bind
from procdash.serve.guard import Guard
from procdash.serve.tabs import Tabs
from procdash.serve.web import Dashboard, build_app
from tests.control.support import PROCDASH
from tests.helpers import wait_until_sync

TINY_APP = [sys.executable, str(Path(__file__).with_name("tiny_app.py"))]
TOKEN = "the-right-token"


@dataclass
class Served:
    """A running test server: where it is and what it runs."""

    address: Address
    dashboard: Dashboard
    refusals: list[str]  # the lines serve would print, one per refused request

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.address.port}"

    @property
    def origin(self) -> str:
        """The Origin its own page has."""
        return self.base


@contextlib.asynccontextmanager
async def serving(command: Sequence[str] = TINY_APP, token: str = TOKEN, tabs: int = 4) -> AsyncIterator[Served]:
    """The guard and dashboard on 127.0.0.1 (a free port); every tab closed and the socket released after."""
    sock, address = bind("127.0.0.1", 0)
    dashboard = Dashboard(command, "test", Tabs(tabs))
    refusals: list[str] = []
    guard = Guard(token, address.port, address.names, on_refuse=refusals.append)
    runner = web.AppRunner(build_app(guard, dashboard), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        yield Served(address, dashboard, refusals)
    finally:
        await dashboard.close()
        await runner.cleanup()
        sock.close()


class ServeProcess:
    """``procdash serve`` in a subprocess, its output collected by a thread, its URL read from it."""

    def __init__(self, argv: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [*PROCDASH, "serve", "--port", "0", *argv],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.env = env
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        """Collect output lines until serve closes it."""
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.output.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def wait_url(self, timeout: float = 30) -> str:
        """The dashboard URL serve printed (bounded)."""

        def found() -> str | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"procdash serve exited {self.proc.returncode}: {self.output}")
            for line in self.output:
                match = re.search(r"dashboard at (http://\S+)", line)
                if match:
                    return match.group(1)
            return None

        wait_until_sync(found, timeout=timeout)
        url = found()
        assert url is not None
        return url

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Signal serve and wait for it (SIGKILL if it hangs, which fails the test)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise AssertionError(f"procdash serve did not stop within {timeout}s: {self.output}") from None
        self._reader.join(timeout=5)
        return status


@contextlib.contextmanager
def serve_process(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> Iterator[ServeProcess]:
    """Run ``procdash serve`` for the body; stopped (SIGTERM) afterwards if the body did not."""
    served = ServeProcess(argv, cwd, env)
    try:
        yield served
    finally:
        served.stop()


def still_running(pids: list[int]) -> list[int]:
    """Those of ``pids`` that still run (a zombie has ended)."""
    running = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.append(pid)
        except psutil.NoSuchProcess:
            continue
    return running


async def open_tab(url: str) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    """A websocket as the page opens it (its Origin, the token's cookie), once the dashboard has drawn its table."""
    base, token = url.split("/?token=", 1)
    port = base.rsplit(":", 1)[1]
    session = aiohttp.ClientSession(cookies={f"procdash-token-{port}": token})
    ws = await session.ws_connect(base.replace("http://", "ws://") + "/ws?width=120&height=30", origin=base)
    seen = b""
    while b"worker.1" not in seen:
        message = await ws.receive(timeout=30)
        assert message.type == aiohttp.WSMsgType.BINARY, (message, seen[-500:])
        seen += message.data
    return session, ws
