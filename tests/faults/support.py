"""Shared tools for the fault suite: run the real procdash (piped or on a pty), track and await pids."""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path

import psutil
import pytest

from procdash.core.procfile import ProcessType
from procdash.core.supervisor import Supervisor, SupervisorOptions
from tests.helpers import run_supervisor

# The child side of a pty spawn: we are already a session leader (start_new_session), so opening our
# terminal by path makes it the controlling terminal, exactly as a login shell gets one. A first
# argument "<&-" closes stdin before procdash starts.
_CTTY_TRAMPOLINE = (
    "import os, sys\n"
    "os.close(os.open(os.ttyname(0), os.O_RDWR))\n"
    "args = sys.argv[1:]\n"
    "if args[:1] == ['<&-']:\n"
    "    os.close(0)\n"
    "    args = args[1:]\n"
    "os.execv(sys.executable, [sys.executable, '-m', 'procdash', *args])\n"
)


def dashboard_available() -> bool:
    """Whether the dashboard can run here (it is built separately; until then its cases skip)."""
    try:
        module = importlib.import_module("procdash.ui.app")
    except Exception:
        return False
    return hasattr(module, "ProcdashApp")


needs_dashboard = pytest.mark.skipif(not dashboard_available(), reason="procdash.ui.app.ProcdashApp not importable")


def procdash_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """procdash's environment for a test: no inherited colour or port settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "PORT", "COLUMNS", "LINES")}
    env.update(extra or {})
    return env


def procdash_argv(*args: str) -> list[str]:
    """The command line that runs the real procdash with this interpreter."""
    return [sys.executable, "-m", "procdash", *args]


def run_procdash(
    args: Sequence[str], *, cwd: Path, timeout: float = 30.0, env: Mapping[str, str] | None = None, **kwargs: object
) -> subprocess.CompletedProcess[bytes]:
    """Run procdash to completion with pipes (headless), bounded by ``timeout``."""
    return subprocess.run(
        procdash_argv(*args),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        env=procdash_env(env),
        **kwargs,  # type: ignore[arg-type]
    )


def start_procdash(
    args: Sequence[str], *, cwd: Path, stdout: object = subprocess.PIPE, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start procdash headless in its own session (so signals sent to it reach nothing else)."""
    return subprocess.Popen(
        procdash_argv(*args),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=stdout,  # type: ignore[arg-type]
        stderr=subprocess.STDOUT,
        env=procdash_env(env),
        start_new_session=True,
    )


class PtyProcdash:
    """procdash running on a pty as its controlling terminal; a thread keeps what it writes."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        size: tuple[int, int] = (100, 30),
        drain: bool = True,
        read_size: int = 65536,
        read_pause: float = 0.0,
    ) -> None:
        self.master, slave = pty.openpty()
        columns, rows = size
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _CTTY_TRAMPOLINE, *args],
                cwd=cwd,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=procdash_env({"TERM": "xterm-256color", **(env or {})}),
                start_new_session=True,
            )
        finally:
            os.close(slave)
        self._lock = threading.Lock()
        self._data = bytearray()
        self._paused = threading.Event()
        if not drain:
            self._paused.set()
        self._closed = False
        # A small read size with a pause between reads plays a terminal that draws slowly.
        self._read_size = read_size
        self._read_pause = read_pause
        self._thread = threading.Thread(target=self._read_loop, daemon=True)
        self._thread.start()

    @property
    def pid(self) -> int:
        """procdash's pid (the trampoline execs into it)."""
        return self.proc.pid

    def output(self) -> bytes:
        """Every byte procdash has written to its terminal so far."""
        with self._lock:
            return bytes(self._data)

    def text(self) -> str:
        """The terminal output decoded, for searching."""
        return self.output().decode("utf-8", "replace")

    def pause(self) -> None:
        """Stop reading, like a terminal that cannot keep up (writes to it block once its buffer fills)."""
        self._paused.set()

    def resume(self) -> None:
        """Read again."""
        self._paused.clear()

    def type(self, data: bytes) -> None:
        """Type bytes at the terminal (b"\\x03" is Ctrl-C)."""
        os.write(self.master, data)

    def hang_up(self) -> None:
        """Close the terminal, as when its window is closed: the kernel sends SIGHUP to procdash."""
        if not self._closed:
            # The reader thread must let go first: an fd closed while another thread sits in read()
            # on it stays open in the kernel until that read returns, delaying the hangup.
            self._closed = True
            self._thread.join(timeout=5)
            os.close(self.master)

    def wait(self, timeout: float) -> int:
        """Wait for procdash to exit (bounded) and return its status."""
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        """Kill procdash if it is still there and release the terminal."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.hang_up()
        self._thread.join(timeout=5)

    def _read_loop(self) -> None:
        """Collect output until the terminal closes; honour pause()."""
        while not self._closed:
            if self._paused.is_set():
                time.sleep(0.01)
                continue
            # Wait briefly for output, so a hang_up() is never stuck behind a blocking read.
            if not select.select([self.master], [], [], 0.02)[0]:
                continue
            try:
                chunk = os.read(self.master, self._read_size)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self._data += chunk
            if self._read_pause:
                time.sleep(self._read_pause)


def read_pids(path: Path) -> list[int]:
    """The pids that children appended to a file (one per line), in order."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return [int(word) for word in text.split() if word.isdigit()]


def is_running(pid: int) -> bool:
    """Whether a process with this pid exists and is not a zombie (a zombie runs nothing)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def survivors_after(pids: Iterable[int], within: float) -> list[int]:
    """Wait up to ``within`` seconds for every pid to be gone; return those still running."""
    pending = list(pids)
    deadline = time.monotonic() + within
    while True:
        pending = [pid for pid in pending if is_running(pid)]
        if not pending or time.monotonic() >= deadline:
            return pending
        time.sleep(0.02)


def describe(pids: Iterable[int]) -> str:
    """pid and command line of each process, for an assertion message."""
    parts = []
    for pid in pids:
        try:
            parts.append(f"{pid}: {' '.join(psutil.Process(pid).cmdline())}")
        except psutil.NoSuchProcess:
            parts.append(f"{pid}: gone")
    return "; ".join(parts)


def kill_all(pids: Iterable[int]) -> None:
    """SIGKILL whatever is left (cleanup after a failed or limitation test)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Poll until ``predicate()`` holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def make_supervisor(
    procfile: Mapping[str, str],
    root: Path,
    counts: Mapping[str, int] | None = None,
    **options: object,
) -> Supervisor:
    """A supervisor over an in-memory Procfile, with a short kill timeout unless given."""
    types = [ProcessType(name, command, index + 1) for index, (name, command) in enumerate(procfile.items())]
    opts = SupervisorOptions(**{"timeout": 2.0, **options})  # type: ignore[arg-type]
    return Supervisor(
        types,
        dict(counts) if counts is not None else dict.fromkeys(procfile, 1),
        root=root,
        dotenv={},
        base_port=5000,
        options=opts,
        base_env=procdash_env(),
    )


def drive(sup: Supervisor, body: Callable[[Supervisor], Awaitable[None]], *, timeout: float = 60.0) -> None:
    """Start the supervisor, run ``body`` (bounded), and always stop every process afterwards."""
    run_supervisor(sup, body, timeout=timeout)
