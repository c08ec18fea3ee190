"""CPU and memory per process tree: one pass over the process table per tick, summed per instance, type and total."""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import psutil

from procdash.core.instance import Instance

DEFAULT_HISTORY = 60
# /proc counts CPU time in 10 ms ticks; a shorter window would turn one tick into a wild percentage.
MIN_WINDOW = 0.01
SCAN_ATTRS = ["ppid", "status", "cpu_times"]


@dataclass(frozen=True)
class Usage:
    """Resources of one or more process trees at one tick."""

    cpu_percent: float  # sum over the tree; 100.0 = one core
    rss: int  # bytes, sum over the tree
    processes: int  # processes in the tree
    uss: int | None = None  # bytes; only for the instance named by uss_for

    def plus(self, other: Usage) -> Usage:
        """The sum of two usages (USS is per instance, so a sum has none)."""
        return Usage(self.cpu_percent + other.cpu_percent, self.rss + other.rss, self.processes + other.processes)


NO_USAGE = Usage(0.0, 0, 0)


@dataclass(frozen=True)
class Snapshot:
    """One tick of the sampler: per instance, per type and for the whole formation."""

    at: float  # time.monotonic()
    instances: dict[str, Usage]  # by instance name, e.g. "web.1"
    types: dict[str, Usage]  # by type name ("web"), summed over its instances
    total: Usage  # the whole formation


@dataclass
class _Seen:
    """What the previous tick read from one process, to turn its cumulative CPU time into a rate."""

    create_time: float
    cpu: float
    at: float


def live_roots(instances: Iterable[Instance]) -> dict[str, int]:
    """Instance name -> root pid for every instance whose process runs, in the order given.

    A reaped root's pid may already belong to someone else, so an instance still draining its output
    after its process was reaped is left out.
    """
    return {inst.name: inst.pid for inst in instances if inst.pid is not None and inst.alive and not inst.reaped}


def format_bytes(size: float) -> str:
    """A memory size in decimal units, as ``41.2MB``, ``1.30GB`` or ``512kB``."""
    if size >= 1e9:
        return f"{size / 1e9:.2f}GB"
    if size >= 1e6:
        return f"{size / 1e6:.1f}MB"
    if size >= 1e3:
        return f"{size / 1e3:.0f}kB"
    return f"{size:.0f}B"


def _age_clock() -> Callable[[float], float]:
    """A function from a psutil create_time to the process's age in seconds, as exact as the platform allows.

    psutil's epoch create_time adds /proc/stat's whole-second boot time, which would put a young process's
    age off by up to a second; on Linux the boot-relative start is recovered and compared with CLOCK_BOOTTIME.
    """
    if sys.platform.startswith("linux") and hasattr(time, "CLOCK_BOOTTIME"):
        boot = psutil.boot_time()
        uptime = time.clock_gettime(time.CLOCK_BOOTTIME)
        return lambda create_time: uptime - (create_time - boot)
    now = time.time()
    return lambda create_time: now - create_time


class StatsSampler:
    """Samples CPU and memory of each instance's whole process tree; keeps a short CPU history for sparklines.

    ``sample`` runs in one worker thread at a time; ``history`` and ``type_history`` may be read from
    any thread.
    """

    def __init__(self, history: int = DEFAULT_HISTORY) -> None:
        if history < 1:
            raise ValueError("history must be at least 1")
        self.history_length = history
        self._seen: dict[int, _Seen] = {}
        self._last_at: float | None = None
        self._max_rate = 100.0 * (psutil.cpu_count() or 1)
        self._history: dict[str, deque[float]] = {}
        self._type_history: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def sample(self, roots: Mapping[str, int], *, uss_for: str | None = None) -> Snapshot:
        """Measure every instance's tree; ``roots`` maps instance names to their root pids.

        Instances whose root is gone (or a zombie) are left out. Nothing here raises for processes that
        vanish, turn into zombies or deny access while being read.
        """
        table, children = _scan()
        now = time.monotonic()
        window = None if self._last_at is None else now - self._last_at
        age_of = _age_clock()
        seen: dict[int, _Seen] = {}
        claimed: set[int] = set()
        instances: dict[str, Usage] = {}
        for name, root in roots.items():
            tree = _tree(root, table, children, claimed)
            if tree is None:
                continue
            cpu = 0.0
            rss = 0
            count = 0
            for proc in tree:
                reading = self._read(proc, now, window, age_of, seen)
                if reading is None:
                    continue
                cpu += reading[0]
                rss += reading[1]
                count += 1
            if count == 0:
                continue
            uss = _uss(tree) if name == uss_for else None
            instances[name] = Usage(cpu, rss, count, uss)
        # Forgetting processes not seen this tick keeps the cache as small as the formation.
        self._seen = seen
        self._last_at = now
        types: dict[str, Usage] = {}
        total = NO_USAGE
        for name, usage in instances.items():
            type_name = name.rpartition(".")[0]
            types[type_name] = types.get(type_name, NO_USAGE).plus(usage)
            total = total.plus(usage)
        self._record(roots, instances, types)
        return Snapshot(at=now, instances=instances, types=types, total=total)

    def history(self, name: str) -> list[float]:
        """The last ``history`` CPU percentages of an instance, oldest first (0.0 while its root is gone)."""
        with self._lock:
            return list(self._history.get(name, ()))

    def type_history(self, type_name: str) -> list[float]:
        """The last ``history`` CPU percentages of a type, summed over its instances, oldest first."""
        with self._lock:
            return list(self._type_history.get(type_name, ()))

    def _read(
        self,
        proc: psutil.Process,
        now: float,
        window: float | None,
        age_of: Callable[[float], float],
        seen: dict[int, _Seen],
    ) -> tuple[float, int] | None:
        """CPU percent and RSS of one process, or None when it vanished meanwhile."""
        times = proc.info.get("cpu_times")
        try:
            # process_iter reuses its Process objects by pid; a recycled pid would carry the old
            # create_time, so the identity is checked against the process that holds the pid now.
            if not proc.is_running():
                proc = psutil.Process(proc.pid)
            create_time = proc.create_time()
        except psutil.NoSuchProcess:
            return None
        except psutil.AccessDenied:
            return 0.0, 0
        try:
            rss = int(proc.memory_info().rss)
        except psutil.NoSuchProcess:
            return None
        except psutil.AccessDenied:
            rss = 0
        if times is None:
            return 0.0, rss
        cpu = float(times.user + times.system)
        seen[proc.pid] = _Seen(create_time, cpu, now)
        before = self._seen.get(proc.pid)
        if before is not None and before.create_time == create_time:
            used = max(0.0, cpu - before.cpu)
            elapsed = now - before.at
        else:
            # First sight: everything it used since it started. Born since the last tick, that all
            # falls in this tick's window; otherwise (the sampler's first tick) it is its average so far.
            age = age_of(create_time)
            used = cpu
            elapsed = age if window is None else max(age, window)
        return min(self._max_rate, 100.0 * used / max(elapsed, MIN_WINDOW)), rss

    def _record(self, roots: Mapping[str, int], instances: dict[str, Usage], types: dict[str, Usage]) -> None:
        """Append this tick to the histories of every instance and type named in ``roots``."""
        size = self.history_length
        with self._lock:
            for name in roots:
                usage = instances.get(name)
                self._history.setdefault(name, deque(maxlen=size)).append(usage.cpu_percent if usage else 0.0)
            for type_name in dict.fromkeys(name.rpartition(".")[0] for name in roots):
                usage = types.get(type_name)
                history = self._type_history.setdefault(type_name, deque(maxlen=size))
                history.append(usage.cpu_percent if usage else 0.0)


def _scan() -> tuple[dict[int, psutil.Process], dict[int, list[int]]]:
    """One pass over the process table: live processes by pid, and each pid's children."""
    table: dict[int, psutil.Process] = {}
    children: dict[int, list[int]] = {}
    for proc in psutil.process_iter(SCAN_ATTRS):
        info = proc.info
        ppid = info.get("ppid")
        if ppid is None or info.get("status") == psutil.STATUS_ZOMBIE:
            continue
        table[proc.pid] = proc
        children.setdefault(ppid, []).append(proc.pid)
    return table, children


def _tree(
    root: int, table: Mapping[int, psutil.Process], children: Mapping[int, list[int]], claimed: set[int]
) -> list[psutil.Process] | None:
    """The root and every live descendant not already counted under another root, or None if the root is gone."""
    if root not in table or root in claimed:
        return None
    procs: list[psutil.Process] = []
    stack = [root]
    while stack:
        pid = stack.pop()
        if pid in claimed:
            continue
        claimed.add(pid)
        procs.append(table[pid])
        stack.extend(child for child in children.get(pid, ()) if child in table)
    return procs


def _uss(procs: Iterable[psutil.Process]) -> int | None:
    """Memory unique to a tree (what quitting it would free), or None when no process of it may be read."""
    total = 0
    readable = False
    for proc in procs:
        try:
            total += int(proc.memory_full_info().uss)
            readable = True
        except psutil.Error:
            continue
    return total if readable else None
