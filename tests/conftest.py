"""Shared fixtures: every test is checked for processes it leaves behind."""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator

import psutil
import pytest

PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> None:
    """Make orphaned grandchildren reparent to this test process, so the leak check can see them."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


_become_subreaper()

# Every procdash a test starts serves `procdash ctl` on a socket under XDG_RUNTIME_DIR: keep those in a
# private directory of this test run, never in the user's real runtime directory.
os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="pdt-")
os.chmod(os.environ["XDG_RUNTIME_DIR"], 0o700)
atexit.register(shutil.rmtree, os.environ["XDG_RUNTIME_DIR"], True)


def _live_descendants() -> list[psutil.Process]:
    """Descendants of the test process that are still running (zombies are reaped, not counted)."""
    alive = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                try:
                    os.waitpid(proc.pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                continue
            alive.append(proc)
        except psutil.NoSuchProcess:
            continue
    return alive


@pytest.fixture(autouse=True)
def no_leftover_processes(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves any child or grandchild running (after a short bounded grace)."""
    before = {p.pid for p in _live_descendants()}
    yield
    deadline = time.monotonic() + 3.0
    leftovers = [p for p in _live_descendants() if p.pid not in before]
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.05)
        leftovers = [p for p in _live_descendants() if p.pid not in before]
    if leftovers:
        described = []
        for proc in leftovers:
            try:
                described.append(f"{proc.pid} {' '.join(proc.cmdline())[:80]}")
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        _live_descendants()
        pytest.fail(f"test left {len(leftovers)} process(es) running: {'; '.join(described)}")
