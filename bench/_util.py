"""Small, stable helpers the benchmarks in bench/ share: repeated timing, CPU accounting and tables."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

Row = Sequence[object]
T = TypeVar("T")


def timed(fn: Callable[[], object]) -> float:
    """Wall-clock seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def repeat(fn: Callable[[], float], runs: int) -> list[float]:
    """Call a measuring function ``runs`` times and return every figure it reported."""
    return [fn() for _ in range(runs)]


def alternate(runners: dict[str, Callable[[], T]], runs: int) -> dict[str, list[T]]:
    """Call every runner once per round, for ``runs`` rounds, the order reversed every other round.

    Load that comes and goes on a shared machine then hits every runner alike, wherever it stands.
    """
    results: dict[str, list[T]] = {name: [] for name in runners}
    names = list(runners)
    for round_ in range(runs):
        for name in names if round_ % 2 == 0 else reversed(names):
            results[name].append(runners[name]())
    return results


def median(values: Sequence[float]) -> float:
    """The median, which a single noisy run on a shared machine moves least."""
    return float(statistics.median(values))


def ratio(value: float, baseline: float) -> str:
    """``value / baseline`` written as ``3.2x``, or ``-`` when there is no baseline."""
    if not baseline or baseline != baseline:  # zero or NaN
        return "-"
    return f"{value / baseline:.2f}x"


def rate(per_second: float) -> str:
    """A throughput such as ``312k/s``."""
    if per_second >= 1e6:
        return f"{per_second / 1e6:.2f}M/s"
    if per_second >= 1e3:
        return f"{per_second / 1e3:.0f}k/s"
    return f"{per_second:.0f}/s"


def seconds(value: float) -> str:
    """A duration in the unit that keeps three significant figures readable."""
    if value < 1.0:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"


def megabytes(size: float) -> str:
    """A memory size in MB (10**6 bytes, as the targets are written)."""
    return f"{size / 1e6:.1f} MB"


def verdict(ok: bool) -> str:
    """PASS or FAIL for a target line."""
    return "PASS" if ok else "FAIL"


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, to the nanosecond where Linux tells it.

    /proc/PID/task/*/schedstat counts every thread in nanoseconds; cpu_times() counts in 10 ms ticks,
    too coarse for an idle process that should use a few milliseconds a minute.
    """
    total = 0
    found = False
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
                found = True
            except (OSError, ValueError, IndexError):
                continue
    except OSError:
        pass
    if found:
        return total / 1e9
    times = os.times() if pid == os.getpid() else None
    if times is not None:
        return times.user + times.system
    import psutil

    cpu = psutil.Process(pid).cpu_times()
    return float(cpu.user + cpu.system)


class StealMeter:
    """The share of the CPUs' busy time the hypervisor gave to other guests while measuring (/proc/stat).

    On a shared VM a benchmark's wall times stretch with it, so an absolute target read in a run with
    much steal says little; ratios between runners measured in the same run are not skewed by it.
    """

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[int, int]:
        """(busy, steal) jiffies over all CPUs since boot; (0, 0) where /proc/stat is missing."""
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return 0, 0
        user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
        return user + nice + system + irq + softirq + steal, steal

    def share(self) -> float:
        """Steal as a fraction of busy time since this meter was made (NaN with no busy time)."""
        busy, steal = (now - then for now, then in zip(self._read(), self._start, strict=True))
        return steal / busy if busy else float("nan")


def table(title: str, headers: Row, rows: Sequence[Row]) -> str:
    """A plain-text table (first column left-aligned, the rest right-aligned) under a title."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = [row[0].ljust(widths[0]), *(cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([title, line(cells[0]), rule, *(line(row) for row in cells[1:])])
