"""A tiny guardian process that kills procdash's process groups if procdash itself dies.

The pty hangup already stops children that honour SIGHUP; this covers the ones that ignore or
reinterpret it (nohup, servers that reload on HUP). procdash writes "+PGID START" and "-PGID" lines to
the guardian's stdin; end of file with groups still listed means procdash is gone, so the guardian
sends SIGTERM, waits the kill timeout, then SIGKILLs what is left. It runs as a plain script with
only the standard library, in its own session, so Ctrl-C at the terminal never reaches it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import select
import signal
import subprocess
import sys
import time

try:
    from procdash.core import reaper
    from procdash.core.groups import start_time, still_ours
except ImportError:  # run as the guardian script (-I -S): procdash is not importable, its folder is at hand
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    still_ours = importlib.import_module("groups").still_ours


def guard(timeout: float) -> None:
    """Read group registrations until EOF, then take every remaining group down."""
    groups: dict[int, int | None] = {}  # pgid -> its leader's start time, to tell a recycled id
    for raw in sys.stdin.buffer:
        words = raw.strip().split()
        if not words or len(words[0]) < 2 or not words[0][1:].isdigit():
            continue
        pgid = int(words[0][1:])
        if words[0][:1] == b"+":
            groups[pgid] = int(words[1]) if len(words) > 1 and words[1].isdigit() else None
        elif words[0][:1] == b"-":
            groups.pop(pgid, None)
    groups = {pgid: start for pgid, start in groups.items() if still_ours(pgid, start)}
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGTERM)
            os.killpg(pgid, signal.SIGCONT)
        except OSError:
            pass
    deadline = time.monotonic() + timeout
    while groups and time.monotonic() < deadline:
        time.sleep(0.05)
        groups = {pgid: start for pgid, start in groups.items() if still_ours(pgid, start)}
    for pgid, start in groups.items():
        if still_ours(pgid, start):  # checked once more: an id can be recycled within the last sleep
            try:
                os.killpg(pgid, signal.SIGKILL)
            except OSError:
                pass


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
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", __file__, str(self.timeout)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
            reaper.OWN.add(self._proc.pid)
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(text.encode())
            self._proc.stdin.flush()
        except BrokenPipeError:
            self._proc = None


if __name__ == "__main__":
    # It must outlive procdash to do its job (``pkill -f procdash`` matches it too); it exits on its own.
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    guard(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
    # Nothing is buffered and procdash waits for this exit: skip interpreter teardown (about 5 ms).
    os._exit(0)
