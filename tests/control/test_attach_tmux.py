"""The installed ``procdash attach`` in a real terminal (tmux) against a headless procdash."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.control.support import ctl, running
from tests.helpers import wait_until_sync
from tests.ui.test_tmux import Tmux

PROCDASH = Path(sys.executable).with_name("procdash")

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None or not PROCDASH.exists(), reason="needs tmux and the installed procdash command"
)


def test_attach_scales_connects_and_leaves_the_formation_running(tmp_path: Path, env: dict[str, str]) -> None:
    procfile = "ask: printf 'name? '; read x; echo \"hello $x\"; sleep 300\nweb: echo web-up; sleep 300\n"
    with running(tmp_path, env, procfile) as formation:
        wait_until_sync(lambda: any("ask.1 is waiting" in line for line in formation.output))
        tmux = Tmux()
        tmux.env["XDG_RUNTIME_DIR"] = env["XDG_RUNTIME_DIR"]
        tmux.env["XDG_STATE_HOME"] = env["XDG_STATE_HOME"]
        try:
            status = tmux.start(f"{PROCDASH} attach", tmp_path, width=120, height=36)
            wait_until_sync(lambda: "attached to pid" in tmux.screen(), timeout=20)
            wait_until_sync(lambda: "name?" in tmux.screen())  # ask.1's pane, with its scrollback
            tmux.run("send-keys", "-t", "main", "Down")  # web
            tmux.keys("+")
            wait_until_sync(lambda: "web 2/2" in tmux.screen() or "web 1/2" in tmux.screen())
            reply = json.loads(ctl("status", "--json", cwd=tmp_path, env=env).stdout)
            assert reply["desired"] == {"ask": 1, "web": 2}
            tmux.run("send-keys", "-t", "main", "Up", "Up")  # past the web type row, back to ask.1
            wait_until_sync(lambda: "name?" in tmux.screen())
            tmux.keys("I")  # the real terminal, through the socket's connect
            wait_until_sync(lambda: "connected to ask.1" in tmux.screen())
            tmux.keys("bob")
            tmux.run("send-keys", "-t", "main", "Enter")
            wait_until_sync(lambda: "hello bob" in tmux.screen())
            tmux.run("send-keys", "-t", "main", "C-]")
            wait_until_sync(lambda: "attached to pid" in tmux.screen())
            tmux.keys("q")
            wait_until_sync(lambda: status.exists() and status.read_text().strip() != "", timeout=15)
            assert status.read_text().strip() == "0"
        finally:
            tmux.kill()
        assert formation.proc.poll() is None  # leaving the view left the formation running
        assert "ask.1  | hello bob" in formation.output


def test_attached_to_a_dashboard_both_show_one_formation_and_Q_ends_it(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "Procfile").write_text("web: sleep 300\n")
    tmux = Tmux()
    tmux.env["XDG_RUNTIME_DIR"] = env["XDG_RUNTIME_DIR"]
    tmux.env["XDG_STATE_HOME"] = env["XDG_STATE_HOME"]

    def other() -> str:
        return tmux.run("capture-pane", "-p", "-t", "other")

    try:
        status = tmux.start(f"{PROCDASH} -t 1", tmp_path, width=120, height=30)
        wait_until_sync(lambda: "web 1" in tmux.screen() and "running" in tmux.screen(), timeout=20)
        attached = tmp_path / "attach-status"
        script = f"{PROCDASH} attach; echo $? > {attached}; sleep 30"
        tmux.run("new-session", "-d", "-s", "other", "-x", "120", "-y", "30", "-c", str(tmp_path), script)
        wait_until_sync(lambda: "attached to pid" in other() and "running" in other(), timeout=20)
        tmux.run("send-keys", "-t", "other", "-l", "+")  # in the attached view: both show it
        wait_until_sync(lambda: "web 2/2" in other() and "web 2/2" in tmux.screen(), timeout=15)
        tmux.keys("-")  # in the original: both show it
        wait_until_sync(lambda: "web.2" not in other() and "web.2" not in tmux.screen(), timeout=15)
        tmux.run("send-keys", "-t", "other", "-l", "Q")
        wait_until_sync(lambda: "Stop every process and end procdash" in other())
        tmux.run("send-keys", "-t", "other", "-l", "y")
        wait_until_sync(lambda: status.exists() and status.read_text().strip() != "", timeout=20)
        assert status.read_text().strip() == "0"  # the dashboard quit gracefully
        wait_until_sync(lambda: attached.exists() and attached.read_text().strip() != "", timeout=20)
        assert attached.read_text().strip() == "0"
        assert "procdash: attach: procdash ended (pid" in other()
    finally:
        tmux.kill()
