"""Reaping what procdash inherits: it is a child subreaper (and may be a container's PID 1).

Orphans of the formation (a shell's background job whose shell died, a daemon's double fork) are
reparented to procdash instead of to init, so they stay inside its reach; when they end, nobody but
procdash can reap them. procdash waits for the children it spawned itself (Popen, pidfds), so this
reaps only zombies it did not spawn and that are not in its own session (a helper started by
procdash's own code, say a readiness probe, is left to the code that waits for it).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING

from procdash.core.beat import next_beat

if TYPE_CHECKING:  # the sampler imports this module for its children lists: it needs no event loop
    import asyncio

PR_SET_CHILD_SUBREAPER = 36
CHUNK = 65536

# Pids procdash spawned and waits for itself; the reaper never steals their exit status.
OWN: set[int] = set()


def become_subreaper() -> bool:
    """Ask the kernel to reparent the formation's orphans to procdash; False where it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # only here, so the sampler's import of this module does not load it

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def thread_children(pid: int, tid: int) -> list[int]:
    """The children one thread of a process started (or inherited), from its ``children`` list; [] when gone."""
    try:
        fd = os.open(f"/proc/{pid}/task/{tid}/children", os.O_RDONLY)
    except OSError:
        return []
    try:
        chunks = [os.read(fd, CHUNK)]
        # The kernel fills a read as far as the list goes, so a short read is the end: one read, in practice.
        while len(chunks[-1]) == CHUNK:
            chunks.append(os.read(fd, CHUNK))
    except OSError:
        return []
    finally:
        os.close(fd)
    try:
        return [int(word) for word in b"".join(chunks).split()]
    except ValueError:
        return []


def child_pids(pid: int, *, main_thread_only: bool = False) -> list[int]:
    """The children of a process, from every thread's children list (they are kept per thread).

    ``main_thread_only`` reads only the thread-group leader's list, which is where orphans are adopted.
    """
    if main_thread_only:
        return thread_children(pid, pid)
    pids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return pids
    for task in tasks:
        if task.isdigit():
            pids.extend(thread_children(pid, int(task)))
    return pids


def _zombie_session(pid: int) -> int | None:
    """The session id of a zombie, or None when the process is not a zombie (or is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # After the parenthesised command: state ppid pgrp session ...
    fields = stat[stat.rfind(b")") + 2 :].split(b" ", 4)
    if len(fields) < 4 or fields[0] != b"Z":
        return None
    return int(fields[3])


def reap_adopted(*, main_thread_only: bool = False) -> int:
    """Reap every zombie child procdash did not spawn itself; returns how many were reaped.

    ``main_thread_only`` looks only where adopted orphans go (see ``OrphanReaper._tick``).
    """
    me = os.getpid()
    own_session = os.getsid(0)
    reaped = 0
    for pid in child_pids(me, main_thread_only=main_thread_only):
        if pid in OWN:
            continue
        session = _zombie_session(pid)
        if session is None or session == own_session:
            continue
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                reaped += 1
    return reaped


class OrphanReaper:
    """Reaps adopted zombies once a second and whenever the supervisor sees an exit.

    No SIGCHLD handler on purpose: a caught signal interrupts whatever thread is writing (a partial
    write), and Python's buffered writers can lose data there; SIGCHLD's default disposition never
    interrupts a system call. A zombie costs the kernel a few hundred bytes for that second.
    """

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.reaped = 0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Become a subreaper and scan periodically on the loop."""
        if not become_subreaper():
            return
        self._loop = loop
        self._timer = loop.call_at(next_beat(loop.time(), self.interval), self._tick)

    def scan(self) -> None:
        """Reap adopted zombies now (an exit often leaves orphans behind)."""
        if self._loop is not None:
            self.reaped += reap_adopted()

    def stop(self) -> None:
        """Stop scanning and reap what is left, on every thread's children list."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._loop is not None:
            self._loop = None
            self.reaped += reap_adopted()

    def _tick(self) -> None:
        """The periodic scan: one children list, the main thread's, since that is where orphans are adopted.

        The kernel (find_new_reaper, then find_alive_thread) hands an orphan to the subreaper's first live
        thread counting from the thread-group leader, so while the main thread lives every adopted zombie
        is on its list; children of other threads are ones procdash spawned, waited for by their spawner.
        """
        if self._loop is None:
            return
        self.reaped += reap_adopted(main_thread_only=True)
        self._timer = self._loop.call_at(next_beat(self._loop.time(), self.interval), self._tick)
