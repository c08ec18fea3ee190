"""Sampler benchmark: procdash's cost per stats tick for 10, 50 and 200 managed processes against a naive sampler.

Run from the repository root with the project's venv:  .venv/bin/python bench/stats.py [--ticks N] [--paths-only]
Each managed process is a real sleeper in its own session, sampled as one instance. Measured in the same run
on the same processes, ticks interleaved: procdash's sampler reading /proc directly (the Linux default), the
same sampler through psutil (the portable path), and the baseline a first attempt looks like: per instance,
``psutil.Process(pid).children(recursive=True)`` (which rescans the whole process table every time) and
``cpu_percent()``/``memory_info()`` on cached Process objects. Figures are medians over the ticks.
A second table gives the CPU time (thread time, median) of one tick for 20 and 200 sleepers: the whole-machine
/proc scan (the baseline) against the walk down the children lists and the idle tick that re-reads only the
previous trees while no pid was allocated, the ports' descriptor walk without and with PortCache, and the
reaper's tick reading every thread's children list against only the main thread's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _util import median, ratio, seconds, table, timed, verdict

from procdash.core import reaper
from procdash.core.ports import PortCache, listening_sockets, tree_ports
from procdash.core.reaper import reap_adopted
from procdash.core.stats import StatsSampler

SIZES = (10, 50, 200)
PATH_SIZES = (20, 200)
# The dashboard runs its UI, stats and helper threads; the reaper's old tick read one children list each.
DASHBOARD_THREADS = 6
SLEEP_ARG = "86397"  # an unusual duration, so leftover sleepers of this bench can be found and removed
TARGET_SIZE = 50
TARGET_TICK = 0.015


class NaiveSampler:
    """The baseline: walk each instance's tree with psutil's children(), keep Process objects for cpu_percent."""

    def __init__(self) -> None:
        self.cache: dict[int, psutil.Process] = {}

    def sample(self, roots: Mapping[str, int]) -> dict[str, tuple[float, int, int]]:
        """CPU percent, RSS and process count per instance."""
        result: dict[str, tuple[float, int, int]] = {}
        for name, pid in roots.items():
            try:
                root = self.cache.get(pid) or psutil.Process(pid)
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            cpu = 0.0
            rss = 0
            for proc in procs:
                cached = self.cache.setdefault(proc.pid, proc)
                try:
                    cpu += cached.cpu_percent()
                    rss += cached.memory_info().rss
                except psutil.Error:
                    continue
            result[name] = (cpu, rss, len(procs))
        return result


def spawn_sleepers(count: int) -> list[subprocess.Popen[bytes]]:
    """Start ``count`` sleepers, each in its own session like a procdash instance."""
    return [
        subprocess.Popen(["sleep", SLEEP_ARG], start_new_session=True, stdin=subprocess.DEVNULL) for _ in range(count)
    ]


def stop_sleepers(procs: list[subprocess.Popen[bytes]]) -> None:
    """Kill and reap every sleeper."""
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for proc in procs:
        proc.wait(timeout=10)


def tick_times(sample: Callable[[], object], ticks: int, pause: float) -> list[float]:
    """Seconds each of ``ticks`` calls takes, after one warm-up call, with a short pause between ticks."""
    sample()
    times = []
    for _ in range(ticks):
        time.sleep(pause)
        times.append(timed(sample))
    return times


def measure(count: int, ticks: int, pause: float) -> list[object]:
    """One table row: the formation size, the process table size and both samplers' median tick."""
    procs = spawn_sleepers(count)
    try:
        roots = {f"sleeper.{i + 1}": proc.pid for i, proc in enumerate(procs)}
        deadline = time.monotonic() + 10
        while not all(psutil.pid_exists(pid) for pid in roots.values()):
            if time.monotonic() > deadline:
                raise RuntimeError("sleepers did not start")
            time.sleep(0.01)
        sampler = StatsSampler(use_procfs=True)
        portable = StatsSampler(use_procfs=False)
        for check in (sampler, portable):
            seen = len(check.sample(roots).instances)
            if seen != count:
                raise RuntimeError(f"sampler saw {seen} of {count} instances")
        naive = NaiveSampler()
        # Interleaved, so load from the rest of the machine falls on all of them alike.
        ours: list[float] = []
        psutil_path: list[float] = []
        theirs: list[float] = []
        for _ in range(ticks):
            ours.extend(tick_times(lambda: sampler.sample(roots), 1, pause))
            psutil_path.extend(tick_times(lambda: portable.sample(roots), 1, pause))
            theirs.extend(tick_times(lambda: naive.sample(roots), 1, pause))
        with_uss = median(tick_times(lambda: sampler.sample(roots, uss_for="sleeper.1"), max(3, ticks // 3), pause))
        system = len(psutil.pids())
    finally:
        stop_sleepers(procs)
    procdash_tick = median(ours)
    naive_tick = median(theirs)
    target = verdict(procdash_tick < TARGET_TICK) if count == TARGET_SIZE else ""
    return [
        count,
        system,
        seconds(procdash_tick),
        seconds(with_uss),
        seconds(median(psutil_path)),
        seconds(naive_tick),
        ratio(naive_tick, procdash_tick),
        target,
    ]


def cpu_ticks(runners: dict[str, Callable[[], object]], ticks: int, pause: float) -> dict[str, list[float]]:
    """Thread CPU seconds of each call, runners interleaved (order reversed every other round) after a warm-up."""
    for run in runners.values():
        run()
    spent: dict[str, list[float]] = {name: [] for name in runners}
    names = list(runners)
    for round_ in range(ticks):
        for name in names if round_ % 2 == 0 else reversed(names):
            time.sleep(pause)
            began = time.thread_time()
            runners[name]()
            spent[name].append(time.thread_time() - began)
    return spent


def micro(value: float) -> str:
    """A per-tick CPU time in microseconds, the unit these ticks are counted in."""
    return f"{value * 1e6:.0f} us"


def measure_paths(count: int, ticks: int, pause: float) -> list[object]:
    """One row of the second table: per-tick CPU of each way of reading the trees, of ports and of the reaper."""
    procs = spawn_sleepers(count)
    stop = threading.Event()
    helpers = [threading.Thread(target=stop.wait, daemon=True) for _ in range(DASHBOARD_THREADS - 1)]
    # A listener of our own, so the listening table is never empty (an empty one needs no descriptor walk).
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        for helper in helpers:
            helper.start()
        try:
            roots = {f"sleeper.{i + 1}": proc.pid for i, proc in enumerate(procs)}
            # procdash waits for what it spawns itself, so the reaper skips those without reading their stat.
            reaper.OWN.update(roots.values())
            scan = StatsSampler(use_procfs=True, walk=False, idle=False, ports=False)
            walk = StatsSampler(use_procfs=True, walk=True, idle=False, ports=False)
            idle = StatsSampler(use_procfs=True, walk=True, idle=True, ports=False)
            for check in (scan, walk, idle):
                seen = len(check.sample(roots).instances)
                if seen != count:
                    raise RuntimeError(f"sampler saw {seen} of {count} instances")
            idle_paths: list[str] = []

            def idle_tick() -> None:
                idle.sample(roots)
                idle_paths.append(idle.path)

            sockets = listening_sockets()
            cache = PortCache()
            trees = {name: [(pid, 0.0)] for name, pid in roots.items()}
            spent = cpu_ticks(
                {
                    "scan": lambda: scan.sample(roots),
                    "walk": lambda: walk.sample(roots),
                    "idle": idle_tick,
                    "ports": lambda: [tree_ports([pid], sockets) for pid in roots.values()],
                    "cached": lambda: cache.ports(trees, sockets),
                    "reap all": reap_adopted,
                    "reap main": lambda: reap_adopted(main_thread_only=True),
                },
                ticks,
                pause,
            )
            system = len(os.listdir("/proc")) - sum(1 for entry in os.listdir("/proc") if not entry.isdigit())
        finally:
            reaper.OWN.difference_update(proc.pid for proc in procs)
            stop.set()
            stop_sleepers(procs)
    baseline = median(spent["scan"])
    idle_median = median([t for t, path in zip(spent["idle"], idle_paths[1:], strict=True) if path == "idle"] or [0.0])
    return [
        count,
        system,
        micro(baseline),
        micro(median(spent["walk"])),
        micro(idle_median),
        f"{sum(1 for path in idle_paths[1:] if path == 'idle')}/{ticks}",
        ratio(baseline, idle_median),
        micro(median(spent["ports"])),
        micro(median(spent["cached"])),
        micro(median(spent["reap all"])),
        micro(median(spent["reap main"])),
    ]


def kill_leftovers() -> int:
    """End sleepers an earlier run of this bench left behind (it was killed): they would be counted as load."""
    killed = 0
    for proc in psutil.process_iter(["cmdline"]):
        if proc.info["cmdline"] == ["sleep", SLEEP_ARG]:
            with contextlib.suppress(psutil.Error):
                proc.kill()
                killed += 1
    return killed


def main() -> int:
    """Measure every size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=21, help="ticks per sampler and size (default 21)")
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between ticks (default 0.02)")
    parser.add_argument("--paths-only", action="store_true", help="only the second table (per-tick CPU by path)")
    args = parser.parse_args()
    if killed := kill_leftovers():
        print(f"ended {killed} sleepers left behind by an earlier run")
    path_rows = [measure_paths(count, args.ticks, args.pause) for count in PATH_SIZES]
    print(
        table(
            f"Per-tick CPU (thread time, median of {args.ticks}; idle: of the ticks that took the idle path)",
            [
                "sleepers",
                "processes on system",
                "whole scan",
                "walk",
                "idle",
                "idle ticks",
                "scan/idle",
                "ports walk",
                "ports cached",
                f"reaper {DASHBOARD_THREADS} threads",
                "reaper main",
            ],
            path_rows,
        )
    )
    if args.paths_only:
        return 0
    print()
    rows = [measure(count, args.ticks, args.pause) for count in SIZES]
    print(
        table(
            f"Stats sampler cost per tick, median of {args.ticks} (target: under {TARGET_TICK * 1e3:g} ms "
            f"for {TARGET_SIZE} processes)",
            ["managed", "processes on system", "procdash", "+ USS", "via psutil", "naive", "naive/procdash", "target"],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
