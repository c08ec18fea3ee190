"""Writing input bytes to a child's pty master without ever blocking the event loop."""

from __future__ import annotations

import asyncio
import errno
import os

MAX_PENDING = 1024 * 1024  # bytes queued for one child that has stopped reading its terminal


class InputError(Exception):
    """Input cannot be delivered: no such running process, no terminal, or the child stopped reading."""


class InputWriter:
    """A queue of bytes for one pty master; what the kernel does not take now is written when it can."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int, limit: int = MAX_PENDING) -> None:
        self.loop = loop
        self.fd = fd
        self.limit = limit
        self._pending = bytearray()
        self._watching = False
        self.closed = False

    @property
    def pending(self) -> int:
        """Bytes waiting for the child's terminal to take them."""
        return len(self._pending)

    def write(self, data: bytes) -> None:
        """Queue ``data`` after anything still pending; raises InputError when it cannot be delivered."""
        if self.closed:
            raise InputError("the process has ended")
        if len(self._pending) + len(data) > self.limit:
            raise InputError(f"the process is not reading its input ({len(self._pending)} bytes still waiting)")
        self._pending += data
        self._flush()

    def close(self) -> None:
        """Drop what is pending and stop watching the fd (call before the fd is closed)."""
        if self._watching:
            self.loop.remove_writer(self.fd)
            self._watching = False
        self._pending.clear()
        self.closed = True

    def _flush(self) -> None:
        """Write as much as the pty takes; wait for it to become writable for the rest."""
        while self._pending:
            try:
                written = os.write(self.fd, self._pending)
            except BlockingIOError:
                break
            except OSError as exc:
                # EIO: the child side is gone; nobody will ever read what is left.
                if exc.errno in (errno.EIO, errno.EBADF):
                    self.close()
                    return
                raise
            del self._pending[:written]
        if self._pending and not self._watching:
            self.loop.add_writer(self.fd, self._flush)
            self._watching = True
        elif not self._pending and self._watching:
            self.loop.remove_writer(self.fd)
            self._watching = False
