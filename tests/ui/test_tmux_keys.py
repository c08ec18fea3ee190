"""The installed command in tmux: keys that arrive in one burst, as SSH, mosh or a macro send them."""

from __future__ import annotations

from pathlib import Path

import psutil

from tests.helpers import wait_until_sync, write
from tests.ui.test_tmux import PROCDASH, Tmux, assert_quit_cleanly, pytestmark  # noqa: F401


def test_a_burst_after_slash_is_typed_into_the_prompt(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: echo up-$PS; exec sleep 60\n")
    tmux = Tmux()
    try:
        status = tmux.start(f"{PROCDASH} -t 1", tmp_path, 100, 30)
        wait_until_sync(lambda: "web.1 · running" in tmux.screen(), timeout=20)
        shell = psutil.Process(int(tmux.pane("pane_pid")))
        sleepers = [p for p in shell.children(recursive=True) if p.name() == "sleep"]
        assert len(sleepers) == 1
        tmux.keys("/rqsa")  # one write: the terminal delivers it in one read
        wait_until_sync(lambda: "search web.1 [text]: rqsa" in tmux.screen(), timeout=10)
        assert sleepers[0].is_running() and sleepers[0].status() != psutil.STATUS_ZOMBIE
        assert "web.1 · running" in tmux.screen() and "stopping" not in tmux.screen()
        tmux.run("send-keys", "-t", "main", "Escape")
        wait_until_sync(lambda: "search web.1" not in tmux.screen(), timeout=10)
        tmux.keys("q")
        assert_quit_cleanly(status, sleepers)
    finally:
        tmux.kill()
