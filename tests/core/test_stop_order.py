"""Stopping with Procfile.toml: each type's own stop signal and timeout, dependents before their dependencies."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

from procdash.core import events as ev
from procdash.core.procfile import ProcessType
from procdash.core.supervisor import Supervisor, SupervisorOptions
from procdash.core.typeoptions import TypeOptions
from tests.core.test_graceful_stop import signal_log
from tests.helpers import wait_until

# Logs "<pid> up/got SIG.../drained <time>"; drains argv[2] s on TERM or INT; "stubborn" ignores them.
APP = """
import os, signal, sys, time
log = open(sys.argv[1], "a", buffering=1)
stubborn = len(sys.argv) > 3
def on_signal(signum, frame):
    log.write(f"{os.getpid()} got {signal.Signals(signum).name} {time.monotonic()}\\n")
    if signum in (signal.SIGTERM, signal.SIGINT) and not stubborn:
        time.sleep(float(sys.argv[2]))
        log.write(f"{os.getpid()} drained {time.monotonic()}\\n")
        sys.exit(0)
for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(signum, on_signal)
log.write(f"{os.getpid()} up {time.monotonic()}\\n")
while True:
    time.sleep(1)
"""


def formation(
    tmp_path: Path,
    names: list[str],
    options: dict[str, TypeOptions],
    *,
    drain: float = 0.4,
    stubborn: tuple[str, ...] = (),
) -> Supervisor:
    """One instance per type, each the logging app; ``stubborn`` types ignore their stop signal."""
    (tmp_path / "app.py").write_text(APP)
    commands = {
        name: f"{sys.executable} {tmp_path / 'app.py'} {tmp_path / name}.log {drain}{' x' if name in stubborn else ''}"
        for name in names
    }
    types = [ProcessType(name, cmd, i + 1) for i, (name, cmd) in enumerate(commands.items())]
    return Supervisor(
        types,
        dict.fromkeys(names, 1),
        root=tmp_path,
        dotenv={},
        base_port=5000,
        options=SupervisorOptions(timeout=5.0),
        type_options=options,
    )


def run_then_stop(sup: Supervisor, tmp_path: Path, names: list[str]) -> tuple[list[ev.Event], float]:
    """Start, wait until every app logged "up", then stop_all; returns the events and how long the stop took."""
    events: list[ev.Event] = []
    sup.subscribe(events.append)

    async def main() -> float:
        sup.start()
        try:
            await wait_until(lambda: all(any(w == "up" for _, w, _ in signal_log(tmp_path, n)) for n in names))
            began = time.monotonic()
            await sup.stop_all()
            return time.monotonic() - began
        finally:
            await sup.stop_all()
            sup.close()

    return events, asyncio.run(main())


def when(tmp_path: Path, name: str, what: str) -> float:
    """The monotonic time an app logged ``what``."""
    return next(at for _, w, at in signal_log(tmp_path, name) if w == what)


def test_each_type_gets_its_own_stop_signal(tmp_path: Path) -> None:
    names = ["web", "worker"]
    sup = formation(tmp_path, names, {"web": TypeOptions(stop_signal=signal.SIGINT)})
    events, _ = run_then_stop(sup, tmp_path, names)
    assert [w for _, w, _ in signal_log(tmp_path, "web")] == ["up", "got SIGINT", "drained"]
    assert [w for _, w, _ in signal_log(tmp_path, "worker")] == ["up", "got SIGTERM", "drained"]
    stopping = {e.instance.name: e for e in events if isinstance(e, ev.Stopping)}
    assert stopping["web.1"].signal_name == "SIGINT"


def test_each_type_gets_its_own_stop_timeout(tmp_path: Path) -> None:
    names = ["quick", "patient"]
    sup = formation(tmp_path, names, {"quick": TypeOptions(stop_timeout=0.5)}, drain=0.2, stubborn=("quick",))
    events, took = run_then_stop(sup, tmp_path, names)
    exits = {e.instance.name: e for e in events if isinstance(e, ev.Exited)}
    assert exits["quick.1"].killed and not exits["patient.1"].killed
    assert 0.4 < exits["quick.1"].stopped_after < 2.0  # type: ignore[operator]
    assert took < 3.0  # the global 5 s timeout was not used for the stubborn type


def test_stop_goes_in_reverse_dependency_order(tmp_path: Path) -> None:
    names = ["db", "web", "worker", "cache"]
    options = {
        "web": TypeOptions(depends_on={"db": "started"}),
        "worker": TypeOptions(depends_on={"web": "started", "cache": "started"}),
    }
    sup = formation(tmp_path, names, options)
    assert sup.start_order == [["db", "cache"], ["web"], ["worker"]]
    run_then_stop(sup, tmp_path, names)
    # each level is signalled only after the level that depends on it has ended
    assert when(tmp_path, "worker", "drained") <= when(tmp_path, "web", "got SIGTERM")
    assert when(tmp_path, "web", "drained") <= when(tmp_path, "db", "got SIGTERM")
    assert when(tmp_path, "web", "drained") <= when(tmp_path, "cache", "got SIGTERM")
    # db and cache share a level: they stop together
    assert abs(when(tmp_path, "db", "got SIGTERM") - when(tmp_path, "cache", "got SIGTERM")) < 0.3


def test_without_dependencies_everything_stops_at_once(tmp_path: Path) -> None:
    names = ["a", "b", "c"]
    sup = formation(tmp_path, names, {})
    _, took = run_then_stop(sup, tmp_path, names)
    got = [when(tmp_path, name, "got SIGTERM") for name in names]
    assert max(got) - min(got) < 0.3
    assert took < 0.4 * 2 + 0.5
