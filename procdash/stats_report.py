"""Headless resource summary: every N seconds one ``system`` line per process type with its CPU and memory."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import sys
from collections.abc import Callable

from procdash.core import events as ev
from procdash.core.project import Project
from procdash.core.stats import Snapshot, StatsSampler, Usage, format_bytes, live_roots
from procdash.core.supervisor import Supervisor
from procdash.headless import Printer

SystemLine = Callable[[str], None]


def describe(type_name: str, instances: int, cpu: float, usage: Usage | None) -> str:
    """One summary line, e.g. ``stats web x2 cpu 3.1% mem 41.2MB procs 4``."""
    rss = usage.rss if usage else 0
    procs = usage.processes if usage else 0
    return f"stats {type_name} x{instances} cpu {cpu:.1f}% mem {format_bytes(rss)} procs {procs}"


class StatsReporter:
    """A headless service that samples the formation in a thread and prints a per-type summary periodically.

    CPU in a line is the mean over the samples since the previous line; memory and counts are the latest.
    """

    def __init__(
        self,
        system: SystemLine,
        *,
        every: float,
        interval: float = 1.0,
        sampler: StatsSampler | None = None,
        on_added: Callable[[ev.Event], None] | None = None,
    ) -> None:
        if every <= 0:
            raise ValueError("every must be positive")
        self.system = system
        self.every = every
        # Sampling more often than printing keeps the CPU mean honest; never less often than printing.
        self.interval = min(interval, every) if interval > 0 else every
        self.sampler = sampler or StatsSampler()
        self.on_added = on_added
        self.latest: Snapshot | None = None  # the newest sample, which `procdash ctl status` also shows
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    @classmethod
    def for_args(cls, args: argparse.Namespace, project: Project, *, color: bool) -> StatsReporter:
        """The reporter ``procdash start --headless --stats N`` runs, printing like the headless printer."""
        names = [f"{t.name}.{max(1, project.counts.get(t.name, 0))}" for t in project.types]
        printer = Printer(
            sys.stdout.buffer,
            names=names,
            color=color,
            timestamps=not args.no_timestamp,
            prefix=not args.no_prefix,
        )

        def widen(event: ev.Event) -> None:
            """Keep the name column as wide as the headless printer's when instances are added."""
            if isinstance(event, ev.Added):
                printer(event)

        return cls(printer.system, every=args.stats, interval=args.stats_interval, on_added=widen)

    async def start(self, supervisor: Supervisor) -> None:
        """Begin sampling and printing on the running loop."""
        if self.on_added is not None:
            self._unsubscribe = supervisor.subscribe(self.on_added)
        self._task = asyncio.get_running_loop().create_task(self._run(supervisor))

    async def stop(self) -> None:
        """Stop sampling; a sample in progress finishes in its thread and is discarded."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, supervisor: Supervisor) -> None:
        """Sample every ``interval`` seconds and print every ``every`` seconds, without drifting."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        window: list[Snapshot] = []
        next_print = started + self.every
        tick = 1
        while True:
            # Even the first sample waits an interval, so its CPU covers time the processes actually ran.
            await asyncio.sleep(max(0.0, started + tick * self.interval - loop.time()))
            # Roots are read on the loop (the supervisor is not thread-safe); /proc is read in a thread.
            roots = live_roots(supervisor.instances())
            try:
                self.latest = await asyncio.to_thread(self.sampler.sample, roots)
                window.append(self.latest)
            except Exception as exc:  # an unreadable process table must not take the formation down
                self.system(f"stats stopped: {exc}")
                return
            if loop.time() >= next_print - self.interval / 2:
                self.report(supervisor, window)
                window = []
                while next_print <= loop.time() + self.interval / 2:
                    next_print += self.every
            # A slow sample skips the ticks it overran instead of sampling in a burst to catch up.
            tick = max(tick + 1, math.floor((loop.time() - started) / self.interval) + 1)

    def report(self, supervisor: Supervisor, window: list[Snapshot]) -> None:
        """Print one line per process type that has instance slots, in Procfile order."""
        if not window:
            return
        latest = window[-1]
        for t in supervisor.types:
            if not any(inst.type_name == t.name for inst in supervisor.instances()):
                continue
            cpu = sum(snap.types[t.name].cpu_percent for snap in window if t.name in snap.types) / len(window)
            running = sum(1 for name in latest.instances if name.rpartition(".")[0] == t.name)
            self.system(describe(t.name, running, cpu, latest.types.get(t.name)))
