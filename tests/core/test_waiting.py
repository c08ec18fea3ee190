"""Waiting-for-input detection on a corpus of real programs in real ptys."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from procdash.core.process import Child, close_child_fds, read_chunk, signal_group, spawn
from procdash.core.waiting import blocked_on_tty, pty_path, reading_fds
from tests.core.waiting_corpus import NOT_WAITING, WAITING


def _run(command: str, tmp_path: Path) -> Iterator[Child]:
    """A child on a pty whose output is drained while the test samples it."""
    child = spawn(command, env=dict(os.environ), cwd=tmp_path, use_pty=True)
    try:
        yield child
    finally:
        signal_group(child.pid, 9)
        child.popen.wait(5)
        close_child_fds(child)


def _sample(child: Child, seconds: float, stop_on_true: bool) -> list[bool | None]:
    """Drain output and ask the detector every 50 ms for ``seconds``."""
    tty = pty_path(child.anchor_fd)
    assert tty is not None
    results: list[bool | None] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        while read_chunk(child.output_fd):
            pass
        results.append(blocked_on_tty(child.pid, child.anchor_fd, tty))
        if stop_on_true and results[-1]:
            break
        time.sleep(0.05)
    return results


@pytest.mark.parametrize("name", sorted(WAITING))
def test_a_program_reading_its_terminal_is_seen_waiting(name: str, tmp_path: Path) -> None:
    for child in _run(WAITING[name], tmp_path):
        results = _sample(child, 10.0, stop_on_true=True)
        assert results[-1] is True, f"{name}: never seen waiting ({results[-5:]})"


@pytest.mark.parametrize("name", sorted(NOT_WAITING))
def test_a_program_not_reading_its_terminal_is_never_seen_waiting(name: str, tmp_path: Path) -> None:
    for child in _run(NOT_WAITING[name], tmp_path):
        results = _sample(child, 1.5, stop_on_true=False)
        assert True not in results, f"{name}: false alarm"
        assert None not in results, f"{name}: /proc refused us"


def test_reading_fds_of_a_process_in_read_names_fd_0(tmp_path: Path) -> None:
    for child in _run("read x", tmp_path):
        results = _sample(child, 10.0, stop_on_true=True)
        assert results[-1] is True
        assert reading_fds(child.pid) == [0]


def test_a_pipe_is_not_a_pty() -> None:
    r, w = os.pipe()
    try:
        assert pty_path(r) is None
    finally:
        os.close(r)
        os.close(w)
