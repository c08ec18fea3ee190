"""The orphan reaper against real processes: an adopted zombie is reaped by the tick, another thread's by stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading

import pytest

from procdash.core import reaper as reaper_module
from procdash.core.reaper import OrphanReaper, child_pids
from tests.helpers import wait_until, wait_until_sync

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="child subreapers are Linux's")

# The intermediate forks a grandchild, says its pid and exits; the grandchild exits once its stdin says so.
DOUBLE_FORK = (
    "import os, sys\n"
    "grandchild = os.fork()\n"
    "if grandchild == 0:\n"
    "    sys.stdin.readline()\n"
    "    os._exit(0)\n"
    "print(grandchild, flush=True)\n"
)


def ppid(pid: int) -> int:
    """A process's parent pid, from /proc."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        stat = handle.read()
    return int(stat[stat.rfind(b")") + 2 :].split()[1])


def zombie(pid: int) -> bool:
    """Whether a process has exited but was not reaped yet."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :].startswith(b"Z")


def exists(pid: int) -> bool:
    """Whether the pid names a process, a zombie included."""
    return os.path.exists(f"/proc/{pid}")


def test_tick_reaps_an_adopted_zombie_of_a_double_fork() -> None:
    middle = subprocess.Popen(
        [sys.executable, "-c", DOUBLE_FORK], stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
    )
    assert middle.stdin is not None and middle.stdout is not None
    grandchild = int(middle.stdout.readline())
    middle.wait(timeout=10)
    loop = asyncio.new_event_loop()
    reaper = OrphanReaper(interval=0.02)
    try:
        # The conftest made this test process a subreaper, so the orphan comes here rather than to init.
        wait_until_sync(lambda: ppid(grandchild) == os.getpid(), timeout=10)
        assert grandchild in child_pids(os.getpid(), main_thread_only=True)
        reaper.start(loop)
        middle.stdin.write(b"exit\n")
        middle.stdin.flush()
        loop.run_until_complete(wait_until(lambda: not exists(grandchild), timeout=10))
        assert reaper.reaped == 1
    finally:
        reaper.stop()
        loop.close()
        middle.stdin.close()
        middle.stdout.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(grandchild, 9)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(grandchild, 0)


def test_tick_reads_one_children_file_and_stop_reads_every_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    # A zombie that a non-main thread spawned sits on that thread's children list: the periodic tick
    # (which reads the main thread's, where orphans go) leaves it, the final scan of stop reaps it.
    read: list[tuple[int, int]] = []
    real_thread_children = reaper_module.thread_children

    def spying(pid: int, tid: int) -> list[int]:
        read.append((pid, tid))
        return real_thread_children(pid, tid)

    spawned: list[int] = []
    release = threading.Event()

    def spawn_and_wait() -> None:
        spawned.append(os.posix_spawn("/bin/sh", ["sh", "-c", "exit 0"], os.environ, setsid=True))
        release.wait(timeout=30)

    helper = threading.Thread(target=spawn_and_wait)
    helper.start()
    loop = asyncio.new_event_loop()
    reaper = OrphanReaper(interval=3600)
    try:
        wait_until_sync(lambda: spawned and zombie(spawned[0]), timeout=10)
        (pid,) = spawned
        assert pid in child_pids(os.getpid())
        assert pid not in child_pids(os.getpid(), main_thread_only=True)
        reaper.start(loop)
        monkeypatch.setattr(reaper_module, "thread_children", spying)
        reaper._tick()
        monkeypatch.undo()
        assert read == [(os.getpid(), os.getpid())]
        assert zombie(pid) and reaper.reaped == 0
        reaper.stop()
        assert reaper.reaped == 1 and not exists(pid)
    finally:
        release.set()
        helper.join(timeout=30)
        reaper.stop()
        loop.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(spawned[0], os.WNOHANG)


def test_own_children_are_left_to_their_waiters() -> None:
    proc = subprocess.Popen(["sh", "-c", "exit 3"], start_new_session=True)
    reaper_module.OWN.add(proc.pid)
    try:
        wait_until_sync(lambda: zombie(proc.pid), timeout=10)
        assert reaper_module.reap_adopted() == 0
        assert proc.wait(timeout=10) == 3
    finally:
        reaper_module.OWN.discard(proc.pid)
