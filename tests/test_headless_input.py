"""Headless procdash and processes that ask for input: the announcement, and answers sent with ctl."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from tests.helpers import write
from tests.test_headless import PROCDASH


def _read_until(proc: subprocess.Popen[str], text: str) -> list[str]:
    """Lines of procdash's output up to and including the first one containing ``text``."""
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} never printed; got {seen}")


def test_a_waiting_prompt_is_announced_once_as_a_system_line(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "ask: printf 'name? '; read x\nclock: sleep 30\n")
    proc = subprocess.Popen(
        [*PROCDASH, "--no-timestamp"], cwd=tmp_path, stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
    )
    try:
        seen = _read_until(proc, "is waiting for input")
        assert seen[-1].rstrip("\n") == 'system  | ask.1 is waiting for input: "name? " (procdash connect ask.1)'
        assert not any("name?" in line for line in seen[:-1])  # the partial line itself is never printed
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
        assert "is waiting for input" not in out  # once per wait
        assert "ask.1   | name? " in out  # at the end of stream the unfinished line is kept, whole
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
