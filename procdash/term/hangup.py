"""The terminal-loss backstop both dashboards need: Textual hangs for good when its terminal goes away."""

from __future__ import annotations

import os
import select
import signal
import threading
from collections.abc import Callable


def backstop_terminal_loss(grace: float, before_exit: Callable[[], None] | None = None) -> Callable[[], None]:
    """If stdin/stdout hang up and the app has not ended ``grace`` s later, run ``before_exit`` and exit.

    Textual's output thread dies on the EIO a closed terminal gives, and the UI thread then blocks on its
    full queue, so the app would never end by itself. Returns the function to call once it has ended normally.
    """
    done = threading.Event()

    def watch() -> None:
        poller = select.poll()
        for fd in (0, 1):
            poller.register(fd, 0)  # no events asked for: only hangup and error conditions wake us
        gone = select.POLLHUP | select.POLLERR | select.POLLNVAL
        while not any(event & gone for _, event in poller.poll()):
            pass
        if not done.wait(grace):
            if before_exit is not None:
                before_exit()
            os._exit(128 + signal.SIGHUP)

    threading.Thread(target=watch, name="procdash-hangup", daemon=True).start()
    return done.set
