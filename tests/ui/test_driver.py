"""The dashboard's terminal driver: its input thread reads keys, times out a lone escape, sleeps, and stops at once."""

from __future__ import annotations

import os
import pty
import threading
import time
import tty
from collections.abc import Iterator

import pytest
from textual import events
from textual.drivers.headless_driver import HeadlessDriver
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from procdash.ui.driver import QuietLinuxDriver, _WakingEvent, quiet_driver
from tests.helpers import wait_until_sync


class Recorder(QuietLinuxDriver):
    """The driver's input loop on a pty of the test's own, recording the events instead of posting them."""

    def __init__(self, fileno: int) -> None:  # no terminal set-up: only the input thread is under test
        self.fileno = fileno
        self._debug = False
        self.exit_event = _WakingEvent()
        self.seen: list[Message] = []
        self.sleeps = 0

    def process_message(self, message: Message) -> None:
        self.seen.append(message)

    def keys(self) -> list[str]:
        """The keys received so far."""
        return [m.key for m in self.seen if isinstance(m, events.Key)]

    def _timeout(self, parser: object) -> float | None:  # type: ignore[override]
        self.sleeps += 1
        return super()._timeout(parser)  # type: ignore[arg-type]


@pytest.fixture
def driver() -> Iterator[tuple[Recorder, int, threading.Thread]]:
    """A recorder reading the slave side of a pty in its own thread; the test writes to the master."""
    master, slave = pty.openpty()
    tty.setraw(slave)  # as Textual puts the terminal: bytes arrive as typed, not a line at a time
    recorder = Recorder(slave)
    thread = threading.Thread(target=recorder.run_input_thread, daemon=True)
    thread.start()
    try:
        yield recorder, master, thread
    finally:
        recorder.exit_event.set()
        thread.join(5)
        os.close(master)
        os.close(slave)


def test_keys_arrive_and_a_lone_escape_times_out(driver: tuple[Recorder, int, threading.Thread]) -> None:
    recorder, master, _thread = driver
    os.write(master, b"q")
    wait_until_sync(lambda: recorder.keys() == ["q"], timeout=5)
    os.write(master, b"\x1b")  # escape alone: the parser waits briefly for a sequence, then gives the key
    wait_until_sync(lambda: recorder.keys() == ["q", "escape"], timeout=5)
    os.write(master, b"\x1b[A")  # a whole sequence is one key
    wait_until_sync(lambda: recorder.keys() == ["q", "escape", "up"], timeout=5)


def test_the_input_thread_sleeps_until_told_to_stop(driver: tuple[Recorder, int, threading.Thread]) -> None:
    recorder, master, thread = driver
    os.write(master, b"x")
    wait_until_sync(lambda: recorder.keys() == ["x"], timeout=5)
    before = recorder.sleeps
    time.sleep(0.5)  # Textual's own loop would have woken five times by now
    assert recorder.sleeps == before
    recorder.exit_event.set()
    thread.join(2)
    assert not thread.is_alive()


def test_only_the_linux_driver_is_replaced() -> None:
    assert quiet_driver(LinuxDriver) is QuietLinuxDriver
    assert quiet_driver(HeadlessDriver) is HeadlessDriver
