"""Helpers for control tests: a private runtime dir, a headless procdash subprocess, and the real ``procdash ctl``."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from procdash.control.client import ControlClient, find_socket
from tests.helpers import wait_until_sync, write

PROCDASH = [sys.executable, "-m", "procdash"]
SLEEPERS = "web: sleep 300\nworker: sleep 300\n"


def ctl(*args: str, cwd: Path, env: dict[str, str], timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """Run ``procdash ctl ...`` to completion."""
    return subprocess.run(
        [*PROCDASH, "ctl", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


class Running:
    """A headless procdash in a subprocess whose stdout is collected by a thread."""

    def __init__(self, proc: subprocess.Popen[bytes], procfile: Path, env: dict[str, str]) -> None:
        self.proc = proc
        self.procfile = procfile
        self.env = env
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        """Collect stdout lines until procdash closes it."""
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.output.append(raw.decode("utf-8", "replace").rstrip("\n"))

    @property
    def socket(self) -> Path:
        """Where this procdash listens."""
        return find_socket(self.procfile, self.env)

    def client(self, timeout: float = 10.0) -> ControlClient:
        """An in-process connection to it."""
        return ControlClient(self.socket, timeout=timeout)

    def wait_listening(self) -> None:
        """Block until the control socket answers (bounded)."""

        def answers() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"procdash exited early: {self.output}")
            try:
                with self.client(timeout=2) as client:
                    client.call("info")
            except Exception:
                return False
            return True

        wait_until_sync(answers, timeout=15)

    def stop(self) -> None:
        """Make sure procdash and its children are gone: SIGTERM, then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._reader.join(timeout=5)


@contextmanager
def running(tmp_path: Path, env: dict[str, str], procfile_text: str = SLEEPERS, *args: str) -> Iterator[Running]:
    """Start ``procdash start --headless`` on a Procfile in ``tmp_path`` and stop it afterwards."""
    procfile = write(tmp_path / "Procfile", procfile_text)
    proc = subprocess.Popen(
        [*PROCDASH, "start", "--headless", "--no-timestamp", "-t", "3", *args],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    formation = Running(proc, procfile, env)
    try:
        formation.wait_listening()
        yield formation
    finally:
        formation.stop()


class LineReader:
    """Reads a child's stdout line by line with a deadline, keeping what arrives beyond the lines asked for."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self.fd = proc.stdout.fileno()
        self.pending = b""

    def read(self, count: int, timeout: float) -> list[str]:
        """The next ``count`` lines; fails the test after ``timeout`` seconds or at end of output."""
        deadline = time.monotonic() + timeout
        while self.pending.count(b"\n") < count:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise AssertionError(f"only got {self.pending!r} within {timeout}s")
            chunk = os.read(self.fd, 4096)
            if not chunk:
                raise AssertionError(f"output ended after {self.pending!r}")
            self.pending += chunk
        lines = self.pending.split(b"\n")
        self.pending = b"\n".join(lines[count:])
        return [line.decode() for line in lines[:count]]
