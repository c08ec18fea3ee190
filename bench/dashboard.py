"""Dashboard benchmark: key latency and ingest under a 50k lines/s flood, peak memory, idle CPU.

Run from the repository root with the project's venv:  .venv/bin/python bench/dashboard.py [--quick]

Streaming: four real child processes write numbered lines through their ptys at 12.5k lines/s each
(50k lines/s together) for 5 s into the dashboard (headless Textual app, 160x50, the four panes side
by side) while a key is pressed every 50 ms. Reported: key-to-handled latency (key event queued to the
action done), lines ingested per second, lines lost (written but never reaching the buffers; the ring
dropping the oldest past the scrollback cap is not a loss), the peak RSS of the process and its RSS once
the flood is over. Baselines in the same run: the headless printer ingesting the same flood, and an
empty Textual app handling the same keys. Idle: the installed ``procdash`` command on a real 120x40 pty
with 20 sleeping processes, CPU over 20 s twice (from 5 s, while uptimes tick every second, and from 65 s,
when nothing on screen changes between minutes) and RSS at the end, against an empty Textual app with a
Footer on the same kind of pty and, when it is installed, mprocs running 20 sleepers of its own (its npm
package ships a static binary: ``npm install --prefix bench/results/npm mprocs``, or set MPROCS to a
binary). Each scenario runs in its own process, so peak RSS is its own; figures are medians over the runs
(idle rounds run the three programs side by side at the same time, so each round's ratio is same-time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _flood import (
    RATE_EACH,
    STREAM_SECONDS,
    WRITERS,
    OutputClock,
    check_buffers,
    latencies,
    load,
    peak_rss,
    percentile,
    press_keys,
    spew_procfile,
    write_project,
)
from _idle import (
    BIG_FORMATION,
    IDLE_PROCESSES,
    IDLE_SECONDS,
    IDLE_WARMUP,
    LATE_AT,
    idle_big,
    idle_dashboard,
    idle_empty,
    idle_mprocs,
    mprocs_binary,
    rss_of,
)
from _procs import REPO, clean_env
from _util import median, megabytes, rate, ratio, seconds, table, verdict


async def stream_dashboard(directory: Path) -> dict[str, Any]:
    """The dashboard under the flood, with keys."""
    from procdash.core.instance import State
    from procdash.ui.app import ProcdashApp
    from procdash.view.local import LocalFormation

    handled: list[float] = []

    class TimedApp(ProcdashApp):
        """Records when each ``f`` finished."""

        def action_toggle_follow(self) -> None:
            super().action_toggle_follow()
            handled.append(time.perf_counter())

    project, supervisor = load(write_project(directory, spew_procfile()), f"spew={WRITERS}")
    clock = OutputClock()
    supervisor.subscribe(clock)
    app = TimedApp(LocalFormation(supervisor, project), argparse.Namespace(stats_interval=1.0))
    sent: list[float] = []
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        start = time.perf_counter()
        stop = asyncio.Event()
        keys = asyncio.create_task(press_keys(app, stop, sent))
        insts = supervisor.instances()
        while not all(i.state in (State.EXITED, State.CRASHED) for i in supervisor.instances()):
            if time.perf_counter() - start > 60:
                raise RuntimeError("writers did not finish within 60 s")
            await asyncio.sleep(0.05)
        stop.set()
        await keys
        await pilot.pause()
        panes = sum(1 for pane in app.visible_panes() if pane.display)
        after = rss_of()  # the flood is over, its lines held in the four panes' buffers
    written, lost = check_buffers(insts)
    lines = sum(inst.log.next_seq for inst in insts)
    return {
        "rss_after": after,
        "latency": latencies(sent, handled),
        "keys": len(sent),
        "handled": len(handled),
        "lines_per_s": clock.rate(lines),
        "written": written,
        "lost": lost,
        "panes": panes,
        "rss": peak_rss(),
    }


async def keys_big(directory: Path) -> dict[str, Any]:
    """The dashboard with BIG_FORMATION rows (sampled every second) handling the same keys."""
    from procdash.core.instance import State
    from procdash.ui.app import ProcdashApp
    from procdash.view.local import LocalFormation

    handled: list[float] = []

    class TimedApp(ProcdashApp):
        """Records when each ``f`` finished."""

        def action_toggle_follow(self) -> None:
            super().action_toggle_follow()
            handled.append(time.perf_counter())

    project, supervisor = load(write_project(directory, "sleeper: exec sleep 600\n"), f"sleeper={BIG_FORMATION}")
    app = TimedApp(LocalFormation(supervisor, project), argparse.Namespace(stats_interval=1.0))
    sent: list[float] = []
    async with app.run_test(size=(160, 50)) as pilot:
        start = time.perf_counter()
        while sum(i.state is State.RUNNING for i in supervisor.instances()) < BIG_FORMATION:
            if time.perf_counter() - start > 60:
                raise RuntimeError("the formation did not start within 60 s")
            await asyncio.sleep(0.05)
        await pilot.pause()
        stop = asyncio.Event()
        keys = asyncio.create_task(press_keys(app, stop, sent))
        await asyncio.sleep(STREAM_SECONDS)
        stop.set()
        await keys
        await pilot.pause()
        rows = len(app.table.row_keys)
    return {"latency": latencies(sent, handled), "rows": rows, "rss": peak_rss()}


async def stream_headless(directory: Path) -> dict[str, Any]:
    """The headless printer under the same flood (to /dev/null): the ingest baseline."""
    from procdash.headless import run_headless

    _, supervisor = load(write_project(directory, spew_procfile()), f"spew={WRITERS}")
    clock = OutputClock()
    supervisor.subscribe(clock)
    with open(os.devnull, "wb") as sink:
        await run_headless(supervisor, color=False, timestamps=True, prefix=True, exit_on_failure=False, out=sink)
    insts = supervisor.instances()
    _, lost = check_buffers(insts)
    return {"lines_per_s": clock.rate(sum(i.log.next_seq for i in insts)), "lost": lost, "rss": peak_rss()}


async def keys_empty(directory: Path) -> dict[str, Any]:
    """An empty Textual app handling the same keys: the latency floor."""
    from textual.app import App
    from textual.binding import Binding

    handled: list[float] = []

    class Empty(App[None]):
        """Nothing but a binding."""

        BINDINGS = [Binding("f", "ping", "ping")]  # noqa: RUF012

        def action_ping(self) -> None:
            handled.append(time.perf_counter())

    app = Empty()
    sent: list[float] = []
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        stop = asyncio.Event()
        keys = asyncio.create_task(press_keys(app, stop, sent))
        await asyncio.sleep(STREAM_SECONDS)
        stop.set()
        await keys
        await pilot.pause()
    return {"latency": latencies(sent, handled), "rss": peak_rss()}


def run_scenario(name: str, seconds_: float) -> dict[str, Any]:
    """Run one scenario in this process (called in a child process by ``main``)."""
    with tempfile.TemporaryDirectory(prefix="procdash-bench-") as tmp:
        directory = Path(tmp)
        if name == "stream-dashboard":
            return asyncio.run(stream_dashboard(directory))
        if name == "stream-headless":
            return asyncio.run(stream_headless(directory))
        if name == "keys-empty":
            return asyncio.run(keys_empty(directory))
        if name == "idle-dashboard":
            return idle_dashboard(directory, seconds_)
        if name == "idle-empty":
            return idle_empty(directory, seconds_)
        if name == "idle-mprocs":
            return idle_mprocs(directory, seconds_)
        if name == "keys-big":
            return asyncio.run(keys_big(directory))
        if name == "idle-big":
            return idle_big(directory, seconds_)
    raise ValueError(name)


def in_child(name: str, seconds_: float) -> dict[str, Any]:
    """Run a scenario in a fresh interpreter so its peak RSS is its own."""
    cmd = [sys.executable, __file__, "--scenario", name, "--idle-seconds", str(seconds_)]
    result = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), cwd=REPO, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{result.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def idle_rounds(rounds: int, seconds_: float) -> dict[str, list[dict[str, Any]]]:
    """Each round runs the dashboard, the empty app and mprocs side by side, at the same time: same-time
    figures (idle programs leave the cores to each other), and a round lasts one program's run."""
    found: dict[str, list[dict[str, Any]]] = {"dashboard": [], "empty": [], "mprocs": []}
    names = {"dashboard": "idle-dashboard", "empty": "idle-empty", "mprocs": "idle-mprocs"}
    for _ in range(rounds):
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            runs = {key: pool.submit(in_child, name, seconds_) for key, name in names.items()}
            for key, run in runs.items():
                result = run.result()
                if result:  # mprocs gives nothing when it is not installed
                    found[key].append(result)
    return found


def idle_table(found: dict[str, list[dict[str, Any]]], seconds_: float) -> tuple[str, dict[str, float]]:
    """The idle comparison (medians over the rounds, ratios per round) and its figures for the targets."""
    dash, empty, mprocs = found["dashboard"], found["empty"], found["mprocs"]

    def mid(group: list[dict[str, Any]], key: str) -> float:
        return median([r[key] for r in group]) if group else float("nan")

    def per_round(key: str) -> str:
        ratios = [d[key] / e[key] for d, e in zip(dash, empty, strict=False) if e[key]]
        return f"{median(ratios):.2f}x" if ratios else "-"

    def peer(key: str, show: Any) -> str:
        return show(mid(mprocs, key)) if mprocs else "not installed"

    def pct(value: float) -> str:
        return f"{max(value, 0.0):.2f}%"

    figures = {
        "cpu": mid(dash, "cpu_late"),
        "floor": mid(empty, "cpu_late"),
        "ticking": mid(dash, "cpu"),
        "ticking_floor": mid(empty, "cpu"),
        "rss": mid(dash, "rss"),
    }
    late = f"{LATE_AT:g}-{LATE_AT + seconds_:g} s"
    rows = [
        (
            f"idle CPU, {IDLE_PROCESSES} sleepers, {IDLE_WARMUP:g}-{IDLE_WARMUP + seconds_:g} s (uptimes tick)",
            pct(figures["ticking"]),
            pct(figures["ticking_floor"]),
            peer("cpu", pct),
            per_round("cpu"),
        ),
        (
            f"idle CPU, {IDLE_PROCESSES} sleepers, {late} (nothing changes)",
            pct(figures["cpu"]),
            pct(figures["floor"]),
            peer("cpu_late", pct),
            per_round("cpu_late"),
        ),
        ("RSS", megabytes(figures["rss"]), megabytes(mid(empty, "rss")), peer("rss", megabytes), per_round("rss")),
        (
            "RSS with helper processes",
            megabytes(mid(dash, "rss") + mid(dash, "helpers")),
            megabytes(mid(empty, "rss") + mid(empty, "helpers")),
            peer("helpers", lambda h: megabytes(mid(mprocs, "rss") + h)),
            "-",
        ),
    ]
    headers = ("", "procdash dashboard", "empty Textual app + Footer", "mprocs", "dashboard / empty")
    title = f"idle on a real 120x40 pty; {len(dash)} round(s), medians; mprocs: {mprocs_binary() or 'not installed'}"
    return table(title, headers, rows), figures


def main() -> None:
    """Run every scenario and print the comparison tables with the issue's targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of each, 5 s idle windows")
    parser.add_argument("--runs", type=int, default=3, help="streaming runs and idle rounds (default 3)")
    parser.add_argument("--idle", action="store_true", help="only the idle comparison (dashboard, empty app, mprocs)")
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--idle-seconds", type=float, default=IDLE_SECONDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario, args.idle_seconds)))
        return
    runs = 1 if args.quick else args.runs
    idle_seconds = 5.0 if args.quick else args.idle_seconds
    if args.idle:
        text, idle = idle_table(idle_rounds(runs, idle_seconds), idle_seconds)
        print(text)
        print()
        print(f"target idle CPU, nothing changing, <= empty Textual app: {verdict(idle['cpu'] <= idle['floor'])}")
        print(f"target RSS <= 45 MB, {IDLE_PROCESSES} sleepers:  {verdict(idle['rss'] <= 45e6)}")
        return
    dash = [in_child("stream-dashboard", 0) for _ in range(runs)]
    head = [in_child("stream-headless", 0) for _ in range(runs)]
    empty = [in_child("keys-empty", 0) for _ in range(runs)]
    idle_text, idle = idle_table(idle_rounds(runs, idle_seconds), idle_seconds)
    big = [in_child("keys-big", 0) for _ in range(runs)]
    idle_big_cpu = median([in_child("idle-big", idle_seconds)["cpu"] for _ in range(runs)])

    def lat(runs_: list[dict[str, Any]], fraction: float) -> float:
        return median([percentile(r["latency"], fraction) for r in runs_])

    p50, p99 = lat(dash, 0.50), lat(dash, 0.99)
    e50, e99 = lat(empty, 0.50), lat(empty, 0.99)
    b50, b99, big_rows = lat(big, 0.50), lat(big, 0.99), big[0]["rows"]
    ingest, ingest_base = median([r["lines_per_s"] for r in dash]), median([r["lines_per_s"] for r in head])
    lost = max(r["lost"] for r in dash)
    rss, rss_head, rss_empty = (median([r["rss"] for r in group]) for group in (dash, head, empty))
    rss_after = median([r["rss_after"] for r in dash])
    keys = sum(r["keys"] for r in dash)
    handled = sum(r["handled"] for r in dash)
    print(
        f"{WRITERS} writers x {RATE_EACH / 1000:g}k lines/s for {STREAM_SECONDS:g} s, "
        f"{dash[0]['panes']} panes visible at 160x50; {runs} run(s), medians; "
        f"{handled}/{keys} keys handled; {os.cpu_count()} CPUs"
    )
    rows = [
        ("key latency p50", seconds(p50), "-", seconds(e50), ratio(p50, e50)),
        ("key latency p99", seconds(p99), "-", seconds(e99), ratio(p99, e99)),
        ("lines ingested/s", rate(ingest), rate(ingest_base), "-", ratio(ingest, ingest_base)),
        ("lines lost below the cap", str(lost), str(max(r["lost"] for r in head)), "-", "-"),
        ("peak RSS", megabytes(rss), megabytes(rss_head), megabytes(rss_empty), ratio(rss, rss_empty)),
        ("RSS after the flood", megabytes(rss_after), "-", megabytes(rss_empty), ratio(rss_after, rss_empty)),
        (f"key latency p50, {big_rows} rows", seconds(b50), "-", seconds(e50), ratio(b50, e50)),
        (f"key latency p99, {big_rows} rows", seconds(b99), "-", seconds(e99), ratio(b99, e99)),
        (
            f"idle CPU, {BIG_FORMATION} procs, {idle_seconds:g} s",
            f"{idle_big_cpu:.2f}%",
            "-",
            f"{idle['floor']:.2f}%",
            ratio(idle_big_cpu, idle["floor"]),
        ),
    ]
    headers = ("", "dashboard", "headless printer", "empty Textual app", "vs baseline")
    print(table("procdash dashboard benchmark", headers, rows))
    print()
    print(idle_text)
    print()
    print(f"target p99 < 50 ms:                   {verdict(p99 < 0.050)}")
    print(f"target nothing lost:                  {verdict(lost == 0)}")
    print(f"target RSS after the flood <= 120 MB: {verdict(rss_after <= 120e6)}")
    print(f"target idle CPU, nothing changing, <= empty Textual app: {verdict(idle['cpu'] <= idle['floor'])}")
    print(f"target RSS <= 45 MB, {IDLE_PROCESSES} sleepers:  {verdict(idle['rss'] <= 45e6)}")
    print(f"{BIG_FORMATION} procs: key p99 < 50 ms:        {verdict(b99 < 0.050)}")


if __name__ == "__main__":
    main()
