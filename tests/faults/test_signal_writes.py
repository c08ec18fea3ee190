"""A caught signal landing in the middle of a write to a slow reader never loses headless output."""

from __future__ import annotations

import subprocess
import sys
import time

BATCHES = 150
LINES = 2000

# procdash's printer on its real stdout, with a caught signal arriving every millisecond while it writes.
WRITER = f"""
import signal, sys
from procdash.headless import Printer
signal.signal(signal.SIGALRM, lambda signum, frame: None)
signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
printer = Printer(sys.stdout.buffer, names=["web.1"], color=False, timestamps=False)
for batch in range({BATCHES}):
    printer.write("".join(f"line {{batch}}-{{i}}\\n" for i in range({LINES})))
signal.setitimer(signal.ITIMER_REAL, 0)
"""


def test_output_survives_signals_during_partial_writes() -> None:
    writer = subprocess.Popen([sys.executable, "-c", WRITER], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert writer.stdout is not None
    received = bytearray()
    deadline = time.monotonic() + 60
    while chunk := writer.stdout.read1(4096):
        received.extend(chunk)
        time.sleep(0.0003)  # a slow reader: the writer's pipe stays full, so its writes are partial
        assert time.monotonic() < deadline, "the writer did not finish"
    _, errors = writer.communicate(timeout=10)
    assert writer.returncode == 0, errors
    lines = received.decode().splitlines()
    assert len(lines) == BATCHES * LINES
    assert lines == [f"line {batch}-{i}" for batch in range(BATCHES) for i in range(LINES)]
