"""Talking to a process from the installed dashboard in a real terminal (tmux): input mode, and ``I`` then back."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psutil

from tests.helpers import wait_until_sync, write
from tests.ui.test_tmux import PROCDASH, Tmux, assert_quit_cleanly, pytestmark  # noqa: F401

ASK = 'ask: printf \'name? \'; read x; echo "hello $x"; read y; echo "bye $y"; exec sleep 60\n'


def _sleepers(tmux: Tmux) -> list[psutil.Process]:
    """The sleep processes under the pane's shell."""
    shell = psutil.Process(int(tmux.pane("pane_pid")))
    return [p for p in shell.children(recursive=True) if p.name() in ("sleep", "sh")]


def test_input_mode_and_the_real_terminal_answer_prompts_and_the_dashboard_comes_back(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", ASK)
    tmux = Tmux()
    try:
        status = tmux.start(f"{PROCDASH} -t 1", tmp_path, 100, 30)
        wait_until_sync(lambda: "name?" in tmux.screen(), timeout=20)  # the prompt, before any key
        wait_until_sync(lambda: "waiting for input" in tmux.screen(), timeout=10)
        tmux.run("send-keys", "-t", "main", "Down")
        tmux.keys("i")
        wait_until_sync(lambda: "INPUT → ask.1 · ctrl+] to leave" in tmux.screen(), timeout=10)
        tmux.keys("bob")
        tmux.run("send-keys", "-t", "main", "Enter")
        wait_until_sync(lambda: "hello bob" in tmux.screen(), timeout=10)
        tmux.run("send-keys", "-t", "main", "C-]")
        wait_until_sync(lambda: "INPUT →" not in tmux.screen(), timeout=10)
        # I: the real terminal goes to the process; the dashboard is suspended meanwhile.
        tmux.keys("I")
        wait_until_sync(lambda: "connected to ask.1 (ctrl+] to return)" in tmux.screen(), timeout=10)
        tmux.keys("alice")
        tmux.run("send-keys", "-t", "main", "Enter")
        wait_until_sync(lambda: "bye alice" in tmux.screen(), timeout=10)
        tmux.run("send-keys", "-t", "main", "C-]")
        wait_until_sync(lambda: "PROCESS" in tmux.screen() and "ask.1" in tmux.screen(), timeout=10)
        # What it printed while connected is in its log too.
        logs = subprocess.run(
            [str(PROCDASH), "ctl", "logs", "ask.1"], cwd=tmp_path, capture_output=True, text=True, env=tmux.env
        )
        assert logs.stdout.splitlines() == ["name? bob", "hello bob", "alice", "bye alice"], logs.stderr
        sleepers = _sleepers(tmux)
        tmux.keys("q")
        assert_quit_cleanly(status, sleepers)
    finally:
        tmux.kill()
