"""The terminal driver: Textual's Linux driver with an input thread that sleeps until a key arrives.

Textual's input thread wakes ten times a second (``select`` with a 0.1 s timeout) to notice that it
should stop and to time out a lone escape key. On an idle dashboard those wake-ups were the largest
part of what an empty Textual app costs (about 0.2% of a core here). This driver's thread blocks
until the terminal sends something, a pipe says stop, or the parser's own escape deadline passes.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
from codecs import getincrementaldecoder

from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver

READ_SIZE = 4096


class _WakingEvent(threading.Event):
    """The stop flag the driver sets from the UI thread; setting it also wakes the input thread."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._wake_fd: int | None = None

    def open_pipe(self) -> int:
        """A new wake pipe for an input thread that starts; returns the end to select on."""
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        with self._lock:
            self._wake_fd = write_fd
        return read_fd

    def close_pipe(self, read_fd: int) -> None:
        """The input thread ends: close its pipe (never written to afterwards, the fd may be reused)."""
        with self._lock:
            write_fd, self._wake_fd = self._wake_fd, None
        for fd in (read_fd, write_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def set(self) -> None:
        """Set the flag, then write a byte the input thread's ``select`` returns for."""
        super().set()
        with self._lock:
            if self._wake_fd is not None:
                with contextlib.suppress(OSError):  # a full pipe wakes the thread already
                    os.write(self._wake_fd, b"!")


class QuietLinuxDriver(LinuxDriver):
    """LinuxDriver whose input thread uses no CPU while nothing is typed."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.exit_event: _WakingEvent = _WakingEvent()

    def run_input_thread(self) -> None:
        """Read the terminal and hand parsed events to the app until told to stop."""
        wake = self.exit_event.open_pipe()
        try:
            self._read_input(wake)
        finally:
            self.exit_event.close_pipe(wake)

    def _read_input(self, wake: int) -> None:
        """The input loop: terminal bytes to parsed events, sleeping in ``select`` between them."""
        fileno = self.fileno
        selector = selectors.SelectSelector()
        selector.register(fileno, selectors.EVENT_READ, "terminal")
        selector.register(wake, selectors.EVENT_READ, "wake")
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        reading = True
        try:
            while not self.exit_event.is_set():
                for key, _mask in selector.select(self._timeout(parser)):
                    if key.data == "wake":
                        continue  # the loop condition sees the stop flag
                    data = os.read(fileno, READ_SIZE) if reading else b""
                    if not data:
                        # End of input (stdin is not a terminal): stop watching it rather than spin.
                        selector.unregister(fileno)
                        reading = False
                        continue
                    for event in parser.feed(decode(data)):
                        self.process_message(event)
                for event in parser.tick():
                    self.process_message(event)
            for event in parser.tick():
                self.process_message(event)
        finally:
            selector.close()
            with contextlib.suppress(EOFError, ParseError):
                for _event in parser.feed(""):
                    pass

    @staticmethod
    def _timeout(parser: XTermParser) -> float | None:
        """How long the thread may sleep: until the parser's escape deadline, or until woken."""
        deadline = parser._timeout_time
        return None if deadline is None else max(0.0, deadline - get_time())


def quiet_driver(driver_class: type[Driver]) -> type[Driver]:
    """The quiet driver in place of Textual's own Linux driver; any other driver (web, Windows) as it is."""
    return QuietLinuxDriver if driver_class is LinuxDriver else driver_class
