"""Wide and odd characters never push a pane's border out under tmux (its own wcwidth decides the width)."""

from __future__ import annotations

import ctypes
import locale
from pathlib import Path

import psutil

from tests.helpers import wait_until_sync, write
from tests.ui.test_tmux import PROCDASH, Tmux, assert_quit_cleanly, pytestmark  # noqa: F401

SAMPLES = [
    "thumbs \U0001f44d\U0001f3fd up",  # skin-tone modifier
    "wave \U0001f44b\U0001f3fb\U0001f44b\U0001f3ff done",
    "family \U0001f468\u200d\U0001f469\u200d\U0001f467 ok",  # ZWJ sequence
    "heart \u2764\ufe0f ok",  # VS16
    "cjk 漢字かな ok",
    "combining e\u0301 ok",
    "unassigned \U000e0080 ok",
    "filler \u3164 ok",
]


def terminal_width(text: str) -> int:
    """Cells a terminal using the C library's wcwidth gives ``text`` (what tmux uses)."""
    locale.setlocale(locale.LC_CTYPE, "C.UTF-8")
    libc = ctypes.CDLL(None)
    libc.wcwidth.argtypes = [ctypes.c_wchar]
    return sum(max(0, libc.wcwidth(ch)) for ch in text)


def test_wide_characters_keep_the_right_border_in_place(tmp_path: Path) -> None:
    script = "".join(f"printf '%s\\n' '{line}'; " for line in SAMPLES)
    write(tmp_path / "Procfile", f"web: {script}echo END-OF-SAMPLES; exec sleep 60\n")
    tmux = Tmux()
    tmux.env["LANG"] = tmux.env["LC_ALL"] = "C.UTF-8"
    try:
        status = tmux.start(f"{PROCDASH} -t 1", tmp_path, 100, 30)
        tmux.run("set-option", "-g", "default-terminal", "tmux-256color")
        wait_until_sync(lambda: "END-OF-SAMPLES" in tmux.screen(), timeout=20)
        rows = [row for row in tmux.screen().splitlines() if row.startswith("│")]
        assert len(rows) > len(SAMPLES)
        # Columns as tmux counts them (the C library's wcwidth): every row, border included, is 100 wide.
        widths = {terminal_width(row.rstrip()) for row in rows}
        assert widths == {100}, "\n".join(f"{terminal_width(row.rstrip())}: {row}" for row in rows)
        shell = psutil.Process(int(tmux.pane("pane_pid")))
        sleepers = [p for p in shell.children(recursive=True) if p.name() == "sleep"]
        tmux.keys("q")
        assert_quit_cleanly(status, sleepers)
    finally:
        tmux.kill()
