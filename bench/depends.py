"""Procfile.toml benchmark: how soon a dependent starts once its dependency is ready, and the port scan's cost.

Run from the repository root with the project's venv:  .venv/bin/python bench/depends.py [--runs N]

1. Start delay. A real dependency process prints the wall-clock moment its condition begins to hold
   (it starts listening, prints its ready line, creates the file its exec probe checks, or exits 0),
   and the delay is the time until the dependent's process has been started. Probes run every
   ``--interval`` seconds; the target is under 50 ms plus one probe interval. The baseline, measured in
   the same run, is an instance without dependencies: the time from asking for it to its process running.
2. Sampler cost with the listening-port scan for 50 and 200 processes, each a real process holding a
   listening TCP socket: procdash's sampler with the scan, the same sampler without it (the baseline),
   and psutil's per-process ``net_connections()`` as the naive way to get the same ports.
Figures are medians over the runs or ticks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _util import median, ratio, seconds, table, timed, verdict

from procdash.core import events as ev
from procdash.core.procfile import ProcessType
from procdash.core.stats import StatsSampler
from procdash.core.supervisor import Supervisor, SupervisorOptions
from procdash.core.typeoptions import Probe, TypeOptions

PY = sys.executable
SLEEP_ARG = "86396"  # an unusual duration, so leftover sleepers of this bench can be found and removed
TARGET_DELAY = 0.050
TARGET_TICK = 0.015
TARGET_SIZE = 50
# Each dependency marks the moment its condition holds by printing "AT <time.time()>".
DEPENDENCY = {
    "tcp": (
        "import os, socket, time; time.sleep(0.3); s = socket.socket();"
        " s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1);"
        " s.bind(('127.0.0.1', int(os.environ['PORT']))); s.listen(); print('AT', time.time(), flush=True);"
        " time.sleep(30)"
    ),
    "log": "import time; time.sleep(0.3); print('AT', time.time(), 'ready', flush=True); time.sleep(30)",
    "exec": (
        "import os, time; time.sleep(0.3); open(os.environ['FLAG'], 'w').close();"
        " print('AT', time.time(), flush=True); time.sleep(30)"
    ),
    "completed": "import time; time.sleep(0.3); print('AT', time.time(), flush=True)",
}


def probe_for(kind: str, interval: float) -> Probe | None:
    """The dependency's readiness probe for one kind of condition."""
    if kind == "tcp":
        return Probe(kind="tcp", interval=interval)
    if kind == "log":
        return Probe(kind="log", pattern="ready")
    if kind == "exec":
        return Probe(kind="exec", command='test -f "$FLAG"', interval=interval)
    return None


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def one_delay(kind: str, interval: float, flag: Path) -> tuple[float, float]:
    """(condition-to-dependent-start delay, probe-pass-to-dependent-start delay) for one run."""
    flag.unlink(missing_ok=True)
    dependency = TypeOptions(ready=probe_for(kind, interval))
    condition = "completed" if kind == "completed" else "ready"
    dependent = TypeOptions(depends_on={"dep": condition})
    types = [ProcessType("dep", f'exec {PY} -c "{DEPENDENCY[kind]}"', 1), ProcessType("app", "exec sleep 30", 2)]
    sup = Supervisor(
        types,
        {"dep": 1, "app": 1},
        root=flag.parent,
        dotenv={"FLAG": str(flag)},
        base_port=free_port(),
        options=SupervisorOptions(timeout=2.0),
        type_options={"dep": dependency, "app": dependent},
    )
    marks: dict[str, float] = {}

    def on_event(event: ev.Event) -> None:
        now = time.time()
        if isinstance(event, ev.Output) and event.instance.type_name == "dep":
            for line in event.lines:
                if line.startswith("AT "):
                    marks["holds"] = float(line.split()[1])
        elif (isinstance(event, ev.Notice) and event.text.startswith("dep.1 is ready")) or (
            isinstance(event, ev.Exited) and event.instance.type_name == "dep"
        ):
            marks.setdefault("probe", now)
        elif isinstance(event, ev.Started) and event.instance.type_name == "app":
            marks["started"] = now

    sup.subscribe(on_event)
    sup.start()
    try:
        deadline = time.monotonic() + 10
        while "started" not in marks:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind}: the dependent never started")
            await asyncio.sleep(0.005)
    finally:
        await sup.stop_all()
        sup.close()
    return marks["started"] - marks["holds"], marks["started"] - marks.get("probe", marks["started"])


async def plain_start() -> float:
    """Baseline: seconds from asking for an instance with no dependencies to its process running."""
    sup = Supervisor(
        [ProcessType("app", "exec sleep 30", 1)],
        {"app": 1},
        root=Path.cwd(),
        dotenv={},
        base_port=free_port(),
        options=SupervisorOptions(timeout=2.0),
    )
    started: list[float] = []
    sup.subscribe(lambda e: started.append(time.perf_counter()) if isinstance(e, ev.Started) else None)
    began = time.perf_counter()
    sup.start()
    try:
        return started[0] - began
    finally:
        await sup.stop_all()
        sup.close()


def delays(runs: int, interval: float) -> list[list[object]]:
    """The start-delay table's rows."""

    async def measure() -> list[list[object]]:
        rows: list[list[object]] = []
        baseline = median([await plain_start() for _ in range(runs)])
        with tempfile.TemporaryDirectory(prefix="procdash-bench-") as tmp:
            flag = Path(tmp) / "flag"
            for kind in ("tcp", "log", "exec", "completed"):
                results = [await one_delay(kind, interval, flag) for _ in range(runs)]
                total = median([r[0] for r in results])
                gate = median([r[1] for r in results])
                budget = TARGET_DELAY + (interval if kind in ("tcp", "exec") else 0.0)
                label = f"{kind} probe" if kind != "completed" else "completed (exit 0)"
                rows.append(
                    [label, seconds(total), seconds(gate), seconds(baseline), seconds(budget), verdict(total < budget)]
                )
        return rows

    return asyncio.run(measure())


def listeners(count: int) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    """``count`` real processes (sleep), each in its own session holding one listening socket."""
    procs: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        ports.append(sock.getsockname()[1])
        procs.append(
            subprocess.Popen(
                ["sleep", SLEEP_ARG], start_new_session=True, stdin=subprocess.DEVNULL, pass_fds=(sock.fileno(),)
            )
        )
        sock.close()
    return procs, ports


def naive_ports(roots: dict[str, int]) -> dict[str, list[int]]:
    """The obvious way: psutil's connections of each root and its children, filtered to LISTEN."""
    found: dict[str, list[int]] = {}
    for name, pid in roots.items():
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        ports: list[int] = []
        for proc in procs:
            try:
                ports += [c.laddr.port for c in proc.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN]
            except psutil.Error:
                continue
        found[name] = sorted(ports)
    return found


def sampler_costs(ticks: int) -> list[list[object]]:
    """The port-scan table's rows, for 50 and 200 listening processes."""
    rows: list[list[object]] = []
    for count in (TARGET_SIZE, 200):
        procs, ports = listeners(count)
        try:
            roots = {f"web.{i + 1}": proc.pid for i, proc in enumerate(procs)}
            with_scan = StatsSampler(use_procfs=True, ports=True)
            without = StatsSampler(use_procfs=True, ports=False)
            deadline = time.monotonic() + 10
            while True:
                snapshot = with_scan.sample(roots)
                if all(snapshot.instances[f"web.{i + 1}"].ports == (port,) for i, port in enumerate(ports)):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("the scan did not find every listener")
                time.sleep(0.05)
            if naive_ports(roots) != {f"web.{i + 1}": [port] for i, port in enumerate(ports)}:
                raise RuntimeError("the naive scan disagrees")
            ours: list[float] = []
            base: list[float] = []
            naive: list[float] = []
            for _ in range(ticks):  # interleaved, so machine load falls on all three alike
                ours.append(timed(lambda s=with_scan, r=roots: s.sample(r)))  # type: ignore[misc]
                base.append(timed(lambda s=without, r=roots: s.sample(r)))  # type: ignore[misc]
                naive.append(timed(lambda s=without, r=roots: (s.sample(r), naive_ports(r))))  # type: ignore[misc]
                time.sleep(0.02)
        finally:
            for proc in procs:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for proc in procs:
                proc.wait(timeout=10)
        tick, plain, slow = median(ours), median(base), median(naive)
        rows.append(
            [
                count,
                seconds(tick),
                seconds(plain),
                seconds(tick - plain),
                seconds(slow),
                ratio(slow, tick),
                verdict(tick < TARGET_TICK) if count == TARGET_SIZE else "",
            ]
        )
    return rows


def main() -> int:
    """Run both parts and print their tables; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per start-delay case (default 7)")
    parser.add_argument("--interval", type=float, default=0.1, help="probe interval in seconds (default 0.1)")
    parser.add_argument("--ticks", type=int, default=21, help="sampler ticks per size (default 21)")
    args = parser.parse_args()
    delay_rows = delays(args.runs, args.interval)
    print(
        table(
            f"Dependency ready -> dependent started, median of {args.runs} (probe interval {args.interval:g}s; "
            f"target: under {TARGET_DELAY * 1e3:g} ms + one interval)",
            ["condition", "holds -> started", "probe passed -> started", "plain start", "budget", "target"],
            delay_rows,
        )
    )
    print()
    cost_rows = sampler_costs(args.ticks)
    print(
        table(
            f"Sampler tick with the listening-port scan, median of {args.ticks} (target: under "
            f"{TARGET_TICK * 1e3:g} ms for {TARGET_SIZE} processes)",
            [
                "processes",
                "with port scan",
                "without (baseline)",
                "scan adds",
                "psutil net_connections",
                "naive/ours",
                "target",
            ],
            cost_rows,
        )
    )
    failed = any(row[-1] == verdict(False) for row in [*delay_rows, *cost_rows])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
