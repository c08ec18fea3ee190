"""Getting text out of the dashboard: the system clipboard when a tool for it answers, else OSC 52; files.

A terminal never says whether it honoured an OSC 52 request, so the dashboard claims "copied" only when
a clipboard tool (wl-copy, xclip, xsel, pbcopy) took the text and exited with 0, and otherwise says it
sent the text to the terminal.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

# (command, environment variable that must be set for it to reach a clipboard)
_TOOLS: list[tuple[list[str], str | None]] = [
    (["wl-copy"], "WAYLAND_DISPLAY"),
    (["xclip", "-selection", "clipboard"], "DISPLAY"),
    (["xsel", "--clipboard", "--input"], "DISPLAY"),
    (["pbcopy"], None),
]


def system_copy(text: str) -> bool:
    """Hand ``text`` to the first clipboard tool that can reach a clipboard here; True if one took it."""
    for argv, needs in _TOOLS:
        if needs is not None and not os.environ.get(needs):
            continue
        if argv[0] == "pbcopy" and sys.platform != "darwin":
            continue
        if shutil.which(argv[0]) is None:
            continue
        try:
            done = subprocess.run(argv, input=text.encode(), capture_output=True, timeout=2, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return True
    return False


def describe_copy(count: int, what: str, *, confirmed: bool) -> str:
    """The notice after a copy: "copied" only when a clipboard tool confirmed it."""
    lines = f"{count} line{'s' if count != 1 else ''} of {what}"
    if confirmed:
        return f"copied {lines} to the clipboard"
    return f"sent {lines} to the terminal's clipboard (OSC 52; some terminals ignore it)"


def save_path(directory: Path, name: str, now: float | None = None) -> Path:
    """A new file in ``directory`` for a pane's log: ``procdash-web.1-20251201-210211.log`` (never overwritten)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    path = directory / f"procdash-{safe}-{stamp}.log"
    number = 1
    while path.exists():
        number += 1
        path = directory / f"procdash-{safe}-{stamp}-{number}.log"
    return path
