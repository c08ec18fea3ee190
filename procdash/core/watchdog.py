"""procdash's side of the guardian, a small shell process that kills procdash's groups if procdash dies.

The pty hangup already stops children that honour SIGHUP; this covers the ones that ignore or
reinterpret it (nohup, servers that reload on HUP). procdash writes "+PGID START" and "-PGID" lines to
the guardian's stdin; end of file with groups still listed means procdash is gone, and the guardian
(guardian.sh beside this file) sends SIGTERM, waits the kill timeout, then SIGKILLs what is left.
It is a POSIX shell script rather than a Python interpreter: it lives as long as procdash, and costs
about 1 MB instead of 11.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
from pathlib import Path

from procdash.core import reaper
from procdash.core.groups import start_time

SCRIPT = Path(__file__).with_name("guardian.sh")
SHELL = "/bin/sh"


def guardian_command(timeout: float) -> list[str]:
    """The guardian's command line: the shell, the script, and the kill timeout in centiseconds."""
    return [SHELL, str(SCRIPT), str(max(0, round(timeout * 100)))]


def _reap_within(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Reap ``proc`` if it ends within ``timeout`` seconds, waking the moment it does.

    Popen.wait(timeout=...) polls in sleeps that grow to 50 ms, which would add up to that much to
    every exit of procdash; a pidfd in select() returns as soon as the guardian is gone.
    """
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfds on this system
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
        return
    try:
        if select.select([pidfd], [], [], timeout)[0]:
            proc.wait()
    finally:
        os.close(pidfd)


class Watchdog:
    """procdash's side of the guardian: start it lazily and tell it about groups."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._proc: subprocess.Popen[bytes] | None = None

    def add(self, pgid: int) -> None:
        """Register a new process group with its leader's start time (so a recycled id is never hit)."""
        start = start_time(pgid)
        self._send(f"+{pgid} {start}\n" if start is not None else f"+{pgid}\n")

    def remove(self, pgid: int) -> None:
        """Forget a group that is gone, so a recycled id is never touched."""
        self._send(f"-{pgid}\n")

    def close(self) -> None:
        """Close the pipe; with no groups left the guardian exits at once, else it finishes on its own."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            assert proc.stdin is not None
            proc.stdin.close()
        except OSError:
            pass
        # Normally the guardian has nothing left to do; if it does, it works on in its own session.
        _reap_within(proc, 1.0)
        if proc.returncode is not None:
            reaper.OWN.discard(proc.pid)

    def _send(self, text: str) -> None:
        """Write one registration line, starting the guardian first if needed."""
        if self._proc is None:
            try:
                self._proc = subprocess.Popen(
                    guardian_command(self.timeout),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                    close_fds=True,
                )
            except OSError:  # no /bin/sh: the pty hangup is all that is left; the formation runs on
                return
            reaper.OWN.add(self._proc.pid)
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(text.encode())
            self._proc.stdin.flush()
        except BrokenPipeError:
            self._proc = None
