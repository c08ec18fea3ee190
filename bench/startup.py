"""Start-up benchmark: first child running after launch, first frame, imports, and headless memory.

Run from the repository root with the project's venv:  .venv/bin/python bench/startup.py [--against DIR]

First child: the Procfile's first type writes one byte into a FIFO the bench holds open; the figure is
the time from spawning the runner to reading that byte. Headless runs with stdout to a file; the
dashboard runs on a fresh 120x40 pty that a thread drains as a terminal would, and its first frame is
the first time the drawn screen shows the first instance's name. Imports: ``python -X importtime`` over
a whole headless run (every module it imported and their summed import time), checked for Textual,
rich, ssl, the export writers and the control client. Memory: RSS and PSS of headless procdash and of
its guardian with 20 sleepers, each process listed. Baselines, measured in the same run with the
runners alternating: the tree given with --against (a checkout of the code before a change), honcho
(first child and memory, in a throwaway venv under bench/results/) and an empty Textual app with a
Footer (first frame). Figures are medians; the command exits 1 when a target of issue 17 is missed.
"""

from __future__ import annotations

import argparse
import fcntl
import functools
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _procs import REPO, clean_env, run_to_file, sleepers_left
from _util import StealMeter, alternate, median, megabytes, ratio, seconds, table, verdict
from engine import honcho_command
from memory import SLEEPERS, TARGET_TREE_RSS, memory_table, target_label

SLEEP_ARG = "86397"  # an unusual duration, so leftover sleepers of this bench can be found and removed
SIZE = (120, 40)
LIMIT = 30.0  # no single launch may take longer than this to show what is waited for
MARK = "first.1"  # the first instance's name: on the dashboard's first frame (the table shows it)
TARGET_FIRST_CHILD = 0.1
TARGET_FIRST_FRAME = 0.35
# Module prefixes a headless start must not import.
FORBIDDEN = (
    "textual",
    "rich",
    "ssl",
    "_ssl",
    "procdash.ui",
    "procdash.export",
    "procdash.control.client",
    "procdash.control.command",
    "procdash.control.connect",
)
EMPTY_APP = (
    "from textual.app import App\n"
    "from textual.widgets import Footer, Static\n"
    "class Empty(App):\n"
    "    def compose(self):\n"
    f"        yield Static({MARK!r})\n"
    "        yield Footer()\n"
    "Empty().run()\n"
)
TARGETS: list[tuple[str, str, bool]] = []  # (target, measured, met), filled as parts run
NAN = float("nan")
Launch = tuple[float, float]  # (first child running, first frame drawn), NaN where it does not apply


class Fifo:
    """A FIFO the first child writes one byte into; opened for reading before the runner starts."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "first.fifo"
        os.mkfifo(self.path)
        self.fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)

    def wait(self, limit: float) -> float:
        """perf_counter() when the byte arrived; RuntimeError after ``limit`` seconds."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if select.select([self.fd], [], [], 0.5)[0]:
                arrived = time.perf_counter()
                try:
                    if os.read(self.fd, 16):
                        return arrived
                except BlockingIOError:
                    continue
                time.sleep(0.001)  # the writer came and went without writing: look again
        raise RuntimeError(f"the first child did not start within {limit:g}s")

    def close(self) -> None:
        """Close the reading end."""
        os.close(self.fd)


def write_procfile(directory: Path, fifo: Fifo) -> Path:
    """The start-up Procfile: the first type reports that it runs, a second one just sleeps."""
    path = directory / "Procfile"
    path.write_text(f"first: printf x > {fifo.path}; exec sleep {SLEEP_ARG}\nsecond: exec sleep {SLEEP_ARG}\n")
    return path


def reap_sleepers() -> None:
    """Kill sleepers a runner left behind (there should be none)."""
    for left in sleepers_left(SLEEP_ARG):
        left.kill()


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM a runner (procdash stops its formation gracefully), SIGKILL its group if it hangs."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def headless_first_child(base: list[str], source: Path, tmp: Path) -> float:
    """Seconds from spawning a headless runner (stdout to a file) to its first child running."""
    home = Path(tempfile.mkdtemp(prefix="start-", dir=tmp))
    fifo = Fifo(home)
    procfile = write_procfile(home, fifo)
    try:
        with (home / "out.txt").open("wb") as out:
            begin = time.perf_counter()
            proc = subprocess.Popen(
                [*base, "start", "-f", str(procfile)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=home,
                env=clean_env(source),
                start_new_session=True,
            )
            try:
                return fifo.wait(LIMIT) - begin
            finally:
                stop(proc)
    finally:
        fifo.close()
        reap_sleepers()


class PtyLaunch:
    """A command on a fresh 120x40 pty; a thread drains what it draws and notes when MARK first shows."""

    def __init__(self, argv: list[str], cwd: Path, source: Path) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
        env = clean_env(source)
        env["TERM"] = "xterm-256color"
        self.seen = threading.Event()
        self.seen_at = 0.0
        self.begin = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, start_new_session=True
        )
        os.close(slave)
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        """Read everything, as a terminal would; note the first time MARK is drawn."""
        mark = MARK.encode()
        tail = b""
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            if not self.seen.is_set():
                tail = tail[-len(mark) :] + data
                if mark in tail:
                    self.seen_at = time.perf_counter()
                    self.seen.set()

    def first_frame(self) -> float:
        """Seconds from the spawn to the first frame showing MARK."""
        if not self.seen.wait(LIMIT):
            raise RuntimeError(f"{MARK!r} was not drawn within {LIMIT:g}s")
        return self.seen_at - self.begin

    def close(self) -> None:
        """Stop the app and release the pty."""
        stop(self.proc)
        os.close(self.master)
        self.reader.join(timeout=5)


def dashboard_first(base: list[str], source: Path, tmp: Path) -> tuple[float, float]:
    """(first child running, first frame drawn) for the dashboard on a pty, in seconds from the spawn."""
    home = Path(tempfile.mkdtemp(prefix="dash-", dir=tmp))
    fifo = Fifo(home)
    procfile = write_procfile(home, fifo)
    try:
        launch = PtyLaunch([*base, "start", "-f", str(procfile)], home, source)
        try:
            child = fifo.wait(LIMIT) - launch.begin
            return child, launch.first_frame()
        finally:
            launch.close()
    finally:
        fifo.close()
        reap_sleepers()


def empty_app_frame(tmp: Path) -> float:
    """Seconds from spawning an empty Textual app with a Footer to its first frame."""
    launch = PtyLaunch([sys.executable, "-c", EMPTY_APP], tmp, REPO)
    try:
        return launch.first_frame()
    finally:
        launch.proc.send_signal(signal.SIGKILL)  # it has no formation to stop
        launch.close()


# Runs ``procdash ARGS`` as the console script does, printing the modules loaded at exit.
RUN = (
    "import atexit, runpy, sys\n"
    "atexit.register(lambda: print('MODULES', ' '.join(sorted(sys.modules)), file=sys.stderr))\n"
    "sys.argv = ['procdash', *sys.argv[1:]]\n"
    "runpy.run_module('procdash', run_name='__main__', alter_sys=True)\n"
)


def imports(
    source: Path, tmp: Path, args: Sequence[str] = ("-c", RUN, "start", "--headless")
) -> tuple[set[str], float]:
    """The modules a whole headless run had loaded at its exit, and its summed import time in seconds."""
    home = Path(tempfile.mkdtemp(prefix="imports-", dir=tmp))
    (home / "Procfile").write_text("one: true\n")
    err = home / "importtime.txt"
    with err.open("wb") as sink:
        subprocess.run(
            [sys.executable, "-X", "importtime", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=sink,
            cwd=home,
            env=clean_env(source),
            timeout=LIMIT,
            check=True,
        )
    modules: set[str] = set()
    total = 0
    for line in err.read_text().splitlines():
        if line.startswith("MODULES "):
            modules = set(line.split()[1:])
        elif line.startswith("import time:") and line.count("|") == 2:
            own = line.removeprefix("import time:").split("|")[0].strip()
            total += int(own) if own.isdigit() else 0
    return modules, total / 1e6


def forbidden(modules: Sequence[str]) -> list[str]:
    """The modules a headless start must not import, among ``modules``."""
    return sorted({m for m in modules if any(m == bad or m.startswith(bad + ".") for bad in FORBIDDEN)})


def procdash_command() -> list[str]:
    """procdash from the measured tree, run by the interpreter running the bench."""
    return [sys.executable, "-m", "procdash"]


def start_table(runs: int, against: Path | None, honcho: list[str] | None, tmp: Path) -> list[list[object]]:
    """Rows of the start-up table: first child (headless, dashboard) and first frame."""
    runners: dict[str, Callable[[], Launch]] = {
        "procdash headless": lambda: (headless_first_child(procdash_command(), REPO, tmp), NAN),
        "procdash dashboard": lambda: dashboard_first(procdash_command(), REPO, tmp),
        "empty app": lambda: (NAN, empty_app_frame(tmp)),
    }
    if against is not None:
        runners["against headless"] = lambda: (headless_first_child(procdash_command(), against, tmp), NAN)
        runners["against dashboard"] = lambda: dashboard_first(procdash_command(), against, tmp)
    if honcho is not None:
        runners["honcho"] = lambda: (headless_first_child(honcho, REPO, tmp), NAN)
    results = alternate(runners, runs)

    def child(name: str) -> float:
        return median([launch[0] for launch in results[name]]) if name in results else NAN

    def frame(name: str) -> float:
        return median([launch[1] for launch in results[name]]) if name in results else NAN

    rows: list[list[object]] = []
    for mode in ("headless", "dashboard"):
        mine, old = child(f"procdash {mode}"), child(f"against {mode}")
        rows.append([f"first child running, {mode}", seconds(mine), *compared(mine, old, against)])
        TARGETS.append((f"first child within 0.1 s, {mode}", seconds(mine), mine <= TARGET_FIRST_CHILD))
    if honcho is not None:
        mine, theirs = child("procdash headless"), child("honcho")
        rows.append(["first child running, honcho 2.0 (headless)", seconds(theirs), "", f"ours {ratio(mine, theirs)}"])
    mine, old, empty = frame("procdash dashboard"), frame("against dashboard"), frame("empty app")
    rows.append(["first frame drawn, dashboard", seconds(mine), *compared(mine, old, against)])
    rows.append(["first frame drawn, empty Textual app + Footer", seconds(empty), "", f"ours {ratio(mine, empty)}"])
    TARGETS.append(("first frame within 0.35 s", seconds(mine), mine <= TARGET_FIRST_FRAME))
    return rows


def compared(mine: float, old: float, against: Path | None) -> list[object]:
    """The against tree's figure and our ratio to it, or two empty cells without --against."""
    return [seconds(old), ratio(mine, old)] if against is not None else ["", ""]


def import_table(runs: int, against: Path | None, tmp: Path) -> list[list[object]]:
    """Rows of the imports table (median import time of ``runs`` runs each, alternating)."""
    trees = {"procdash headless start": REPO, **({"against": against} if against is not None else {})}
    floor_args = ("-c", "import sys; print('MODULES', ' '.join(sys.modules), file=sys.stderr)")
    runners: dict[str, Callable[[], tuple[set[str], float]]] = {
        name: functools.partial(imports, tree, tmp) for name, tree in trees.items()
    }
    runners["python -c pass (interpreter floor)"] = lambda: imports(REPO, tmp, floor_args)
    results = alternate(runners, runs)
    rows: list[list[object]] = []
    for name, values in results.items():
        modules = values[0][0]
        spent = median([value[1] for value in values])
        bad = forbidden(sorted(modules)) if name in trees else []
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "") if bad else "none"
        rows.append([name, len(modules), seconds(spent), shown if name in trees else ""])
        if name == "procdash headless start":
            TARGETS.append(("headless start imports no Textual, rich, ssl, export, ctl client", shown, not bad))
    return rows


def warm_up(trees: Sequence[Path], tmp: Path) -> None:
    """Run each tree once untimed (headless and dashboard), so bytecode is compiled and cached first."""
    procfile = tmp / "Procfile.warm"
    procfile.write_text("warm: true\n")
    for tree in trees:
        run_to_file(
            [*procdash_command(), "start", "-f", str(procfile)], tmp / "warm.txt", tmp, must_succeed=True, source=tree
        )
        dashboard_first(procdash_command(), tree, tmp)
    empty_app_frame(tmp)


def main() -> int:
    """Run every part and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="launches per runner (default 5)")
    parser.add_argument(
        "--against", type=Path, help="also measure the procdash in this tree (the code before a change)"
    )
    parser.add_argument("--no-honcho", action="store_true", help="skip the honcho baseline")
    parser.add_argument("--only", choices=("start", "imports", "memory"), help="run one part")
    args = parser.parse_args()
    against = args.against.resolve() if args.against else None
    honcho = None if args.no_honcho else honcho_command()
    began = time.perf_counter()
    steal = StealMeter()
    print(f"procdash start-up benchmark: {args.runs} runs each, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    if against is not None:
        print(f"against: {against}")
    with tempfile.TemporaryDirectory(prefix="procdash-bench-") as name:
        tmp = Path(name)
        warm_up([REPO, *([against] if against else [])], tmp)
        other = "against" if against is not None else ""
        if args.only in (None, "start"):
            print()
            title = f"Start-up, from spawn (medians of {args.runs}; dashboard on a {SIZE[0]}x{SIZE[1]} pty)"
            print(table(title, ["", "procdash", other, "vs against"], start_table(args.runs, against, honcho, tmp)))
        if args.only in (None, "imports"):
            print()
            headers = ["", "modules", "import time", "forbidden ones"]
            print(
                table(
                    "Imports of a whole headless run (python -X importtime)",
                    headers,
                    import_table(args.runs, against, tmp),
                )
            )
        if args.only in (None, "memory"):
            print()
            title = f"Headless memory with {SLEEPERS} sleepers (medians of {args.runs})"
            rows, mine = memory_table(args.runs, against, honcho, tmp)
            print(table(title, ["runner: process", "RSS", "PSS", "tree RSS vs procdash"], rows))
            TARGETS.append((target_label(), megabytes(mine), mine <= TARGET_TREE_RSS))
    print()
    print(table("Targets (issue 17)", ["target", "measured", ""], [[t, m, verdict(ok)] for t, m, ok in TARGETS]))
    print(f"\ntotal bench time {time.perf_counter() - began:.0f} s; CPU steal while it ran {steal.share():.0%}")
    print("(steal: time the hypervisor ran other guests on these CPUs; absolute times stretch with it, ratios do not)")
    return 0 if all(ok for _, _, ok in TARGETS) else 1


if __name__ == "__main__":
    raise SystemExit(main())
