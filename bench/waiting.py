"""Waiting-for-input detection: precision and recall on a corpus of real programs, latency, cost per check.

Run from the repository root with the project's venv:  .venv/bin/python bench/waiting.py [--seconds S]
Every corpus program (tests/core/waiting_corpus.py: python input(), pdb, breakpoint(), sh read, cat, node
readline, asyncio stdin; and a quiet HTTP server, sleeping workers, a blocked writer, a busy loop, a steady
printer, a socket select) runs as one instance of a real Supervisor. After a one-second settle, each
instance's ``waiting`` flag is sampled every 50 ms; a sample is a true positive when a program that reads
its terminal is flagged, a false positive when one that does not is. Latency is spawn to the first
Waiting event. Cost is one ``blocked_on_tty`` call on a waiting process, against reading its /proc stat
file once (the baseline, measured in the same run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _util import median, ratio, seconds, table

from procdash.core import events as ev
from procdash.core.procfile import ProcessType
from procdash.core.supervisor import Supervisor, SupervisorOptions
from procdash.core.waiting import blocked_on_tty, pty_path
from tests.core.waiting_corpus import NOT_WAITING, WAITING


def _us(value: float) -> str:
    """A short duration in microseconds."""
    return f"{value * 1e6:.0f} us"


def _type_name(index: int) -> str:
    """A Procfile-safe name for corpus entry ``index``."""
    return f"case{index}"


async def measure(duration: float) -> None:
    """Run the corpus under one supervisor and print the tables."""
    cases = [(name, command, True) for name, command in WAITING.items()]
    cases += [(name, command, False) for name, command in NOT_WAITING.items()]
    types = [ProcessType(_type_name(i), command, i + 1) for i, (_, command, _) in enumerate(cases)]
    sup = Supervisor(
        types,
        {t.name: 1 for t in types},
        root=Path.cwd(),
        dotenv={},
        base_port=20000,
        options=SupervisorOptions(timeout=2.0),
    )
    started: dict[str, float] = {}
    first_wait: dict[str, float] = {}

    def on_event(event: ev.Event) -> None:
        if isinstance(event, ev.Started):
            started[event.instance.type_name] = time.monotonic()
        elif isinstance(event, ev.Waiting) and event.waiting:
            first_wait.setdefault(event.instance.type_name, time.monotonic())

    sup.subscribe(on_event)
    sup.start()
    samples: dict[str, list[bool]] = {t.name: [] for t in types}
    cost: list[float] = []
    baseline: list[float] = []
    try:
        await asyncio.sleep(1.0)
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            for inst in sup.instances():
                samples[inst.type_name].append(inst.waiting)
            await asyncio.sleep(0.05)
        probe = sup.find(f"{_type_name(0)}.1")
        if probe is not None and probe.child is not None:
            tty = pty_path(probe.child.anchor_fd) or ""
            for _ in range(200):
                start = time.perf_counter()
                blocked_on_tty(probe.child.pid, probe.child.anchor_fd, tty)
                cost.append(time.perf_counter() - start)
                start = time.perf_counter()
                with open(f"/proc/{probe.child.pid}/stat", "rb") as handle:
                    handle.read()
                baseline.append(time.perf_counter() - start)
    finally:
        await sup.stop_all()
        sup.close()
    rows = []
    tp = fp = fn = tn = 0
    for i, (name, _, expected) in enumerate(cases):
        flags = samples[_type_name(i)]
        hits = sum(flags)
        if expected:
            tp, fn = tp + hits, fn + len(flags) - hits
        else:
            fp, tn = fp + hits, tn + len(flags) - hits
        when = first_wait.get(_type_name(i))
        latency = seconds(when - started[_type_name(i)]) if when is not None else "-"
        rows.append([name, "waits" if expected else "does not", f"{hits}/{len(flags)}", latency])
    print(
        table(
            "Per program: samples flagged waiting (after a 1 s settle)",
            ["program", "reads tty", "flagged", "spawn to flag"],
            rows,
        )
    )
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    print()
    print(
        table(
            "Totals",
            ["measure", "value"],
            [
                ["samples", tp + fp + fn + tn],
                ["precision (flagged that really wait)", f"{precision:.3f}"],
                ["recall (waiting that were flagged)", f"{recall:.3f}"],
                ["false alarms", fp],
            ],
        )
    )
    if cost:
        print()
        print(
            table(
                "Cost of one check (median of 200)",
                ["check", "time", "vs baseline"],
                [
                    [
                        "blocked_on_tty on a waiting process tree",
                        _us(median(cost)),
                        ratio(median(cost), median(baseline)),
                    ],
                    ["baseline: read /proc/PID/stat once", _us(median(baseline)), "1.00x"],
                ],
            )
        )


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="sampling time after the settle")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    asyncio.run(measure(args.seconds))


if __name__ == "__main__":
    main()
