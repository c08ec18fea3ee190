"""CPU and memory per process tree: the formation's processes read once per tick, summed per instance, type and total.

On Linux each process costs one read of ``/proc/PID/stat``: that one read holds the parent pid, state, CPU
times, start time and RSS of a process, consistently, in about 3 us. psutil's ``process_iter`` gets the same
facts in about 35 us per process (it reads each file twice to guard against pid reuse). Only the formation's
processes are read: each tree is walked down the kernel's per-thread children lists, so a tick costs what the
formation costs, not what the machine costs (a laptop runs 400 processes, 5 ms a tick to read them all). While
no pid was allocated since the previous tick (``/proc/loadavg`` tells), no process can have been born, so the
tick re-reads only the previous trees' processes. Without children lists (a kernel built without
CONFIG_PROC_CHILDREN) every process is read; elsewhere, psutil is used. psutil is imported only there (and for
the one USS reading), so the dashboard does not carry its megabyte.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass

from procdash.core.instance import Instance
from procdash.core.ports import ListeningTable, PortCache
from procdash.core.reaper import child_pids, thread_children

DEFAULT_HISTORY = 60
# /proc counts CPU time in 10 ms ticks; a shorter window would turn one tick into a wild percentage.
MIN_WINDOW = 0.01
PROC = "/proc"
HAS_PROCFS = (
    sys.platform.startswith("linux") and hasattr(time, "CLOCK_BOOTTIME") and os.path.exists(f"{PROC}/self/stat")
)
# The children lists exist for every task or for none (CONFIG_PROC_CHILDREN), so one look at our own tells.
HAS_CHILDREN = HAS_PROCFS and os.path.exists(f"{PROC}/{os.getpid()}/task/{os.getpid()}/children")
LOADAVG = f"{PROC}/loadavg"


@dataclass(frozen=True)
class Usage:
    """Resources of one or more process trees at one tick."""

    cpu_percent: float  # sum over the tree; 100.0 = one core
    rss: int  # bytes, sum over the tree
    processes: int  # processes in the tree
    uss: int | None = None  # bytes; only for the instance named by uss_for
    ports: tuple[int, ...] = ()  # TCP ports the tree listens on; only per instance

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


@dataclass(slots=True)
class Reading:
    """One live process as one scan saw it."""

    ppid: int
    start: float  # seconds on the scan's clock; with the pid, it tells a recycled pid from the old process
    cpu: float | None  # user + system seconds so far, None when not readable
    rss: int


@dataclass(frozen=True)
class Scan:
    """The whole process table at one moment: live processes by pid, children by parent, and the clock."""

    procs: dict[int, Reading]
    children: dict[int, list[int]]
    clock: float  # "now" on the clock ``Reading.start`` uses, so ``clock - start`` is a process's age


@dataclass(slots=True)
class _Seen:
    """What the previous tick read from one process, to turn its cumulative CPU time into a rate."""

    start: float
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


def last_pid(files: StatFiles | None = None) -> int | None:
    """The last pid allocated in our pid namespace (threads too), from ``/proc/loadavg``; None when unreadable.

    Any new process or thread moves it, so while it stands still the previous tick's process trees can
    only have lost members (or, when someone writes ns_last_pid, recycled one: start times tell).
    ``files`` keeps the file open.
    """
    data = files.read_loadavg() if files is not None else _read_small(LOADAVG, 256)
    if data is None:
        return None
    # "0.09 0.05 0.02 3/85 3699": the fifth field
    try:
        return int(data.rsplit(None, 1)[-1])
    except (ValueError, IndexError):
        return None


def _read_small(path: str, size: int) -> bytes | None:
    """A /proc file of at most ``size`` bytes in one read; None when it cannot be opened or read."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # a process gone since it was listed, or hidden from us
        return None
    try:
        return os.read(fd, size)
    except OSError:
        return None
    finally:
        os.close(fd)


def _read_stat(pid: int | str, ticks: int, page: int) -> tuple[Reading, int] | None:
    """One process's reading and thread count from ``/proc/PID/stat``; None when gone, hidden or a zombie."""
    data = _read_small(f"{PROC}/{pid}/stat", 4096)
    return None if data is None else _parse_stat(data, ticks, page)


def _parse_stat(data: bytes, ticks: int, page: int) -> tuple[Reading, int] | None:
    """The reading and thread count in a ``/proc/PID/stat`` line; None for a zombie (or a short line)."""
    # The command name is in parentheses and may itself contain ") ", so split after the last one;
    # only the first 22 fields are read, so the other thirty are not split apart (a third of the time).
    fields = data[data.rfind(b")") + 2 :].split(None, 22)
    if len(fields) < 22 or fields[0] in (b"Z", b"X"):
        return None
    reading = Reading(
        ppid=int(fields[1]),
        start=int(fields[19]) / ticks,
        cpu=(int(fields[11]) + int(fields[12])) / ticks,
        rss=int(fields[21]) * page,
    )
    return reading, int(fields[17])


# Stat files kept open across ticks: enough for a usual formation, and a small share of the 1024 descriptors
# a process is commonly allowed (a 200-instance formation already holds 200 pty masters and more).
MAX_HELD = 64


class StatFiles:
    """``/proc/PID/stat`` files of the formation's processes, kept open across ticks (Linux).

    A pread of an open stat file costs half of an open, read and close, and it stays bound to its
    process: once that one is reaped the file reads ESRCH even if the pid was handed out again, so
    such a read opens the path anew. At most ``limit`` files are held; beyond, each read opens its own.
    """

    def __init__(self, limit: int = MAX_HELD) -> None:
        self.limit = limit
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.fds: dict[int, int] = {}
        self.loadavg: dict[str, int] = {}  # LOADAVG -> its descriptor, once opened
        # A sampler dropped without close() must not leak its descriptors.
        self._finalizer = weakref.finalize(self, _close_all, self.fds, self.loadavg)

    def read_loadavg(self) -> bytes:
        """The content of ``/proc/loadavg`` through a descriptor kept open (b"" when unreadable)."""
        try:
            fd = self.loadavg.get(LOADAVG)
            if fd is None:
                fd = self.loadavg[LOADAVG] = os.open(LOADAVG, os.O_RDONLY)
            return os.pread(fd, 256, 0)
        except OSError:
            return b""

    def read(self, pid: int) -> tuple[Reading, int] | None:
        """One process's reading and thread count; None when gone, hidden or a zombie."""
        fd = self.fds.get(pid)
        if fd is not None:
            try:
                return _parse_stat(os.pread(fd, 4096, 0), self.ticks, self.page)
            except OSError:  # that process was reaped; the pid may be someone else's by now
                del self.fds[pid]
                os.close(fd)
        if len(self.fds) >= self.limit:
            return _read_stat(pid, self.ticks, self.page)
        try:
            fd = os.open(f"{PROC}/{pid}/stat", os.O_RDONLY)
        except OSError:
            return None
        try:
            data = os.read(fd, 4096)
        except OSError:
            os.close(fd)
            return None
        self.fds[pid] = fd
        return _parse_stat(data, self.ticks, self.page)

    def keep(self, pids: Container[int]) -> None:
        """Close the files of every process not among ``pids`` (they left the trees)."""
        for pid in [pid for pid in self.fds if pid not in pids]:
            os.close(self.fds.pop(pid))

    def close(self) -> None:
        """Close every file."""
        _close_all(self.fds, self.loadavg)


def _close_all(*tables: dict[int, int] | dict[str, int]) -> None:
    """Close the descriptors of a StatFiles (dropped, or closed)."""
    for table in tables:
        for fd in table.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        table.clear()


def scan_procfs() -> Scan:
    """Read every ``/proc/PID/stat`` once (Linux); start times are seconds since boot, exact to a clock tick."""
    return _scan_machine()[0]


def _scan_machine() -> tuple[Scan, bool]:
    """Every process on the machine, and whether a live one's parent died during the scan.

    Such a process is about to be reparented, perhaps into a tree it is not counted in now: the next
    tick must then look again rather than trust this one's trees.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    procs: dict[int, Reading] = {}
    children: dict[int, list[int]] = {}
    dead: set[int] = set()
    clock = time.clock_gettime(time.CLOCK_BOOTTIME)
    for entry in os.listdir(PROC):
        if not entry.isdigit():
            continue
        got = _read_stat(entry, ticks, page)
        pid = int(entry)
        if got is None:
            dead.add(pid)
            continue
        reading = got[0]
        procs[pid] = reading
        children.setdefault(reading.ppid, []).append(pid)
    unsettled = bool(dead) and any(reading.ppid in dead for reading in procs.values())
    return Scan(procs, children, clock), unsettled


def walk_procfs(roots: Iterable[int], files: StatFiles | None = None) -> tuple[Scan, bool]:
    """The given roots and their descendants only, down the kernel's children lists (Linux).

    Also tells whether the walk met a process that changed under it: a listed child gone, a zombie, or
    reparented between the two reads (its stat names another parent; it is left out). The process table
    holds only the walked trees, in the shape ``scan_procfs`` gives them. ``files`` keeps stat files open.
    """
    read = (files or StatFiles(limit=0)).read
    procs: dict[int, Reading] = {}
    children: dict[int, list[int]] = {}
    unsettled = False
    clock = time.clock_gettime(time.CLOCK_BOOTTIME)
    for root in roots:
        if root in procs:
            continue  # inside a tree walked already
        got = read(root)
        if got is None:
            continue
        procs[root] = got[0]
        stack = [(root, got[1])]
        while stack:
            pid, threads = stack.pop()
            # A one-thread process keeps its children on its only task's list, which saves listing tasks;
            # a thread started since its stat was read allocated a pid, so the next tick walks again.
            kids = thread_children(pid, pid) if threads == 1 else child_pids(pid)
            for child in kids:
                if child in procs:
                    children.setdefault(pid, []).append(child)  # a root met again below another root
                    continue
                got = read(child)
                if got is None or got[0].ppid != pid:
                    unsettled = True
                    continue
                procs[child] = got[0]
                children.setdefault(pid, []).append(child)
                stack.append((child, got[1]))
    return Scan(procs, children, clock), unsettled


def reread_procfs(known: Mapping[int, tuple[int, float]], files: StatFiles | None = None) -> Scan | None:
    """The given processes read again, or None once one is gone, a zombie, or has another parent or start time.

    ``known`` maps pids to the parent pid and start time they had; any change means a tree changed shape.
    """
    read = (files or StatFiles(limit=0)).read
    procs: dict[int, Reading] = {}
    children: dict[int, list[int]] = {}
    clock = time.clock_gettime(time.CLOCK_BOOTTIME)
    for pid, (ppid, start) in known.items():
        got = read(pid)
        if got is None:
            return None
        reading = got[0]
        if reading.ppid != ppid or reading.start != start:
            return None
        procs[pid] = reading
        children.setdefault(ppid, []).append(pid)
    return Scan(procs, children, clock)


def scan_psutil() -> Scan:
    """Read every process through psutil (any platform); start times are epoch create times.

    Each pid gets a fresh Process rather than process_iter's cached one, whose create_time would be the
    old process's after a pid is recycled.
    """
    import psutil

    procs: dict[int, Reading] = {}
    children: dict[int, list[int]] = {}
    clock = time.time()
    for pid in psutil.pids():
        try:
            proc = psutil.Process(pid)
            with proc.oneshot():
                if proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                ppid = proc.ppid()
                start = proc.create_time()
                try:
                    times = proc.cpu_times()
                    cpu: float | None = float(times.user + times.system)
                except psutil.AccessDenied:
                    cpu = None
                try:
                    rss = int(proc.memory_info().rss)
                except psutil.AccessDenied:
                    rss = 0
        except psutil.Error:  # gone, a zombie, or not even its parent may be read
            continue
        procs[pid] = Reading(ppid=ppid, start=start, cpu=cpu, rss=rss)
        children.setdefault(ppid, []).append(pid)
    return Scan(procs, children, clock)


class StatsSampler:
    """Samples CPU and memory of each instance's whole process tree; keeps a short CPU history for sparklines.

    ``sample`` runs in one worker thread at a time; ``history`` and ``type_history`` may be read from
    any thread. CPU is computed from the change in each process's CPU time since the previous tick; a
    process seen for the first time counts everything it used since it started (so the first reading
    of a busy process is not a fake 0.0, and a child born since the previous tick counts in full).
    """

    def __init__(
        self,
        history: int = DEFAULT_HISTORY,
        *,
        use_procfs: bool | None = None,
        ports: bool = True,
        walk: bool | None = None,
        idle: bool = True,
    ) -> None:
        if history < 1:
            raise ValueError("history must be at least 1")
        self.history_length = history
        self.use_procfs = HAS_PROCFS if use_procfs is None else use_procfs
        self.scan_ports = ports and self.use_procfs
        # walk: down the children lists rather than over the whole machine (never where the kernel has
        # none: the walk would see roots only); idle: re-read only the previous trees while no pid was
        # allocated. Both only through /proc.
        self.walk = self.use_procfs and HAS_CHILDREN and walk is not False
        self.idle = idle and self.use_procfs
        self.path = ""  # how the last tick read the processes: "idle", "walk", "scan" or "psutil"
        self.read = 0  # how many processes the last tick read: what the next one, walked or idle, will cost
        self._seen: dict[int, _Seen] = {}
        self._last_at: float | None = None
        self._max_rate = 100.0 * (os.cpu_count() or 1)
        self._history: dict[str, deque[float]] = {}
        self._type_history: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._ports = PortCache()
        self._listening = ListeningTable()
        self._files = StatFiles() if self.use_procfs and HAS_PROCFS else None
        # What an idle tick needs from the previous one: the pid counter then (None: look again), each
        # instance's root, and parent and start time of every process of the trees.
        self._last_pid: int | None = None
        self._roots: dict[str, int] = {}
        self._known: dict[int, tuple[int, float]] = {}

    def sample(self, roots: Mapping[str, int], *, uss_for: str | None = None, slots: int = 1) -> Snapshot:
        """Measure every instance's tree; ``roots`` maps instance names to their root pids.

        Instances whose root is gone (or a zombie) are left out. Nothing here raises for processes that
        vanish, turn into zombies or deny access while being read. ``slots`` is how many entries of the
        CPU histories this reading fills: more than one when the caller let intervals pass without one.
        """
        scan = self._scan(roots)
        self.read = len(scan.procs)
        sockets = self._listening.read() if self.scan_ports else {}
        now = time.monotonic()
        window = None if self._last_at is None else now - self._last_at
        seen: dict[int, _Seen] = {}
        claimed: set[int] = set()
        trees: dict[str, list[int]] = {}
        for name, root in roots.items():
            tree = _tree(root, scan, claimed)
            if tree:
                trees[name] = tree
        if self.scan_ports:
            ports = self._ports.ports(
                {name: [(pid, scan.procs[pid].start) for pid in tree] for name, tree in trees.items()}, sockets
            )
        else:
            ports = {}
        instances: dict[str, Usage] = {}
        for name, tree in trees.items():
            cpu = 0.0
            rss = 0
            for pid in tree:
                reading = scan.procs[pid]
                cpu += self._rate(pid, reading, scan.clock, now, window, seen)
                rss += reading.rss
            uss = _uss(tree) if name == uss_for else None
            instances[name] = Usage(cpu, rss, len(tree), uss, ports.get(name, ()))
        # An idle tick read exactly the previous trees, unchanged: what it would note down is noted already.
        if self.idle and self.path != "idle":
            self._roots = {name: roots[name] for name in trees}
            procs = scan.procs
            self._known = {pid: (procs[pid].ppid, procs[pid].start) for tree in trees.values() for pid in tree}
        if self._files is not None and self.path != "idle":
            # The trees' files only: a process read but left out (reparented away) is not read again.
            self._files.keep(scan.procs if self.path != "scan" else ())
        # Forgetting processes not seen this tick keeps the cache as small as the formation.
        self._seen = seen
        self._last_at = now
        # Summed in plain numbers, in the instances' order (what Usage.plus would give, without a Usage each).
        sums: dict[str, tuple[float, int, int]] = {}
        cpu_total, rss_total, processes_total = 0.0, 0, 0
        for name, usage in instances.items():
            type_name = name.rpartition(".")[0]
            cpu, rss, processes = sums.get(type_name, (0.0, 0, 0))
            sums[type_name] = (cpu + usage.cpu_percent, rss + usage.rss, processes + usage.processes)
            cpu_total += usage.cpu_percent
            rss_total += usage.rss
            processes_total += usage.processes
        types = {type_name: Usage(*summed) for type_name, summed in sums.items()}
        total = Usage(cpu_total, rss_total, processes_total)
        self._record(roots, instances, types, slots)
        return Snapshot(at=now, instances=instances, types=types, total=total)

    def _scan(self, roots: Mapping[str, int]) -> Scan:
        """This tick's process table: the previous trees re-read while idle, else walked, scanned or psutil's."""
        if not self.use_procfs:
            self.path = "psutil"
            return scan_psutil()
        # Read before any process is: a process born during this tick's reads moves the counter for the next.
        counter = last_pid(self._files) if self.idle else None
        if (
            counter is not None
            and counter == self._last_pid
            and all(self._roots.get(name) == root for name, root in roots.items())
        ):
            scan = reread_procfs(self._known, self._files)
            if scan is not None:
                self.path = "idle"
                return scan
        if self.walk:
            self.path = "walk"
            scan, unsettled = walk_procfs(roots.values(), self._files)
        else:
            self.path = "scan"
            scan, unsettled = _scan_machine()
        # A tree that changed under the reads may miss a process no new pid would announce: look again.
        self._last_pid = None if unsettled else counter
        return scan

    def close(self) -> None:
        """Close the files and the socket kept open across ticks (dropping the sampler closes them too)."""
        if self._files is not None:
            self._files.close()
        self._listening.close()

    def history(self, name: str) -> list[float]:
        """The last ``history`` CPU percentages of an instance, oldest first (0.0 while its root is gone)."""
        with self._lock:
            return list(self._history.get(name, ()))

    def histories(
        self, names: Iterable[str], type_names: Iterable[str]
    ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
        """The histories of these instances and types, copied under one lock (a tick's worth, in one go)."""
        with self._lock:
            return (
                {name: list(self._history.get(name, ())) for name in names},
                {name: list(self._type_history.get(name, ())) for name in type_names},
            )

    def forget(self, name: str) -> None:
        """Drop an instance's history (it was scaled away: a new slot of that name starts afresh)."""
        with self._lock:
            self._history.pop(name, None)

    def type_history(self, type_name: str) -> list[float]:
        """The last ``history`` CPU percentages of a type, summed over its instances, oldest first."""
        with self._lock:
            return list(self._type_history.get(type_name, ()))

    def _rate(
        self, pid: int, reading: Reading, clock: float, now: float, window: float | None, seen: dict[int, _Seen]
    ) -> float:
        """CPU percent of one process over this tick's window."""
        if reading.cpu is None:
            return 0.0
        before = self._seen.get(pid)
        if before is not None and before.start == reading.start:
            used = max(0.0, reading.cpu - before.cpu)
            elapsed = now - before.at
            # Updated in place: one allocation fewer per process and tick.
            before.cpu = reading.cpu
            before.at = now
            seen[pid] = before
        else:
            seen[pid] = _Seen(reading.start, reading.cpu, now)
            # First sight: everything it used since it started. Born since the last tick, that all
            # falls in this tick's window; otherwise (the sampler's first tick) it is its average so far.
            age = clock - reading.start
            used = reading.cpu
            elapsed = age if window is None else max(age, window)
        return min(self._max_rate, 100.0 * used / max(elapsed, MIN_WINDOW))

    def _record(
        self, roots: Mapping[str, int], instances: dict[str, Usage], types: dict[str, Usage], slots: int = 1
    ) -> None:
        """Append this tick (``slots`` times) to the histories of every instance and type named in ``roots``."""
        size = self.history_length
        with self._lock:
            for name in roots:
                usage = instances.get(name)
                cpu = usage.cpu_percent if usage else 0.0
                history = self._history.setdefault(name, deque(maxlen=size))
                history.extend((cpu,) * slots)
            for type_name in dict.fromkeys(name.rpartition(".")[0] for name in roots):
                usage = types.get(type_name)
                cpu = usage.cpu_percent if usage else 0.0
                history = self._type_history.setdefault(type_name, deque(maxlen=size))
                history.extend((cpu,) * slots)


def _tree(root: int, scan: Scan, claimed: set[int]) -> list[int]:
    """The root and every live descendant not already counted under another root; empty if the root is gone."""
    if root not in scan.procs or root in claimed:
        return []
    pids: list[int] = []
    stack = [root]
    while stack:
        pid = stack.pop()
        if pid in claimed:
            continue
        claimed.add(pid)
        pids.append(pid)
        stack.extend(child for child in scan.children.get(pid, ()) if child in scan.procs)
    return pids


def _uss(pids: Iterable[int]) -> int | None:
    """Memory unique to a tree (what quitting it would free), or None when no process of it may be read."""
    import psutil  # smaps_rollup parsing is psutil's; only a selected single process needs it

    total = 0
    readable = False
    for pid in pids:
        try:
            # Read microseconds after the scan: the pid cannot have been recycled in between in practice.
            total += int(psutil.Process(pid).memory_full_info().uss)
            readable = True
        except psutil.Error:
            continue
    return total if readable else None
