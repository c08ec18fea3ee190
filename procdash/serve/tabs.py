"""One process per browser tab (``procdash attach`` under Textual's web driver), none outliving the server."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shlex
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

PR_SET_PDEATHSIG = 1
QUIT_GRACE = 2.0  # seconds a tab's app gets to leave by itself once asked, before SIGTERM
KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL


def die_with_parent() -> None:
    """In the child before exec: the kernel sends it SIGTERM if procdash serve dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class TabProcess(AppService):
    """textual-serve's app service, spawning an argv (no shell) in its own session that dies with serve.

    textual-serve runs its command through ``sh -c``; dash keeps itself as the parent, so a signal
    to the shell would miss the app. Here the app is the direct child, its own process group leader.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        write_bytes: Callable[[bytes], Awaitable[None]],
        write_str: Callable[[str], Awaitable[None]],
        close: Callable[[], Awaitable[Any]],
        download_manager: DownloadManager,
    ) -> None:
        super().__init__(
            shlex.join(argv),
            write_bytes=write_bytes,
            write_str=write_str,
            close=close,
            download_manager=download_manager,
        )
        self.argv = list(argv)

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Any:
        """Start the tab's app with the web driver's environment, as textual-serve would."""
        environment = self._build_environment(width=width, height=height)
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self._stdin = process.stdin
        return process

    @property
    def pid(self) -> int | None:
        """The app's pid once started."""
        return self._process.pid if self._process is not None else None

    async def close(self, grace: float = QUIT_GRACE) -> None:
        """Ask the app to quit, then SIGTERM and SIGKILL its process group; always reaps it."""
        process = self._process
        if process is None:
            return
        with contextlib.suppress(asyncio.TimeoutError, OSError):
            await asyncio.wait_for(self.stop(), grace)
        for signum, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, None)):
            if process.returncode is not None:
                break
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signum)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(process.wait(), wait)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


class Tabs:
    """Every tab process running, so shutting down can close them all."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running: set[TabProcess] = set()

    def full(self) -> bool:
        """Whether one more tab would pass the limit (each is a process: a runaway page must not fork without end)."""
        return len(self.running) >= self.limit

    async def close_all(self, grace: float = QUIT_GRACE) -> None:
        """Close every tab's process at once, bounded by the graces."""
        await asyncio.gather(*(tab.close(grace) for tab in list(self.running)))
