"""``procdash connect`` in a real terminal (tmux) against a headless procdash: prompts, vi, exact restore."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.control.support import running
from tests.helpers import wait_until_sync
from tests.ui.test_tmux import Tmux

PROCDASH = Path(sys.executable).with_name("procdash")

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None or not PROCDASH.exists(), reason="needs tmux and the installed procdash command"
)


def _connect_in_tmux(tmux: Tmux, cwd: Path, runtime: str, name: str) -> tuple[Path, Path, Path]:
    """Run ``procdash connect NAME`` between two ``stty -g`` snapshots; returns (before, after, status) files."""
    before, after, status = cwd / "stty-before", cwd / "stty-after", cwd / "connect-status"
    tmux.env["XDG_RUNTIME_DIR"] = runtime
    script = f"stty -g > {before}; {PROCDASH} connect {name}; echo $? > {status}; stty -g > {after}; sleep 60"
    tmux.run("new-session", "-d", "-s", "main", "-x", "100", "-y", "30", "-c", str(cwd), script)
    return before, after, status


def test_connect_answers_a_headless_prompt_and_detaches_restoring_the_terminal(
    tmp_path: Path, env: dict[str, str]
) -> None:
    procfile = "ask: printf 'name? '; read x; echo \"hello $x\"; sleep 300\n"
    with running(tmp_path, env, procfile) as formation:
        wait_until_sync(lambda: any("ask.1 is waiting" in line for line in formation.output))
        tmux = Tmux()
        try:
            before, after, status = _connect_in_tmux(tmux, tmp_path, env["XDG_RUNTIME_DIR"], "ask.1")
            wait_until_sync(lambda: "connected to ask.1 (ctrl+] to detach)" in tmux.screen())
            assert "\nname?" in tmux.screen()  # the context shows the prompt before any key
            tmux.keys("bob")
            tmux.run("send-keys", "-t", "main", "Enter")
            wait_until_sync(lambda: "hello bob" in tmux.screen())
            tmux.run("send-keys", "-t", "main", "C-]")
            wait_until_sync(lambda: after.exists() and after.read_text().strip() != "")
            assert status.read_text().strip() == "0"
            assert after.read_text() == before.read_text()  # every terminal setting exactly as it was
            assert "detached from ask.1" in tmux.screen()
        finally:
            tmux.kill()
        assert "ask.1  | hello bob" in formation.output  # what it printed while connected is in its log


def test_vi_through_connect_renders_and_returns(tmp_path: Path, env: dict[str, str]) -> None:
    if shutil.which("vi") is None:
        pytest.skip("needs vi")
    target = tmp_path / "note.txt"
    procfile = f"edit: vi -u NONE -N {target}; sleep 300\n"
    with running(tmp_path, {**env, "TERM": "xterm-256color"}, procfile) as formation:
        wait_until_sync(lambda: any("edit.1 started" in line for line in formation.output))
        tmux = Tmux()
        try:
            before, after, status = _connect_in_tmux(tmux, tmp_path, env["XDG_RUNTIME_DIR"], "edit.1")
            # vi redraws for the new window size: its empty-line tildes fill the connected terminal.
            wait_until_sync(lambda: tmux.screen().count("\n~") >= 20)
            tmux.keys("ihello from vi")
            tmux.run("send-keys", "-t", "main", "Escape")
            tmux.keys(":wq")
            tmux.run("send-keys", "-t", "main", "Enter")
            wait_until_sync(lambda: target.exists() and target.read_text() == "hello from vi\n")
            tmux.run("send-keys", "-t", "main", "C-]")
            wait_until_sync(lambda: after.exists() and after.read_text().strip() != "")
            assert status.read_text().strip() == "0"
            assert after.read_text() == before.read_text()
        finally:
            tmux.kill()


def test_connect_without_a_terminal_is_a_clear_error(tmp_path: Path, env: dict[str, str]) -> None:
    import subprocess

    result = subprocess.run(
        [str(PROCDASH), "connect", "web.1"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=20
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "procdash: error: connect needs a terminal on stdin and stdout (for scripts: procdash ctl send)"
    )
