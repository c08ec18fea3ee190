"""The installed ``procdash serve`` on a real terminal (tmux): Ctrl-C stops its formation gracefully, once."""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from pathlib import Path

import psutil
import pytest

from tests.helpers import wait_until_sync, write
from tests.serve.support import open_tab, still_running
from tests.ui.test_tmux import Tmux

PROCDASH = Path(sys.executable).with_name("procdash")

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None or not PROCDASH.exists(), reason="needs tmux and the installed procdash command"
)

PROCFILE = "web: trap 'echo web got TERM; exit 0' TERM; while true; do sleep 0.1; done\nworker: sleep 300\n"


def test_ctrl_c_at_the_terminal_stops_the_formation_gracefully_and_the_tab(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "Procfile", PROCFILE)
    tmux = Tmux()
    tmux.env["XDG_RUNTIME_DIR"] = env["XDG_RUNTIME_DIR"]
    tmux.env["XDG_STATE_HOME"] = env["XDG_STATE_HOME"]
    try:
        status = tmp_path / "serve-status"
        # The pane stays a while after serve ends, so its last screen can be read.
        command = f"{PROCDASH} serve --port 0 -t 5; echo $? > {status}; sleep 60"
        tmux.start(command, tmp_path, width=160, height=40)
        wait_until_sync(lambda: "dashboard at http" in tmux.screen() and "worker.1 started" in tmux.screen(), 30)
        found = re.search(r"dashboard at (http://\S+)", tmux.screen())
        assert found is not None
        serve = next(
            p for p in psutil.Process(int(tmux.pane("pane_pid"))).children(recursive=True) if "serve" in p.cmdline()
        )
        everything: list[int] = []

        async def body() -> None:
            session, ws = await open_tab(found.group(1))
            everything.extend(p.pid for p in serve.children(recursive=True))
            assert any("attach" in psutil.Process(pid).cmdline() for pid in everything)
            tmux.run("send-keys", "-t", "main", "C-c")  # the terminal's SIGINT, to its foreground group
            while not ws.closed:
                await ws.receive(timeout=20)
            await session.close()

        asyncio.run(asyncio.wait_for(body(), 60))
        wait_until_sync(lambda: status.exists() and status.read_text().strip() != "", 30)
        assert status.read_text().strip() == "130"
        screen = tmux.screen()
        assert screen.count("SIGINT received: stopping all processes") == 1
        assert "killing all processes" not in screen  # one Ctrl-C is one signal: a graceful stop
        assert "web got TERM" in screen
        wait_until_sync(lambda: not still_running(everything), 15)
    finally:
        tmux.kill()
