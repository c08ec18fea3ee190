"""Memory benchmark: RSS and PSS of headless procdash and its guardian with 20 sleepers, process by process.

Run from the repository root with the project's venv:  .venv/bin/python bench/memory.py [--against DIR]

Each runner starts 20 processes that print ready and sleep; one second after the last is ready the bench
reads /proc/PID/smaps_rollup of the runner and of each helper it started (procdash's guardian, honcho's
forks of itself; the formation's own processes are not counted). Baselines in the same run, runners
alternating: the procdash in DIR (the code before a change) and honcho 2.0 (in a throwaway venv under
bench/results/). RSS counts every shared library page a process maps; PSS divides shared pages among the
processes sharing them. Exits 1 when the target of issue 17 (the tree at most 25 MB RSS) is missed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _procs import REPO, clean_env, read_until_ready, run_to_file, sleepers_left, terminate
from _util import alternate, median, megabytes, ratio, table, verdict
from engine import honcho_command

SLEEPERS = 20
SLEEP_ARG = "86396"  # an unusual duration, so leftover sleepers of this bench can be found and removed
TARGET_TREE_RSS = 25e6
ProcessMemory = list[tuple[str, int, int]]  # (process, RSS, PSS) per process of one runner


def memory_of(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in bytes, from /proc/PID/smaps_rollup."""
    values = {"Rss:": 0, "Pss:": 0}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            words = line.split()
            if words and words[0] in values:
                values[words[0]] = int(words[1]) * 1024
    return values["Rss:"], values["Pss:"]


def helpers(pid: int, honcho: bool) -> list[psutil.Process]:
    """A runner's helper processes: procdash's guardian (either kind), honcho's forks of itself."""
    me = psutil.Process(pid)
    if honcho:
        return [p for p in me.children(recursive=True) if p.name() == me.name()]
    return [p for p in me.children() if any(("guardian.sh" in w or "watchdog.py" in w) for w in p.cmdline())]


def headless_memory(base: list[str], source: Path, tmp: Path, *, honcho: bool) -> ProcessMemory:
    """(process, RSS, PSS) of a headless runner and each of its helpers, 20 sleepers running."""
    home = Path(tempfile.mkdtemp(prefix="memory-", dir=tmp))
    procfile = home / "Procfile"
    procfile.write_text(f"sleeper: echo ready; exec sleep {SLEEP_ARG}\n")
    formation = ["-c" if honcho else "-m", f"sleeper={SLEEPERS}"]
    cmd = [*base, "start", "-f", str(procfile), *formation, *(["--no-colour"] if honcho else [])]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, cwd=home, env=clean_env(source), start_new_session=True
    )
    try:
        read_until_ready(proc, SLEEPERS, 60.0)
        time.sleep(1.0)  # let start-up work settle
        rows = [("main process", *memory_of(proc.pid))]
        for helper in helpers(proc.pid, honcho):
            what = "helper"
            command = " ".join(helper.cmdline())
            if "guardian.sh" in command:
                what = "guardian (sh)"
            elif "watchdog.py" in command:
                what = "guardian (python)"
            rows.append((what, *memory_of(helper.pid)))
        return rows
    finally:
        terminate(proc)
        for left in sleepers_left(SLEEP_ARG):
            left.kill()


def procdash_command() -> list[str]:
    """procdash from the measured tree, run by the interpreter running the bench."""
    return [sys.executable, "-m", "procdash"]


def memory_table(
    runs: int, against: Path | None, honcho: list[str] | None, tmp: Path
) -> tuple[list[list[object]], float]:
    """Rows of the memory table (each kind of process of each runner, the tree's total; medians) and
    this tree's total RSS."""
    runners: dict[str, Callable[[], ProcessMemory]] = {
        "procdash": lambda: headless_memory(procdash_command(), REPO, tmp, honcho=False),
    }
    if against is not None:
        runners["against"] = lambda: headless_memory(procdash_command(), against, tmp, honcho=False)
    if honcho is not None:
        runners["honcho 2.0"] = lambda: headless_memory(honcho, REPO, tmp, honcho=True)
    results = alternate(runners, runs)
    totals = {name: median([sum(row[1] for row in run) for run in values]) for name, values in results.items()}
    rows: list[list[object]] = []
    for name, values in results.items():
        for what in dict.fromkeys(row[0] for row in values[0]):  # each kind of process once, helpers summed
            rss = median([sum(row[1] for row in run if row[0] == what) for run in values])
            pss = median([sum(row[2] for row in run if row[0] == what) for run in values])
            count = sum(row[0] == what for row in values[0])
            rows.append(
                [f"{name}: {what}" + (f" x{count} (sum)" if count > 1 else ""), megabytes(rss), megabytes(pss), ""]
            )
        pss_total = median([sum(row[2] for row in run) for run in values])
        rows.append(
            [f"{name}: tree", megabytes(totals[name]), megabytes(pss_total), ratio(totals[name], totals["procdash"])]
        )
    return rows, totals["procdash"]


def main() -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="launches per runner (default 5)")
    parser.add_argument(
        "--against", type=Path, help="also measure the procdash in this tree (the code before a change)"
    )
    parser.add_argument("--no-honcho", action="store_true", help="skip the honcho baseline")
    args = parser.parse_args()
    against = args.against.resolve() if args.against else None
    honcho = None if args.no_honcho else honcho_command()
    print(f"procdash memory benchmark: {args.runs} runs each, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="procdash-bench-") as name:
        tmp = Path(name)
        (tmp / "Procfile.warm").write_text("warm: true\n")
        for tree in [REPO, *([against] if against else [])]:  # bytecode compiled and cached before measuring
            cmd = [*procdash_command(), "start", "-f", str(tmp / "Procfile.warm")]
            run_to_file(cmd, tmp / "warm.txt", tmp, must_succeed=True, source=tree)
        rows, mine = memory_table(args.runs, against, honcho, tmp)
    print()
    title = f"Headless memory with {SLEEPERS} sleepers (medians of {args.runs})"
    print(table(title, ["runner: process", "RSS", "PSS", "tree RSS vs procdash"], rows))
    met = mine <= TARGET_TREE_RSS
    print()
    print(table("Target (issue 17)", ["target", "measured", ""], [[target_label(), megabytes(mine), verdict(met)]]))
    return 0 if met else 1


def target_label() -> str:
    """The memory target as the tables state it."""
    return f"headless tree RSS with {SLEEPERS} sleepers at most 25 MB"


if __name__ == "__main__":
    raise SystemExit(main())
