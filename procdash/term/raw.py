"""The local terminal in raw mode for a passthrough session, restored exactly afterwards."""

from __future__ import annotations

import contextlib
import os
import signal
import termios
import tty
from collections.abc import Callable, Iterator
from types import FrameType


def terminal_size(fd: int) -> tuple[int, int]:
    """Columns and rows of the terminal on ``fd`` (80x24 when it cannot tell)."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return 80, 24
    return max(1, size.columns), max(1, size.lines)


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """Put the terminal in raw mode (no echo, no line editing, no signals from keys); restore it on exit."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        # TCSADRAIN: what the session printed last reaches the screen under the settings it was meant for.
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def on_resize(callback: Callable[[], None]) -> Iterator[None]:
    """Call ``callback`` on SIGWINCH for the duration; the previous handler comes back afterwards."""

    def handler(signum: int, frame: FrameType | None) -> None:
        callback()

    previous = signal.signal(signal.SIGWINCH, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)


def split_at_detach(data: bytes, detach: int) -> tuple[bytes, bool]:
    """Input before the detach key, and whether the key was pressed (what follows it is dropped)."""
    index = data.find(bytes([detach]))
    if index < 0:
        return data, False
    return data[:index], True
