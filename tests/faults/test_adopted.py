"""procdash adopts the formation's orphans (child subreaper), reaps them, and works as a container's PID 1."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from procdash.core.groups import group_alive
from tests.control.support import ctl
from tests.faults.support import procdash_argv, procdash_env, start_procdash, wait_for
from tests.helpers import write

# The inner shell exits at once, orphaning its background sleep: the kernel hands that to the subreaper.
ORPHANING = "web: sh -c 'sleep 0.5 & echo $! >> orphans.pid'; exec sleep 60\n"


def zombie_children(pid: int) -> list[int]:
    """Pids of a process's children that have exited but were never reaped."""
    zombies = []
    for child in psutil.Process(pid).children():
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                zombies.append(child.pid)
        except psutil.NoSuchProcess:
            continue
    return zombies


def live_sleeps(pid: int, duration: str) -> list[int]:
    """Children of a process that are ``sleep DURATION`` and still running."""
    found = []
    for child in psutil.Process(pid).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and child.cmdline() == ["sleep", duration]:
                found.append(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


def orphans(root: Path) -> list[int]:
    """The orphaned sleeps the formation recorded so far."""
    path = root / "orphans.pid"
    return [int(word) for word in path.read_text().split()] if path.exists() else []


def test_an_orphan_of_the_formation_is_adopted_and_reaped(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", ORPHANING)
    proc = start_procdash(["start", "--headless", "-t", "2"], cwd=tmp_path)
    try:
        wait_for(lambda: orphans(tmp_path), 10, "the orphan's pid")
        (orphan,) = orphans(tmp_path)
        # While it runs, its parent is procdash, not init and not this test (itself a subreaper).
        wait_for(lambda: psutil.Process(orphan).ppid() != psutil.Process(orphan).pid, 5, "reparenting")
        assert psutil.Process(orphan).ppid() == proc.pid
        # Once it ends, procdash reaps it: no zombie lingers.
        wait_for(lambda: not psutil.pid_exists(orphan), 5, "the orphan to be reaped")
        assert zombie_children(proc.pid) == []
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_a_group_of_zombies_is_not_alive(tmp_path: Path) -> None:
    child = subprocess.Popen(["true"], start_new_session=True)
    try:
        wait_for(lambda: psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE, 5, "a zombie")
        os.killpg(child.pid, 0)  # the kernel still counts the group...
        assert not group_alive(child.pid)  # ...but nothing in it can run: exit waits must not wait for it
    finally:
        child.wait()


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="a new pid namespace needs root and unshare"
)
def test_procdash_as_pid_1_reaps_every_orphan_and_stops_promptly(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", ORPHANING)
    env = procdash_env()
    unshare = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--mount-proc", *procdash_argv("start", "--headless", "-t", "2")],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: psutil.Process(unshare.pid).children(), 10, "procdash inside the namespace")
        (pid1,) = psutil.Process(unshare.pid).children()
        wait_for(lambda: len(orphans(tmp_path)) == 1, 10, "the first orphan")
        for round_ in range(2, 7):
            assert ctl("restart", "web", cwd=tmp_path, env=env).returncode == 0
            wait_for(lambda n=round_: len(orphans(tmp_path)) == n, 10, f"orphan {round_}")  # type: ignore[misc]
        # The recorded pids are the namespace's own; from here, the orphans are PID 1's children.
        wait_for(lambda: not live_sleeps(pid1.pid, "0.5"), 10, "the orphans to end")
        wait_for(lambda: not zombie_children(pid1.pid), 2, "every orphan to be reaped")
        began = time.monotonic()
        pid1.send_signal(signal.SIGTERM)
        out, _ = unshare.communicate(timeout=15)
        elapsed = time.monotonic() - began
        assert unshare.returncode == 128 + signal.SIGTERM, out
        # Nothing is waited for: sleep dies at once, and no zombie counts as alive (it took 1 s more).
        assert elapsed < 1.0, f"stopping took {elapsed:.2f}s"
    finally:
        if unshare.poll() is None:
            os.killpg(unshare.pid, signal.SIGKILL)
            unshare.wait()
