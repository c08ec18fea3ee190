"""The dashboard benchmark's flood and keys: numbered writers, their Procfile, the loss check, timed keys."""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from pathlib import Path
from typing import Any

WRITERS = 4
RATE_EACH = 12_500  # lines/s per writer; 4 of them make 50k lines/s
STREAM_SECONDS = 5.0
KEY_INTERVAL = 0.05
SCROLLBACK = 10_000

# The writer: numbered lines at a fixed pace, in small batches, then exit.
SPEW = r"""
import sys, time
rate, secs, name = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3].encode()
total, step, out = int(rate * secs), max(1, rate // 200), sys.stdout.buffer
pad, n, start = b"x" * 56, 0, time.monotonic()
while n < total:
    due = min(total, int((time.monotonic() - start) * rate) + step)
    if due > n:
        out.write(b"".join(b"%s %08d %s\n" % (name, i, pad) for i in range(n, due)))
        out.flush()
        n = due
    time.sleep(0.002)
"""


def peak_rss() -> int:
    """This process's peak resident memory in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of the sorted values lie (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def write_project(directory: Path, procfile: str) -> Path:
    """A Procfile (and the writer script) in a scratch directory."""
    (directory / "spew.py").write_text(SPEW)
    path = directory / "Procfile"
    path.write_text(procfile)
    return path


def spew_procfile() -> str:
    """One type, scaled to WRITERS instances by the formation."""
    return f"spew: exec {sys.executable} -u spew.py {RATE_EACH} {STREAM_SECONDS} $PS\n"


def check_buffers(instances: list[Any]) -> tuple[int, int]:
    """(lines written, lines lost): every line counted, the held tail numbered without gaps."""
    expected = int(RATE_EACH * STREAM_SECONDS)
    written = lost = 0
    for inst in instances:
        log = inst.log
        written += expected
        lost += max(0, expected - log.next_seq)
        numbers = [int(line.split()[1]) for line in log.slice(log.first_seq, log.next_seq)]
        if numbers != list(range(expected - len(numbers), expected)):
            lost += 1  # a gap or a duplicate in what is held: never expected, always reported
    return written, lost


class OutputClock:
    """Subscriber noting when the first and the last output of the run arrived."""

    def __init__(self) -> None:
        self.first = 0.0
        self.last = 0.0

    def __call__(self, event: Any) -> None:
        from procdash.core.events import Output

        if isinstance(event, Output):
            now = time.perf_counter()
            self.first = self.first or now
            self.last = now

    def rate(self, lines: int) -> float:
        """Lines per second between the first and the last output."""
        return lines / max(1e-9, self.last - self.first)


def load(procfile: Path, formation: str) -> tuple[Any, Any]:
    """Project and supervisor for a scratch Procfile."""
    from procdash.core.project import load_project
    from procdash.core.supervisor import Supervisor, SupervisorOptions

    project = load_project(procfile=str(procfile), root=None, env=None, formation=formation, port=None)
    options = SupervisorOptions(timeout=2.0, scrollback=SCROLLBACK, pty_size=(40, 12))
    supervisor = Supervisor.from_project(project, options)
    return project, supervisor


async def press_keys(app: Any, stop: asyncio.Event, sent: list[float]) -> None:
    """Queue an ``f`` key every KEY_INTERVAL seconds the way a terminal would, recording when."""
    from textual import events

    while not stop.is_set():
        event = events.Key("f", "f")
        event.set_sender(app)
        sent.append(time.perf_counter())
        app._driver.send_message(event)
        await asyncio.sleep(KEY_INTERVAL)


def latencies(sent: list[float], handled: list[float]) -> list[float]:
    """Seconds from each key queued to its action done (keys are handled in order)."""
    return [done - start for start, done in zip(sent, handled, strict=False)]
