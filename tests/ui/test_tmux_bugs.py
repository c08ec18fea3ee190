"""Issue 12's bugs checked on the installed command in tmux: header totals, the merged view, kept logs."""

from __future__ import annotations

from pathlib import Path

import psutil

from tests.helpers import wait_until_sync, write
from tests.ui.test_tmux import PROCDASH, Tmux, assert_quit_cleanly, pytestmark  # noqa: F401


def sleepers_of(tmux: Tmux) -> list[psutil.Process]:
    """The formation's sleep processes under the pane's shell."""
    shell = psutil.Process(int(tmux.pane("pane_pid")))
    return [p for p in shell.children(recursive=True) if p.name() == "sleep"]


def test_header_keeps_the_totals_at_80_columns_with_four_long_type_names(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "".join(f"long-type-name-{n}: exec sleep 60\n" for n in range(4)))
    tmux = Tmux()
    try:
        status = tmux.start(f"{PROCDASH} -t 1", tmp_path, 80, 24)
        wait_until_sync(lambda: "4 procs" in tmux.screen().splitlines()[0], timeout=20)
        header = tmux.screen().splitlines()[0]
        assert "cpu " in header and "mem " in header and "…" in header
        sleepers = sleepers_of(tmux)
        tmux.keys("q")
        assert_quit_cleanly(status, sleepers)
    finally:
        tmux.kill()


def test_merged_view_still_holds_a_quiet_line_after_a_chatty_neighbour(tmp_path: Path) -> None:
    procfile = "quiet: echo QUIET-LINE; exec sleep 60\nchatty: seq 1 3000 | sed 's/^/chat-/'; exec sleep 60\n"
    write(tmp_path / "Procfile", procfile)
    tmux = Tmux()
    try:
        status = tmux.start(f"{PROCDASH} -t 1 --scrollback 100", tmp_path, 120, 30)
        wait_until_sync(lambda: "chat-3000" in tmux.screen() or "quiet.1" in tmux.screen(), timeout=20)
        tmux.keys("a")
        wait_until_sync(lambda: "chat-3000" in tmux.screen(), timeout=10)
        tmux.keys("\\", "QUIET-LINE")
        tmux.run("send-keys", "-t", "main", "Enter")
        wait_until_sync(lambda: "quiet.1  | QUIET-LINE" in tmux.screen() or "quiet.1 | QUIET-LINE" in tmux.screen())
        sleepers = sleepers_of(tmux)
        tmux.keys("q")
        assert_quit_cleanly(status, sleepers)
    finally:
        tmux.kill()


def test_scaling_to_zero_and_back_keeps_the_earlier_lines(tmp_path: Path) -> None:
    write(tmp_path / "Procfile", "web: echo run-of-$$; exec sleep 60\n")
    tmux = Tmux()
    try:
        status = tmux.start(f"{PROCDASH} -t 1", tmp_path, 100, 30)
        wait_until_sync(lambda: "web.1 · running" in tmux.screen() and "run-of-" in tmux.screen(), timeout=20)
        tmux.keys("-")
        wait_until_sync(lambda: "scaled to 0" in tmux.screen(), timeout=10)
        tmux.keys("+")
        wait_until_sync(lambda: tmux.screen().count("run-of-") == 2 and "scaled up again" in tmux.screen())
        sleepers = sleepers_of(tmux)
        tmux.keys("q")
        assert_quit_cleanly(status, sleepers)
    finally:
        tmux.kill()
