"""Dashboard benchmark: key latency and ingest under a 50k lines/s flood, peak memory, idle CPU.

Run from the repository root with the project's venv:  .venv/bin/python bench/dashboard.py [--quick]

Streaming: four real child processes write numbered lines through their ptys at 12.5k lines/s each
(50k lines/s together) for 5 s into the dashboard (headless Textual app, 160x50, the four panes side
by side) while a key is pressed every 50 ms. Reported: key-to-handled latency (key event queued to the
action done), lines ingested per second, lines lost (written but never reaching the buffers; the ring
dropping the oldest past the scrollback cap is not a loss) and the peak RSS of the process. Baselines in
the same run: the headless printer ingesting the same flood, and an empty Textual app handling the same
keys. Idle: the installed ``procdash`` command on a real pty with 20 sleeping processes, CPU over 20 s,
against an empty Textual app on the same kind of pty. Each scenario runs in its own process, so peak
RSS is its own; streaming figures are medians over the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pty
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _procs import REPO, clean_env
from _util import cpu_seconds, median, megabytes, rate, ratio, seconds, table, verdict

WRITERS = 4
RATE_EACH = 12_500  # lines/s per writer; 4 of them make 50k lines/s
STREAM_SECONDS = 5.0
KEY_INTERVAL = 0.05
SCROLLBACK = 10_000
IDLE_PROCESSES = 20
BIG_FORMATION = 200  # sleepers for the 200-row scenarios
IDLE_SECONDS = 20.0
IDLE_WARMUP = 5.0

# The writer: numbered lines at a fixed pace, in small batches, then exit.
SPEW = r"""
import sys, time
rate, secs, name = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3].encode()
total, step, out = int(rate * secs), max(1, rate // 200), sys.stdout.buffer
pad, n, start = b"x" * 56, 0, time.monotonic()
while n < total:
    due = min(total, int((time.monotonic() - start) * rate) + step)
    if due > n:
        out.write(b"".join(b"%s %08d %s\n" % (name, i, pad) for i in range(n, due)))
        out.flush()
        n = due
    time.sleep(0.002)
"""


def peak_rss() -> int:
    """This process's peak resident memory in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of the sorted values lie (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def write_project(directory: Path, procfile: str) -> Path:
    """A Procfile (and the writer script) in a scratch directory."""
    (directory / "spew.py").write_text(SPEW)
    path = directory / "Procfile"
    path.write_text(procfile)
    return path


def spew_procfile() -> str:
    """One type, scaled to WRITERS instances by the formation."""
    return f"spew: exec {sys.executable} -u spew.py {RATE_EACH} {STREAM_SECONDS} $PS\n"


def check_buffers(instances: list[Any]) -> tuple[int, int]:
    """(lines written, lines lost): every line counted, the held tail numbered without gaps."""
    expected = int(RATE_EACH * STREAM_SECONDS)
    written = lost = 0
    for inst in instances:
        log = inst.log
        written += expected
        lost += max(0, expected - log.next_seq)
        numbers = [int(line.split()[1]) for line in log.slice(log.first_seq, log.next_seq)]
        if numbers != list(range(expected - len(numbers), expected)):
            lost += 1  # a gap or a duplicate in what is held: never expected, always reported
    return written, lost


class OutputClock:
    """Subscriber noting when the first and the last output of the run arrived."""

    def __init__(self) -> None:
        self.first = 0.0
        self.last = 0.0

    def __call__(self, event: Any) -> None:
        from procdash.core.events import Output

        if isinstance(event, Output):
            now = time.perf_counter()
            self.first = self.first or now
            self.last = now

    def rate(self, lines: int) -> float:
        """Lines per second between the first and the last output."""
        return lines / max(1e-9, self.last - self.first)


def load(procfile: Path, formation: str) -> tuple[Any, Any]:
    """Project and supervisor for a scratch Procfile."""
    from procdash.core.project import load_project
    from procdash.core.supervisor import Supervisor, SupervisorOptions

    project = load_project(procfile=str(procfile), root=None, env=None, formation=formation, port=None)
    options = SupervisorOptions(timeout=2.0, scrollback=SCROLLBACK, pty_size=(40, 12))
    supervisor = Supervisor.from_project(project, options)
    return project, supervisor


async def press_keys(app: Any, stop: asyncio.Event, sent: list[float]) -> None:
    """Queue an ``f`` key every KEY_INTERVAL seconds the way a terminal would, recording when."""
    from textual import events

    while not stop.is_set():
        event = events.Key("f", "f")
        event.set_sender(app)
        sent.append(time.perf_counter())
        app._driver.send_message(event)
        await asyncio.sleep(KEY_INTERVAL)


def latencies(sent: list[float], handled: list[float]) -> list[float]:
    """Seconds from each key queued to its action done (keys are handled in order)."""
    return [done - start for start, done in zip(sent, handled, strict=False)]


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
    written, lost = check_buffers(insts)
    lines = sum(inst.log.next_seq for inst in insts)
    return {
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


class PtyRun:
    """A command on a fresh 120x40 pty whose output is drained in a thread, like a terminal would."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        master, slave = pty.openpty()
        import fcntl

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = clean_env()
        env["TERM"] = "xterm-256color"
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, start_new_session=True
        )
        os.close(slave)
        self.master = master
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        """Read and discard everything the app draws."""
        while True:
            try:
                if not os.read(self.master, 65536):
                    return
            except OSError:
                return

    def stop(self, keys: bytes) -> None:
        """Type ``keys`` (quit), then make sure the process and its group are gone."""
        os.write(self.master, keys)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)


def idle_cpu(argv: list[str], cwd: Path, quit_keys: bytes, seconds_: float) -> float:
    """Percent of one core a terminal app uses over ``seconds_`` after a warm-up."""
    run = PtyRun(argv, cwd)
    try:
        time.sleep(IDLE_WARMUP)
        before = cpu_seconds(run.proc.pid)
        time.sleep(seconds_)
        used = cpu_seconds(run.proc.pid) - before
    finally:
        run.stop(quit_keys)
    return 100.0 * used / seconds_


def idle_dashboard(directory: Path, seconds_: float) -> dict[str, Any]:
    """The installed procdash command with 20 sleepers, metrics sampled every second."""
    (directory / "Procfile").write_text("sleeper: exec sleep 86398\n")
    argv = [sys.executable, "-m", "procdash", "-m", f"sleeper={IDLE_PROCESSES}", "-t", "2", "--no-control"]
    return {"cpu": idle_cpu(argv, directory, b"q", seconds_)}


def idle_big(directory: Path, seconds_: float) -> dict[str, Any]:
    """The installed procdash command with BIG_FORMATION sleepers, metrics sampled every second."""
    (directory / "Procfile").write_text("sleeper: exec sleep 86398\n")
    argv = [sys.executable, "-m", "procdash", "-m", f"sleeper={BIG_FORMATION}", "-t", "2", "--no-control"]
    return {"cpu": idle_cpu(argv, directory, b"q", seconds_)}


def idle_empty(directory: Path, seconds_: float) -> dict[str, Any]:
    """An empty Textual app on the same kind of pty: the idle floor."""
    code = "from textual.app import App\nApp().run()\n"
    return {"cpu": idle_cpu([sys.executable, "-c", code], directory, b"\x11", seconds_)}


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


def main() -> None:
    """Run every scenario and print the comparison table with the issue's targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one streaming run, 5 s idle windows")
    parser.add_argument("--runs", type=int, default=3, help="streaming runs per scenario (default 3)")
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--idle-seconds", type=float, default=IDLE_SECONDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario, args.idle_seconds)))
        return
    runs = 1 if args.quick else args.runs
    idle_seconds = 5.0 if args.quick else args.idle_seconds
    dash = [in_child("stream-dashboard", 0) for _ in range(runs)]
    head = [in_child("stream-headless", 0) for _ in range(runs)]
    empty = [in_child("keys-empty", 0) for _ in range(runs)]
    idle_dash = in_child("idle-dashboard", idle_seconds)["cpu"]
    idle_floor = in_child("idle-empty", idle_seconds)["cpu"]
    big = [in_child("keys-big", 0) for _ in range(runs)]
    idle_big_cpu = in_child("idle-big", idle_seconds)["cpu"]

    def lat(runs_: list[dict[str, Any]], fraction: float) -> float:
        return median([percentile(r["latency"], fraction) for r in runs_])

    p50, p99 = lat(dash, 0.50), lat(dash, 0.99)
    e50, e99 = lat(empty, 0.50), lat(empty, 0.99)
    b50, b99, big_rows = lat(big, 0.50), lat(big, 0.99), big[0]["rows"]
    ingest, ingest_base = median([r["lines_per_s"] for r in dash]), median([r["lines_per_s"] for r in head])
    lost = max(r["lost"] for r in dash)
    rss, rss_head, rss_empty = (median([r["rss"] for r in group]) for group in (dash, head, empty))
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
        (
            f"idle CPU, {IDLE_PROCESSES} procs, {idle_seconds:g} s",
            f"{idle_dash:.2f}%",
            "-",
            f"{idle_floor:.2f}%",
            ratio(idle_dash, idle_floor),
        ),
        (f"key latency p50, {big_rows} rows", seconds(b50), "-", seconds(e50), ratio(b50, e50)),
        (f"key latency p99, {big_rows} rows", seconds(b99), "-", seconds(e99), ratio(b99, e99)),
        (
            f"idle CPU, {BIG_FORMATION} procs, {idle_seconds:g} s",
            f"{idle_big_cpu:.2f}%",
            "-",
            f"{idle_floor:.2f}%",
            ratio(idle_big_cpu, idle_floor),
        ),
    ]
    headers = ("", "dashboard", "headless printer", "empty Textual app", "vs baseline")
    print(table("procdash dashboard benchmark", headers, rows))
    print()
    print(f"target p99 < 50 ms:          {verdict(p99 < 0.050)}")
    print(f"target nothing lost:         {verdict(lost == 0)}")
    print(f"target peak RSS < 120 MB:    {verdict(rss < 120e6)}")
    print(f"target idle < 2% of a core:  {verdict(idle_dash < 2.0)}")
    print(f"{BIG_FORMATION} procs: key p99 < 50 ms: {verdict(b99 < 0.050)}")


if __name__ == "__main__":
    main()
