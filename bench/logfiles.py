"""Log files benchmark: headless throughput with --log-dir against the same run without it.

Run from the repository root with the project's venv:  .venv/bin/python bench/logfiles.py [--runs N]
Both runners take turns on the same data (1 x 200k and 4 x 50k checked 100-byte lines); every line is
checked in stdout and in the files. The target (issue 16): logs on cost at most 10% of the throughput.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _checked_lines import Check, make_data, verify
from _procs import run_to_file
from _util import median, rate, ratio, seconds, table, verdict
from engine import WORKLOADS, procdash_command, procfile_for, warm_up, writer_commands

TARGET_RATIO = 0.90


def one_run(files: dict[str, Path], tmp: Path, flags: list[str], logs: Path | None) -> tuple[float, Check, Check]:
    """One headless run; returns its seconds, the stdout line check and the log files' line check."""
    barrier = Path(tempfile.mkdtemp(prefix="barrier-", dir=tmp))
    procfile = procfile_for(writer_commands(files, barrier), tmp / "Procfile")
    out = tmp / "out.txt"
    extra = ["--log-dir", str(logs)] if logs is not None else []
    elapsed = run_to_file(
        [*procdash_command(), "start", "-f", str(procfile), *flags, *extra], out, tmp, must_succeed=True
    )
    counts = {tag: sum(1 for _ in path.open()) for tag, path in files.items()}
    stdout_check = verify([out], counts)
    file_check = Check()
    if logs is not None:
        for tag in files:
            file_check.add(verify(sorted(logs.glob(f"{tag}.1.log*"), reverse=True), {tag: counts[tag]}))
        shutil.rmtree(logs)
    return elapsed, stdout_check, file_check


def main() -> int:
    """Measure, print the table and the target; exit 1 when it is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each runner per workload (default 5)")
    args = parser.parse_args()
    print(
        f"procdash log files benchmark: {args.runs} runs each, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    rows: list[list[object]] = []
    targets: list[list[object]] = []
    ok = True
    with tempfile.TemporaryDirectory(prefix="procdash-bench-logs-") as name:
        tmp = Path(name)
        warm_up([Path(__file__).resolve().parent.parent], None, tmp)
        for label, writers, per_writer in WORKLOADS:
            files = {chr(ord("a") + i): tmp / f"data-{chr(ord('a') + i)}.txt" for i in range(writers)}
            for tag, path in files.items():
                make_data(path, tag, per_writer)
            for transport, flags in (("pty", []), ("--no-pty", ["--no-pty"])):
                times: dict[str, list[float]] = {"logs off": [], "--log-dir": []}
                checks = {"logs off": Check(), "--log-dir": Check()}
                in_files = Check()
                for _ in range(args.runs):  # alternate, so both see the same machine load
                    elapsed, check, _ = one_run(files, tmp, flags, None)
                    times["logs off"].append(elapsed)
                    checks["logs off"].add(check)
                    elapsed, check, file_check = one_run(files, tmp, flags, tmp / "logs")
                    times["--log-dir"].append(elapsed)
                    checks["--log-dir"].add(check)
                    in_files.add(file_check)
                total = writers * per_writer
                speed = {key: total / median(values) for key, values in times.items()}
                for key in times:
                    check = checks[key]
                    rows.append(
                        [
                            f"{label} {transport} {key}",
                            seconds(median(times[key])),
                            rate(speed[key]),
                            ratio(speed[key], speed["logs off"]),
                            check.lost + check.duplicated + check.damaged + check.reordered,
                            "-" if key == "logs off" else in_files.good // args.runs,
                            "-" if key == "logs off" else in_files.lost + in_files.damaged + in_files.reordered,
                        ]
                    )
                kept = speed["--log-dir"] / speed["logs off"]
                met = kept >= TARGET_RATIO and in_files.clean and checks["--log-dir"].clean
                ok = ok and met
                targets.append([f"{label} {transport}: --log-dir keeps >= 90%", f"{kept:.2f}x", verdict(met)])
    headers = ["runner", "median", "lines/s", "vs logs off", "bad stdout lines", "lines in files", "bad file lines"]
    print(table("Headless throughput, logs off vs --log-dir (same run)", headers, rows))
    print(table("Target", ["target", "measured", ""], targets))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
