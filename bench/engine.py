"""Engine benchmark: procdash's headless throughput, start/stop time and idle cost against cat and honcho.

Run from the repository root with the project's venv:  .venv/bin/python bench/engine.py [--quick]
Every figure is a median over several runs; the baselines (cat through a minimal relay, honcho in a
throwaway venv under bench/results/) are measured in the same run on the same data.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _checked_lines import Check, make_data, verify
from _procs import (
    REPO,
    clean_env,
    helpers_of,
    read_until_ready,
    relay,
    run_to_file,
    sleepers_left,
    terminate,
    timed_run,
)
from _util import cpu_seconds, median, megabytes, rate, ratio, seconds, table, verdict

CACHE = REPO / "bench" / "results"  # ignored by git
SLEEPERS = 20
SLEEP_ARG = "86399"  # an unusual duration, so leftover sleepers of this bench can be found and removed
WORKLOADS = (("1 x 200k", 1, 200_000), ("4 x 50k", 4, 50_000))
HONCHO = "honcho 2.0"
TARGET_RATE = 300_000
TARGET_START = 0.25
TARGET_IDLE_CPU = 0.02
TARGET_RSS = 40e6
TARGETS: list[tuple[str, float, Check]] = []  # (label, measured, line check), filled as parts run

# A runner takes the writers' data files, a fresh barrier directory and the output path; returns seconds.
Run = Callable[[dict[str, Path], Path, Path], float]


@dataclass
class Runner:
    """One way of moving the writers' output to a file, with what it is compared against."""

    name: str
    run: Run
    floor: str  # the raw relay over the same transport
    crlf: bool = False  # output keeps the terminal's CRLF (raw pty relay only)
    times: list[float] = field(default_factory=list)
    check: Check = field(default_factory=Check)


def writer_commands(files: dict[str, Path], barrier: Path) -> dict[str, str]:
    """One shell command per type: cat its data, then wait until every writer has finished.

    The barrier keeps each child alive until all output is written, because honcho (like Foreman)
    stops the whole formation as soon as one process exits.
    """
    if len(files) == 1:
        return {tag: f"cat {shlex.quote(str(path))}" for tag, path in files.items()}
    marks = " ".join(shlex.quote(str(barrier / tag)) for tag in files)
    wait = f"for m in {marks}; do while [ ! -e $m ]; do sleep 0.01; done; done"
    return {
        tag: f"cat {shlex.quote(str(path))}; touch {shlex.quote(str(barrier / tag))}; {wait}"
        for tag, path in files.items()
    }


def procfile_for(commands: dict[str, str], path: Path) -> Path:
    """Write a Procfile with one type per command."""
    path.write_text("".join(f"{name}: {command}\n" for name, command in commands.items()))
    return path


def honcho_command() -> list[str] | None:
    """honcho's executable in a throwaway venv under bench/results/, installing it on first use."""
    venv = CACHE / "honcho-venv"
    honcho = venv / "bin" / "honcho"
    if honcho.exists():
        return [str(honcho)]
    print("installing honcho into bench/results/honcho-venv ...", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "honcho"]
        subprocess.run(pip, check=True, capture_output=True, timeout=300)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"honcho unavailable ({exc}); its columns stay empty", file=sys.stderr)
        return None
    return [str(honcho)] if honcho.exists() else None


def procdash_command() -> list[str]:
    """procdash from this checkout, run by the interpreter running the bench."""
    return [sys.executable, "-m", "procdash"]


def formation_runner(
    name: str, base: list[str], flags: Sequence[str], floor: str, *, honcho: bool = False, source: Path = REPO
) -> Runner:
    """A Procfile runner (procdash or honcho) started with one type per writer, its stdout a file."""

    def run(files: dict[str, Path], barrier: Path, out: Path) -> float:
        procfile = procfile_for(writer_commands(files, barrier), out.parent / "Procfile")
        cmd = [*base, "start", "-f", str(procfile), *flags]
        # honcho reports the exit status of the process that ended first, which may be its own SIGTERM.
        return run_to_file(cmd, out, out.parent, must_succeed=not honcho, source=source)

    return Runner(name, run, floor)


def relay_runner(name: str, use_pty: bool) -> Runner:
    """The raw relay over ptys or pipes: the floor a runner on that transport cannot beat."""

    def run(files: dict[str, Path], barrier: Path, out: Path) -> float:
        return relay(list(writer_commands(files, barrier).values()), out, use_pty=use_pty)

    return Runner(name, run, name, crlf=use_pty)


def throughput(
    runs: int, honcho: list[str] | None, tmp: Path, source: Path, against: Path | None
) -> list[list[object]]:
    """Rows of the throughput table: every runner on every workload, lines/s medians and line checks."""
    rows: list[list[object]] = []
    out = tmp / "out.txt"
    for label, writers, per_writer in WORKLOADS:
        files = {chr(ord("a") + i): tmp / f"data-{chr(ord('a') + i)}-{per_writer}.txt" for i in range(writers)}
        for tag, path in files.items():
            if not path.exists():
                make_data(path, tag, per_writer)
        counts = dict.fromkeys(files, per_writer)
        pty_floor, pipe_floor = "cat, raw pty relay", "cat, raw pipe relay"
        procdash = procdash_command()
        runners = [
            formation_runner("procdash (pty)", procdash, [], pty_floor, source=source),
            formation_runner("procdash --no-pty", procdash, ["--no-pty"], pipe_floor, source=source),
        ]
        if against is not None:
            runners.append(formation_runner(f"procdash (pty) @{against.name}", procdash, [], pty_floor, source=against))
            no_pty = f"procdash --no-pty @{against.name}"
            runners.append(formation_runner(no_pty, procdash, ["--no-pty"], pipe_floor, source=against))
        if honcho is not None:
            runners.append(formation_runner(f"{HONCHO} (pipes)", honcho, ["--no-colour"], pipe_floor, honcho=True))
        runners += [relay_runner(pty_floor, use_pty=True), relay_runner(pipe_floor, use_pty=False)]
        for attempt in range(runs):
            for runner in runners:
                if runner.name.startswith(HONCHO) and attempt >= max(1, runs // 2):
                    continue  # honcho is ~10x slower: fewer runs keep the bench short
                barrier = Path(tempfile.mkdtemp(prefix="barrier-", dir=tmp))
                runner.times.append(runner.run(files, barrier, out))
                outputs = sorted(tmp.glob("out.txt.*")) if runner.crlf or runner.floor == runner.name else [out]
                runner.check.add(verify(outputs, counts, crlf=runner.crlf))
                for old in tmp.glob("out.txt*"):
                    old.unlink()
        speed = {r.name: writers * per_writer / median(r.times) for r in runners}
        for r in runners:
            check = r.check
            honcho_speed = speed.get(f"{HONCHO} (pipes)", 0.0)
            bad = check.damaged + check.reordered
            figures = [rate(speed[r.name]), ratio(speed[r.name], honcho_speed), ratio(speed[r.name], speed[r.floor])]
            lines = [check.lost, check.duplicated, bad]
            rows.append([f"{label}  {r.name}", len(r.times), seconds(median(r.times)), *figures, *lines])
            if r.name.startswith("procdash") and "@" not in r.name:
                TARGETS.append((f"{label} {r.name}: >= 300k lines/s, none lost", speed[r.name], check))
    return rows


def launch_sleepers(base: list[str], flags: Sequence[str], tmp: Path, source: Path) -> subprocess.Popen[bytes]:
    """Start a runner with 20 processes that each print ready and then sleep."""
    # A directory of its own per launch: procdash refuses a second instance on the same Procfile.
    home = Path(tempfile.mkdtemp(prefix="sleepers-", dir=tmp))
    procfile = procfile_for({"sleeper": f"echo ready; exec sleep {SLEEP_ARG}"}, home / "Procfile")
    formation = "-c" if "honcho" in base[0] else "-m"
    cmd = [*base, "start", "-f", str(procfile), formation, f"sleeper={SLEEPERS}", *flags]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, cwd=home, env=clean_env(source))


def start_stop(
    runs: int, honcho: list[str] | None, tmp: Path, source: Path, against: Path | None = None
) -> list[list[object]]:
    """Rows of the start/stop table: time until 20 processes printed ready, and SIGTERM-to-exit time."""
    runners: dict[str, tuple[list[str], list[str], Path]] = {
        "procdash (pty)": (procdash_command(), [], source),
        "procdash --no-pty": (procdash_command(), ["--no-pty"], source),
    }
    if against is not None:
        runners["against (pty)"] = (procdash_command(), [], against)
        runners["against --no-pty"] = (procdash_command(), ["--no-pty"], against)
    if honcho is not None:
        runners[HONCHO] = (honcho, ["--no-colour"], source)
    starts: dict[str, list[float]] = {name: [] for name in runners}
    stops: dict[str, list[float]] = {name: [] for name in runners}
    leaked = 0
    for _ in range(runs):
        for name, (base, flags, tree) in runners.items():
            begin = time.perf_counter()
            proc = launch_sleepers(base, flags, tmp, tree)
            try:
                read_until_ready(proc, SLEEPERS, 60.0)
                starts[name].append(time.perf_counter() - begin)
            finally:
                stops[name].append(terminate(proc))
            for left in sleepers_left(SLEEP_ARG):
                leaked += 1
                left.kill()
    python = [median([timed_run([sys.executable, "-c", "pass"]) for _ in range(runs)])]
    version = [median([timed_run([*procdash_command(), "--version"], source) for _ in range(runs)])]
    rows: list[list[object]] = []
    for name in runners:
        start, stop = median(starts[name]), median(stops[name])
        rows.append([name, seconds(start), ratio(start, median(starts.get(HONCHO, [0.0]))), seconds(stop)])
        if name.startswith("procdash"):
            TARGETS.append((f"{name}: {SLEEPERS} running within 0.25 s", start, Check()))
    rows.append(["python -c pass (interpreter floor)", seconds(python[0]), "", ""])
    rows.append(["python -m procdash --version", seconds(version[0]), "", ""])
    if leaked:
        rows.append([f"LEAKED sleepers after stop: {leaked}", "", "", ""])
    return rows


def idle(duration: float, honcho: list[str] | None, tmp: Path, source: Path) -> list[list[object]]:
    """Rows of the idle table: CPU seconds per 20 s and RSS with 20 sleepers, every runner at the same time."""
    runners = {"procdash (pty)": (procdash_command(), []), "procdash --no-pty": (procdash_command(), ["--no-pty"])}
    if honcho is not None:
        runners[HONCHO] = (honcho, ["--no-colour"])
    procs = {name: launch_sleepers(base, flags, tmp, source) for name, (base, flags) in runners.items()}
    rows: list[list[object]] = []
    try:
        for proc in procs.values():
            read_until_ready(proc, SLEEPERS, 60.0)
        time.sleep(1.0)  # let start-up work settle before measuring the idle state
        helpers = {name: helpers_of(proc.pid) for name, proc in procs.items()}

        def cpu() -> dict[str, tuple[float, float]]:
            return {
                name: (cpu_seconds(proc.pid), sum(cpu_seconds(h.pid) for h in helpers[name]))
                for name, proc in procs.items()
            }

        before = cpu()
        time.sleep(duration)
        after = cpu()
        scale = 20.0 / duration
        for name, proc in procs.items():
            used = (after[name][0] - before[name][0]) * scale
            helper_cpu = (after[name][1] - before[name][1]) * scale
            rss = psutil.Process(proc.pid).memory_info().rss
            helper_rss = sum(h.memory_info().rss for h in helpers[name])
            count = len(helpers[name])
            rows.append([name, f"{used:.5f}", megabytes(rss), count, f"{helper_cpu:.5f}", megabytes(helper_rss)])
            if name.startswith("procdash"):
                TARGETS.append((f"{name}: idle under 0.02 CPU-s per 20 s", used, Check()))
                TARGETS.append((f"{name}: RSS under 40 MB", rss, Check()))
    finally:
        for proc in procs.values():
            terminate(proc)
        for left in sleepers_left(SLEEP_ARG):
            left.kill()
    return rows


def warm_up(sources: Sequence[Path], honcho: list[str] | None, tmp: Path) -> None:
    """Run every runner once untimed, so bytecode is compiled and cached before anything is measured."""
    procfile = procfile_for({"warm": "true"}, tmp / "Procfile.warm")
    for source in sources:
        run_to_file(
            [*procdash_command(), "start", "-f", str(procfile)], tmp / "warm.txt", tmp, must_succeed=True, source=source
        )
    if honcho is not None:
        run_to_file([*honcho, "start", "-f", str(procfile)], tmp / "warm.txt", tmp, must_succeed=False)


def target_rows() -> list[list[object]]:
    """Every target with the measured figure and whether it is met."""
    rows: list[list[object]] = []
    for label, value, check in TARGETS:
        if "lines/s" in label:
            rows.append([label, rate(value), verdict(value >= TARGET_RATE and check.clean)])
        elif "within" in label:
            rows.append([label, seconds(value), verdict(value <= TARGET_START)])
        elif "CPU" in label:
            rows.append([label, f"{value:.5f} s", verdict(value < TARGET_IDLE_CPU)])
        else:
            rows.append([label, megabytes(value), verdict(value < TARGET_RSS)])
    return rows


def main() -> int:
    """Run every part and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs and a 5 s idle window (scaled to 20 s)")
    parser.add_argument("--runs", type=int, help="runs per measurement (default 5, or 3 with --quick)")
    parser.add_argument("--no-honcho", action="store_true", help="skip the honcho baseline")
    parser.add_argument("--only", choices=("throughput", "start", "idle"), help="run one part")
    parser.add_argument("--source", type=Path, default=REPO, help="procdash source tree to measure (default: this)")
    parser.add_argument("--against", type=Path, help="also measure the procdash in this tree")
    args = parser.parse_args()
    source = args.source.resolve()
    against = args.against.resolve() if args.against else None
    runs = args.runs or (3 if args.quick else 5)
    honcho = None if args.no_honcho else honcho_command()
    started = time.perf_counter()
    print(f"procdash engine benchmark: {runs} runs each, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    if source != REPO or against is not None:
        print(f"procdash source: {source}" + (f", against {against}" if against else ""))
    with tempfile.TemporaryDirectory(prefix="procdash-bench-") as name:
        tmp = Path(name)
        warm_up([source, *([against] if against else [])], honcho, tmp)
        if args.only in (None, "throughput"):
            headers = ["workload  runner", "runs", "median", "lines/s", "vs honcho", "vs cat", "lost", "dup", "bad"]
            print()
            title = "Headless throughput, 100-byte lines, output to a file"
            print(table(title, headers, throughput(runs, honcho, tmp, source, against)))
        if args.only in (None, "start"):
            print()
            headers = ["runner", f"{SLEEPERS} ready", "vs honcho", "SIGTERM to exit"]
            rows = start_stop(runs, honcho, tmp, source, against)
            print(table(f"Start and stop, {SLEEPERS} processes", headers, rows))
        if args.only in (None, "idle"):
            duration = 5.0 if args.quick else 20.0
            print()
            headers = ["runner", "CPU-s / 20 s", "RSS", "helpers", "their CPU-s / 20 s", "their RSS"]
            title = f"Idle with {SLEEPERS} sleepers, measured over {duration:g} s"
            print(table(title, headers, idle(duration, honcho, tmp, source)))
    targets = target_rows()
    print()
    print(table("Targets (issue 2)", ["target", "measured", ""], targets))
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s")
    return 0 if all(row[2] == "PASS" for row in targets) else 1


if __name__ == "__main__":
    raise SystemExit(main())
