"""``procdash serve`` idle CPU: the server and its tab processes with two browser tabs open.

Run from the repository root with the project's venv:  .venv/bin/python bench/serve.py [--seconds S] [--rounds N]

A Procfile of four sleeping types. Baseline, in the same run: ``procdash start --headless`` alone on
it. Then ``procdash serve`` on it, with two tabs of Debian's headless Chromium showing the dashboard
(each tab is a ``procdash attach`` process under Textual's web driver). After a settling pause, CPU
time (nanoseconds, from /proc/PID/task/*/schedstat) is sampled over N windows of S seconds for each
process; the figures are medians, in percent of one core. Target: the server process plus its tab
processes under 2% of a core. Exits 1 when the target is missed, 2 when Chromium is missing.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _procs import REPO, clean_env, stop_process
from _util import cpu_seconds, median, ratio, table, verdict

sys.path.insert(0, str(REPO))
from tests.serve import browser

PROCFILE = "web: sleep 3600\nworker: sleep 3600\nclock: sleep 3600\nmailer: sleep 3600\n"
TARGET = 2.0  # percent of one core, server plus tabs
SETTLE = 5.0
TABS = 2


class Output:
    """A child's stdout collected by a thread, so it never blocks on a full pipe."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.lines: list[str] = []
        self._proc = proc
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for raw in self._proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """The first line matching ``pattern`` (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                found = re.search(pattern, line)
                if found:
                    return found
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit(f"bench/serve.py: {pattern!r} never appeared; output: {self.lines[-5:]}")


def spawn(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Output]:
    """A procdash command in the scratch project, output collected."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "procdash", *argv],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return proc, Output(proc)


def sample(groups: dict[str, Callable[[], list[int]]], seconds: float, rounds: int) -> dict[str, float]:
    """Median CPU percent of one core per group of pids over ``rounds`` windows of ``seconds``."""
    figures: dict[str, list[float]] = {name: [] for name in groups}
    for _ in range(rounds):
        pids = {name: pick() for name, pick in groups.items()}
        before = {name: sum(cpu_seconds(pid) for pid in group) for name, group in pids.items()}
        start = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - start
        for name, group in pids.items():
            used = sum(cpu_seconds(pid) for pid in group) - before[name]
            figures[name].append(100.0 * used / elapsed)
    return {name: median(values) for name, values in figures.items()}


def children_matching(pid: int, word: str) -> list[int]:
    """Direct children of ``pid`` whose command line has ``word``."""
    found = []
    try:
        children = psutil.Process(pid).children()
    except psutil.Error:
        return found
    for child in children:
        try:
            if word in child.cmdline():
                found.append(child.pid)
        except psutil.Error:  # ended meanwhile
            continue
    return found


def baseline(project: Path, env: dict[str, str], seconds: float, rounds: int) -> float:
    """``procdash start --headless`` alone: its own CPU (its sleepers use none)."""
    proc, out = spawn(["start", "--headless"], project, env)
    try:
        out.wait_for(r"mailer\.1 started")
        time.sleep(SETTLE)
        return sample({"headless": lambda: [proc.pid]}, seconds, rounds)["headless"]
    finally:
        stop_process(proc)


def served(project: Path, env: dict[str, str], seconds: float, rounds: int) -> dict[str, float]:
    """``procdash serve`` with two Chromium tabs on the dashboard: server, tabs and its formation."""
    proc, out = spawn(["serve", "--port", "0"], project, env)
    try:
        url = out.wait_for(r"dashboard at (http://\S+)").group(1)
        with browser.chromium() as driver:
            for index in range(TABS):
                if index:
                    browser.new_tab(driver)
                driver.get(url)
                browser.wait_screen(driver, lambda text: "mailer.1" in text)
            if len(children_matching(proc.pid, "attach")) != TABS:
                raise SystemExit("bench/serve.py: the tabs' attach processes are not all there")
            time.sleep(SETTLE)
            return sample(
                {
                    "server": lambda: [proc.pid],
                    "tabs": lambda: children_matching(proc.pid, "attach"),
                    "formation": lambda: children_matching(proc.pid, "--headless"),
                },
                seconds,
                rounds,
            )
    finally:
        stop_process(proc)


def main() -> int:
    """Measure, print the table, and exit 1 if the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one sampling window (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="windows per scenario (default 3)")
    args = parser.parse_args()
    missing = browser.missing()
    if missing is not None:
        print(f"bench/serve.py: needs headless Chromium: {missing}", file=sys.stderr)
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="pd-bench-serve-"))
    runtime = scratch / "run"
    runtime.mkdir(mode=0o700)
    project = scratch / "project"
    project.mkdir()
    (project / "Procfile").write_text(PROCFILE)
    env = {**clean_env(), "XDG_RUNTIME_DIR": str(runtime), "XDG_STATE_HOME": str(scratch / "state")}
    try:
        alone = baseline(project, env, args.seconds, args.rounds)
        figures = served(project, env, args.seconds, args.rounds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    total = figures["server"] + figures["tabs"]
    rows = [
        ("procdash start --headless alone (baseline)", f"{alone:.2f}%", "1.00x", ""),
        ("serve: server process", f"{figures['server']:.2f}%", ratio(figures["server"], alone), ""),
        (f"serve: {TABS} tab processes (attach)", f"{figures['tabs']:.2f}%", ratio(figures["tabs"], alone), ""),
        ("serve: its headless formation", f"{figures['formation']:.2f}%", ratio(figures["formation"], alone), ""),
        (
            f"server + {TABS} tabs (target < {TARGET:g}%)",
            f"{total:.2f}%",
            ratio(total, alone),
            verdict(total < TARGET),
        ),
    ]
    title = f"procdash serve idle CPU, % of one core (median of {args.rounds} x {args.seconds:g} s)"
    print(table(title, ("what", "CPU", "vs baseline", ""), rows))
    return 0 if total < TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
