"""Running ``procdash serve``: bind, find or start the formation, serve its dashboard, stop it all on a signal."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from procdash.cli import project_from
from procdash.core.errors import ConfigError
from procdash.core.project import Project
from procdash.serve.address import Address, bind
from procdash.serve.formation import PROCDASH, Formation, FormationEnded, Owned, Running, answers, running_socket
from procdash.serve.guard import Guard, new_token
from procdash.serve.tabs import Tabs
from procdash.serve.web import MAX_TABS, Dashboard, build_app

EXIT_FAILED = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def say(message: str, *, error: bool = False) -> None:
    """One line of serve's own, flushed at once (the formation's log shares the stream)."""
    stream = sys.stderr if error else sys.stdout
    with contextlib.suppress(OSError, ValueError):  # a closed pipe must not take the server down
        print(f"procdash serve: {message}", file=stream, flush=True)


class RefusalLog:
    """Refusals as lines on serve's output, at most ``burst`` a minute: a flood of requests cannot flood the log."""

    def __init__(
        self,
        write: Callable[[str], None],
        burst: int = 20,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.write = write
        self.burst = burst
        self.window = window
        self.clock = clock
        self.began = clock()
        self.shown = 0
        self.dropped = 0

    def __call__(self, line: str) -> None:
        """Show the line, or count it when this window's lines are used up."""
        now = self.clock()
        if now - self.began >= self.window:
            if self.dropped:
                self.write(f"{self.dropped} more requests refused (not shown)")
            self.began, self.shown, self.dropped = now, 0, 0
        if self.shown < self.burst:
            self.shown += 1
            self.write(line)
        else:
            self.dropped += 1


def formation_options_given(args: argparse.Namespace) -> bool:
    """Whether the command line shaped a formation (which a procdash already running ignores)."""
    return bool(args.types or args.formation or args.concurrency or args.base_port or args.timeout is not None) or bool(
        args.restart or args.no_pty
    )


def start_args(args: argparse.Namespace) -> list[str]:
    """The options for our own ``procdash start --headless``, as the user gave them."""
    pairs = (
        ("-f", args.procfile),
        ("-d", args.root),
        ("-e", args.env),
        ("-m", args.formation),
        ("-c", args.concurrency),
        ("-p", args.base_port),
        ("--options", args.options),
        ("-t", None if args.timeout is None else repr(args.timeout)),
        ("--restart", args.restart),
    )
    argv = [item for flag, value in pairs if value is not None for item in (flag, str(value))]
    if args.no_pty:
        argv.append("--no-pty")
    return [*argv, "--", *args.types] if args.types else argv


def load(args: argparse.Namespace) -> Project:
    """The project, read as ``start`` reads it, so bad input is one line here before anything runs."""
    return project_from(args, args.types, port_option="base_port")


def serve(args: argparse.Namespace) -> int:
    """``procdash serve``: 2 for bad input, else the formation's exit status (ours) or 0."""
    project: Project | None = None
    if args.socket is not None:
        if formation_options_given(args):
            raise ConfigError("serve: --socket serves a procdash that runs already: no formation options with it")
        if not answers(Path(args.socket)):
            say(f"nothing answers on {args.socket}", error=True)
            return EXIT_FAILED
    else:
        project = load(args)
    sock, address = bind(args.host, args.port)
    if not address.loopback:
        say(
            f"warning: listening on {args.host}, not loopback: anyone who can reach port {address.port} and "
            "has the URL can drive this formation, and plain HTTP shows the token to the network",
            error=True,
        )
    try:
        return asyncio.run(Server(args, project, sock, address).run())
    finally:
        sock.close()


class Server:
    """One run of ``procdash serve`` on its bound socket."""

    def __init__(self, args: argparse.Namespace, project: Project | None, sock: socket.socket, address: Address):
        self.args = args
        self.project = project
        self.sock = sock
        self.address = address
        self.signals: list[int] = []
        self.stopping = asyncio.Event()
        self.served: Formation | None = None
        self.dashboard: Dashboard | None = None

    async def find_formation(self) -> Formation:
        """The formation to serve: --socket's, the one already running for the Procfile, or our own."""
        if self.args.socket is not None:
            return Running(Path(self.args.socket))
        assert self.project is not None
        existing = await asyncio.get_running_loop().run_in_executor(None, running_socket, self.project.procfile)
        if existing is not None:
            note = "; the formation options given do not apply to it" if formation_options_given(self.args) else ""
            say(f"serving the procdash already running for {self.project.procfile}{note}")
            return Running(existing)
        timeout = float(self.project.setting("timeout", self.args.timeout, 5.0))
        return await Owned.start(start_args(self.args), self.project.procfile, timeout)

    def on_signal(self, signum: int) -> None:
        """First signal: stop (the formation, if ours, gracefully); a second one kills, as in headless mode."""
        self.signals.append(signum)
        self.stopping.set()
        if self.served is not None:
            self.served.signal(signum)
        if len(self.signals) > 1 and self.dashboard is not None:
            for tab in list(self.dashboard.tabs.running):
                asyncio.get_running_loop().create_task(tab.close(grace=0))

    async def run(self) -> int:
        """Serve until a signal or the formation's end, with serve's signal handling from the very start."""
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self.on_signal, signum)
        try:
            return await self._run()
        finally:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)

    async def _run(self) -> int:
        """Find or start the formation, serve it, then close every tab and wait for the formation."""
        try:
            served = self.served = await self.find_formation()
        except FormationEnded as gave_up:
            return gave_up.status
        for signum in self.signals:  # those that came while our formation was starting
            served.signal(signum)
        command = [*PROCDASH, "attach", "--socket", str(served.socket)]
        title = f"procdash: {self.project.procfile}" if self.project is not None else f"procdash: {served.socket}"
        dashboard = self.dashboard = Dashboard(command, title, Tabs(MAX_TABS))
        token = new_token()
        guard = Guard(token, self.address.port, self.address.names, on_refuse=RefusalLog(say))
        runner = web.AppRunner(build_app(guard, dashboard), access_log=None, handle_signals=False, shutdown_timeout=5)
        ended = asyncio.ensure_future(served.wait())
        try:
            if not self.stopping.is_set():
                await runner.setup()
                await web.SockSite(runner, self.sock).start()
                say(f"dashboard at {self.address.url(token)}")
                stop = asyncio.ensure_future(self.stopping.wait())
                await asyncio.wait({ended, stop}, return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                if ended.done() and not self.signals:
                    say("the formation has ended: closing the browser tabs")
        finally:
            await dashboard.close()
            await runner.cleanup()
            status = await served.stop() if served.ours else 0
            if not ended.done():
                ended.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ended
        if served.ours:
            return status
        return 128 + self.signals[0] if self.signals else 0
