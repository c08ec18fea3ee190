"""Attach benchmark: key-to-effect latency of an attached dashboard against a local one, and its line rate.

Run from the repository root with the project's venv:  .venv/bin/python bench/attach.py [--quick]

Latency: ``+`` and ``-`` pressed in turn (queued as a terminal would send them), each timed from the key
to the table showing the new row count; the local dashboard runs the formation in its own process, the
attached one (``procdash attach``'s app, headless Textual, 160x50) mirrors a headless ``procdash start``
over the control socket, so the attached figure includes the socket round trip and the event coming
back. Flood: four children of the headless procdash write numbered lines at 12.5k lines/s each (50k
lines/s together) for 5 s while the attached view shows their four panes; reported is the rate the view
took them in, and lines lost (missing from or out of order in what the view holds of the last
SCROLLBACK lines per process; the ring dropping older ones is not a loss). The same flood into a local
dashboard is the baseline, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _flood import RATE_EACH, SCROLLBACK, SPEW, STREAM_SECONDS, WRITERS
from _procs import clean_env, stop_process
from _util import median, rate, ratio, seconds, table, verdict

KEYS = 40
SIZE = (160, 50)
TARGET_RATE = 50_000
PROCFILE = f"web: exec sleep 600\nspew: exec {sys.executable} -u spew.py {RATE_EACH} {STREAM_SECONDS} $PS\n"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def project_dir() -> Path:
    """A scratch project: the Procfile and the writer."""
    directory = Path(tempfile.mkdtemp(prefix="pdbench-"))
    (directory / "spew.py").write_text(SPEW)
    (directory / "Procfile").write_text(PROCFILE)
    return directory


class Headless:
    """``procdash start --headless`` in a subprocess with a private socket directory."""

    def __init__(self, directory: Path) -> None:
        self.runtime = tempfile.mkdtemp(prefix="pdb-")
        os.chmod(self.runtime, 0o700)
        self.env = {**clean_env(), "XDG_RUNTIME_DIR": self.runtime, "XDG_STATE_HOME": self.runtime + "/state"}
        command = [sys.executable, "-m", "procdash", "start", "--headless", "-m", "web=1,spew=0"]
        command += ["--scrollback", str(SCROLLBACK), "-t", "2"]
        self.proc = subprocess.Popen(
            command, cwd=directory, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.directory = directory

    def socket(self) -> Path:
        """Where it listens, once it does."""
        from procdash.control.client import ControlClient, find_socket

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                path = find_socket(self.directory / "Procfile", self.env)
                with ControlClient(path, timeout=2) as client:
                    client.call("info")
                return path
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("the headless procdash did not start listening")

    def stop(self) -> None:
        """Stop it and remove its directory."""
        stop_process(self.proc)
        shutil.rmtree(self.runtime, ignore_errors=True)


def local_app(directory: Path, timed: dict[str, list[Any]]) -> Any:
    """A local dashboard on the scratch project."""
    from procdash.core.project import load_project
    from procdash.core.supervisor import Supervisor, SupervisorOptions
    from procdash.view.local import LocalFormation

    project = load_project(
        procfile=str(directory / "Procfile"), root=None, env=None, formation="web=1,spew=0", port=None
    )
    options = SupervisorOptions(timeout=2.0, scrollback=SCROLLBACK)
    return timed_app(LocalFormation(Supervisor.from_project(project, options), project), timed)


def attached_app(path: Path, timed: dict[str, list[Any]]) -> Any:
    """``procdash attach``'s app on the headless procdash."""
    from procdash.ui.attach import check_server
    from procdash.view.remote import RemoteFormation

    return timed_app(RemoteFormation(path, check_server(path), usage_interval=1.0), timed)


def timed_app(formation: Any, timed: dict[str, list[Any]]) -> Any:
    """The dashboard, noting when each table redraw happened and how many rows it had."""
    from procdash.ui.app import ProcdashApp

    class TimedApp(ProcdashApp):
        """Records (time, rows) after every table refresh."""

        def _refresh_table(self) -> None:
            super()._refresh_table()
            timed["table"].append((time.perf_counter(), len(self.table.row_keys)))

    return TimedApp(formation, argparse.Namespace(stats_interval=1.0))


async def wait_for(predicate: Any, limit: float = 30.0, what: Any = None) -> None:
    """Await a condition, bounded; ``what()`` says what was seen instead."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"condition not met in time: {what() if what else ''}")
        await asyncio.sleep(0.002)


def send_key(app: Any, key: str, character: str) -> float:
    """Queue a key the way the terminal driver does; returns when."""
    from textual import events

    event = events.Key(key, character)
    event.set_sender(app)
    sent = time.perf_counter()
    app._driver.send_message(event)
    return sent


async def key_latency(app: Any, timed: dict[str, list[Any]], keys: int) -> list[float]:
    """Seconds from ``+``/``-`` to the table showing one row more or less."""
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: any(i.state.value == "running" for i in app.formation.instances()))
        await pilot.pause(0.3)
        out = []
        for index in range(keys):
            up = index % 2 == 0
            # web=1 is one row; web=2 is a type row and two instance rows.
            want = len(app.table.row_keys) + (2 if up else -2)
            sent = send_key(app, "plus" if up else "minus", "+" if up else "-")
            out.append(await effect_after(timed["table"], sent, want) - sent)
            await pilot.pause(0.15)
        return out


async def effect_after(redraws: list[tuple[float, int]], sent: float, rows: int) -> float:
    """When the table first showed ``rows`` rows after ``sent``."""

    def found() -> float | None:
        return next((t for t, count in redraws if t >= sent and count == rows), None)

    await wait_for(lambda: found() is not None)
    done = found()
    assert done is not None
    return done


class LineClock:
    """Notes the first and last output events and counts lines."""

    def __init__(self) -> None:
        self.first = self.last = 0.0
        self.lines = 0

    def __call__(self, event: Any) -> None:
        from procdash.core.events import Output

        if isinstance(event, Output) and event.instance.type_name == "spew":
            now = time.perf_counter()
            self.first = self.first or now
            self.last = now
            self.lines += len(event.lines)


def lost_lines(instances: list[Any]) -> int:
    """Lines missing from what the view holds: all of the last SCROLLBACK, numbered without gaps."""
    expected = int(RATE_EACH * STREAM_SECONDS)
    lost = 0
    for inst in instances:
        log = inst.log
        lost += max(0, expected - log.next_seq)
        numbers = [int(line.split()[1]) for line in log.slice(log.first_seq, log.next_seq)]
        keep = min(expected, SCROLLBACK)
        if numbers[-keep:] != list(range(expected - keep, expected)):
            lost += 1
    return lost


async def flood(app: Any) -> dict[str, Any]:
    """Scale the writers up through the view and take in their flood."""
    clock = LineClock()
    async with app.run_test(size=SIZE) as pilot:
        app.formation.subscribe(clock)
        await wait_for(lambda: any(i.state.value == "running" for i in app.formation.instances()))
        app.table.select_key("t:spew")
        await pilot.pause(0.2)
        app.formation.scale("spew", WRITERS)
        await wait_for(lambda: len(app.formation.slots.get("spew", [])) == WRITERS)
        await wait_for(
            lambda: all(i.state.value in ("exited", "crashed") for i in app.formation.slots["spew"]),
            limit=90,
            what=lambda: (
                [(i.name, i.state.value, i.log.next_seq) for i in app.formation.instances()],
                app.ended_reason,
            ),
        )
        total = WRITERS * RATE_EACH * STREAM_SECONDS
        # Every line, or (after a resynchronisation that found lines scrolled away) a second of quiet.
        await wait_for(lambda: clock.lines >= total or time.perf_counter() - clock.last > 1.0, limit=20)
        await pilot.pause(0.2)
        insts = list(app.formation.slots["spew"])
        panes = sum(1 for pane in app.visible_panes() if pane.display)
        return {
            "rate": clock.lines / max(1e-9, clock.last - clock.first),
            "lost": lost_lines(insts),
            "lines": clock.lines,
            "skipped": app.formation.mirror.missed if hasattr(app.formation, "mirror") else 0,
            "panes": panes,
            "resyncs": getattr(app.formation, "resyncs", 0),
        }


def run_case(kind: str, keys: int) -> dict[str, Any]:
    """One scenario on a fresh project (and a fresh headless procdash when attached)."""
    directory = project_dir()
    headless = Headless(directory) if kind == "attached" else None
    try:
        timed: dict[str, list[Any]] = {"table": []}
        make = (lambda: attached_app(headless.socket(), timed)) if headless else (lambda: local_app(directory, timed))
        latency = asyncio.run(key_latency(make(), timed, keys))
        if headless is not None:
            headless.stop()
            headless = Headless(directory)
        timed = {"table": []}
        streamed = asyncio.run(flood(make()))
    finally:
        if headless is not None:
            headless.stop()
        shutil.rmtree(directory, ignore_errors=True)
    return {"latency": latency, **streamed}


def main() -> None:
    """Run both sides, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer keys")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    keys = 10 if args.quick else KEYS
    results = {kind: run_case(kind, keys) for kind in ("local", "attached")}
    local, attached = results["local"], results["attached"]
    rows = []
    for name, fraction in (("p50", 0.5), ("p99", 0.99)):
        mine, base = percentile(attached["latency"], fraction), percentile(local["latency"], fraction)
        rows.append((f"key to effect {name}", seconds(mine), seconds(base), ratio(mine, base)))
    print(table(f"Key to effect (+/- until the table shows it, {keys} keys)", ("", "attached", "local", "ratio"), rows))
    print()
    flood_rows = [
        ("lines taken in", rate(attached["rate"]), rate(local["rate"]), ratio(attached["rate"], local["rate"])),
        ("lines lost", attached["lost"], local["lost"], ""),
        ("panes shown", attached["panes"], local["panes"], ""),
        ("resynchronisations", attached["resyncs"], local["resyncs"], ""),
        ("lines never shown (scrolled away)", attached["skipped"], local["skipped"], ""),
    ]
    print(
        table(
            f"Flood: {WRITERS} writers x {RATE_EACH // 1000}k lines/s for {STREAM_SECONDS:g} s",
            ("", "attached", "local", "ratio"),
            flood_rows,
        )
    )
    print()
    ok = attached["rate"] >= TARGET_RATE * 0.95 and attached["lost"] == 0
    print(f"target: attached view keeps up with 50k lines/s, nothing lost: {verdict(ok)}")
    print(
        f"median key latency attached {seconds(median(attached['latency']))}, local {seconds(median(local['latency']))}"
    )
    if args.json:
        print(json.dumps({k: {**v, "latency": sorted(v["latency"])} for k, v in results.items()}))


if __name__ == "__main__":
    main()
