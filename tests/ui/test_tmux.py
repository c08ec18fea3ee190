"""End to end: the installed ``procdash`` command in a real terminal (tmux), driven by keys, read from the screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import pytest

from tests.helpers import wait_until_sync, write

PROCDASH = Path(sys.executable).with_name("procdash")

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None or not PROCDASH.exists(), reason="needs tmux and the installed procdash command"
)


class Tmux:
    """One private tmux server (its own socket), so the test never touches a real session."""

    def __init__(self) -> None:
        self.socket = f"procdash-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TMUX_PANE")}
        self.env["TERM"] = "xterm-256color"

    def run(self, *args: str, check: bool = True) -> str:
        """Run a tmux command against this server and return its output."""
        result = subprocess.run(
            ["tmux", "-L", self.socket, "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=10,
            check=check,
        )
        return result.stdout

    def screen(self) -> str:
        """The visible text of the pane."""
        return self.run("capture-pane", "-p", "-t", "main")

    def pane(self, field: str) -> str:
        """One pane format field, e.g. pane_dead or pane_pid."""
        return self.run("display-message", "-p", "-t", "main", f"#{{{field}}}").strip()

    def keys(self, *keys: str) -> None:
        """Type keys literally into the pane."""
        for key in keys:
            self.run("send-keys", "-t", "main", "-l", key)

    def start(self, command: str, cwd: Path, width: int = 120, height: int = 40) -> Path:
        """Run ``command`` in a new session; returns the file its exit status is written to."""
        status = cwd / "exit-status"
        script = f"{command}; echo $? > {status}"
        self.run("new-session", "-d", "-s", "main", "-x", str(width), "-y", str(height), "-c", str(cwd), script)
        return status

    def kill(self) -> None:
        """Kill the server and every pane process it still has."""
        self.run("kill-server", check=False)


def assert_quit_cleanly(status: Path, sleepers: list[psutil.Process]) -> None:
    """procdash in the pane exited 0 (the status file the pane's shell writes) and left no child running."""
    wait_until_sync(status.exists, timeout=15)
    wait_until_sync(lambda: status.read_text().strip() != "", timeout=5)
    assert status.read_text().strip() == "0"
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in sleepers)


def test_installed_command_scales_and_quits_in_a_terminal(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: echo hello-from-$PS on $PORT; exec sleep 60\nworker: exec sleep 60\n")
    tmux = Tmux()
    try:
        status = tmux.start(f"{PROCDASH} -t 1 -p 7000", tmp_path)
        wait_until_sync(lambda: "hello-from-web.1 on 7000" in tmux.screen(), timeout=20)
        screen = tmux.screen()
        assert "procdash" in screen and "web 1 · worker 1" in screen
        assert "web.1 · running · :7000" in screen

        tmux.keys("+")
        wait_until_sync(lambda: "hello-from-web.2 on 7001" in tmux.screen(), timeout=10)
        assert "web 2/2" in tmux.screen()

        children = psutil.Process(int(tmux.pane("pane_pid"))).children(recursive=True)
        sleepers = [p for p in children if p.name() == "sleep"]
        assert len(sleepers) == 3

        tmux.keys("q")
        assert_quit_cleanly(status, sleepers)
    finally:
        tmux.kill()


def test_sigterm_quits_the_dashboard_gracefully(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: echo up; exec sleep 60\n")
    tmux = Tmux()
    try:
        status = tmux.start(f"{PROCDASH} -t 1", tmp_path, 100, 30)
        wait_until_sync(lambda: "web.1 · running" in tmux.screen(), timeout=20)
        shell = psutil.Process(int(tmux.pane("pane_pid")))
        procdash = next(p for p in shell.children() if "procdash" in " ".join(p.cmdline()))
        sleepers = [p for p in procdash.children(recursive=True) if p.name() == "sleep"]
        assert len(sleepers) == 1
        procdash.terminate()
        assert_quit_cleanly(status, sleepers)
    finally:
        tmux.kill()


def test_ctl_drives_the_dashboard_and_quits_it(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: echo up-$PS; exec sleep 60\n")
    tmux = Tmux()

    def ctl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PROCDASH), "ctl", *args], cwd=tmp_path, capture_output=True, text=True, timeout=20, env=tmux.env
        )

    try:
        status = tmux.start(f"{PROCDASH} -t 1", tmp_path, 100, 30)
        wait_until_sync(lambda: "web.1 · running" in tmux.screen(), timeout=20)
        assert ctl("scale", "web=2").returncode == 0
        wait_until_sync(lambda: "web 2/2" in tmux.screen(), timeout=10)
        table = ctl("status")
        assert table.returncode == 0 and "web.2" in table.stdout
        shell = psutil.Process(int(tmux.pane("pane_pid")))
        sleepers = [p for p in shell.children(recursive=True) if p.name() == "sleep"]
        assert len(sleepers) == 2
        assert ctl("quit").returncode == 0
        assert_quit_cleanly(status, sleepers)
    finally:
        tmux.kill()
